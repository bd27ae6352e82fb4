#!/usr/bin/env python3
"""The short torture of make test (docs/reliability.md), as KTAP: R1 to R4
for about a minute in all, each reaching every path of the long one (`make
torture`): every kind of churn of R1, loads, replacements, unloads and
ejections globally and per cgroup under R2, every misbehaving policy of R3
once, moves, forks and policy changes across merge domains under R4.

Names on the command line (without "case_") run only those cases.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "lib"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "torture"))
from ksm_guest import run_cases  # noqa: E402
import r1_cow  # noqa: E402
import r2_policy_churn  # noqa: E402
import r3_misbehaving  # noqa: E402
import r4_isolation  # noqa: E402


def case_r1_cow_integrity():
    r1_cow.run(12, procs=6, pages=128)


def case_r2_policy_churn():
    r2_policy_churn.run(15)


def case_r3_misbehaving_policies():
    r3_misbehaving.run(0, tenant_pages=8192)


def case_r4_isolation_under_churn():
    r4_isolation.run(12)


if __name__ == "__main__":
    sys.exit(run_cases([case_r1_cow_integrity, case_r2_policy_churn,
                        case_r3_misbehaving_policies, case_r4_isolation_under_churn]))
