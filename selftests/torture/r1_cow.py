#!/usr/bin/env python3
"""R1, copy-on-write integrity (docs/reliability.md): ksm-cow-torture for
DURATION seconds with ksmd fast and swap on zram when the kernel has it.

    r1_cow.py [DURATION]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import clean_slate, swap_on  # noqa: E402
from ksm_torture import CowTorture, report, standalone  # noqa: E402


def zram_swap():
    """Swap on zram if the kernel has it; says so either way."""
    if not os.path.exists("/sys/block/zram0"):
        print("# r1: no zram in this kernel: swap out and in are not exercised", flush=True)
        return False
    swap_on("256M")
    return True


def run(duration, procs=8, pages=256):
    clean_slate()
    zram_swap()
    r1 = CowTorture(duration, procs=procs, pages=pages)
    try:
        figures = r1.result(timeout=duration + 600)
    finally:
        r1.kill()
    report("r1", figures)
    return figures


if __name__ == "__main__":
    standalone("r1", run, 60)
