#!/usr/bin/env python3
"""Run parts of the torture in this guest (docs/reliability.md), each for its
share of DURATION seconds (ksm_torture.split()), and say which failed.

    torture.py DURATION PART...      PART: r1 r2 r3 r4
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "lib"))
sys.path.insert(0, HERE)
from ksm_guest import Failed  # noqa: E402
from ksm_torture import split  # noqa: E402
import r1_cow  # noqa: E402
import r2_policy_churn  # noqa: E402
import r3_misbehaving  # noqa: E402
import r4_isolation  # noqa: E402


def run_part(part, seconds):
    if part == "r1":
        return r1_cow.run(seconds, procs=12, pages=1024)
    if part == "r2":
        return r2_policy_churn.run(seconds)
    if part == "r3":
        return r3_misbehaving.run(seconds, tenant_pages=65536, long_run=True)
    if part == "r4":
        return r4_isolation.run(seconds, per_domain=3)
    raise SystemExit(f"torture.py: unknown part {part}")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    shares = split(int(sys.argv[1]))
    failed = 0
    print(f"# kernel {os.uname().release} ({os.environ.get('KSM_KERNEL_VARIANT') or '?'})",
          flush=True)
    for part in sys.argv[2:]:
        t0 = time.monotonic()
        print(f"# torture {part}: {shares[part]} s", flush=True)
        try:
            run_part(part, shares[part])
            verdict = "ok"
        except (Failed, OSError) as e:
            verdict = f"failed: {type(e).__name__}: {e}"
            failed += 1
        print(f"torture-part {part} {verdict} ({time.monotonic() - t0:.0f} s)", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
