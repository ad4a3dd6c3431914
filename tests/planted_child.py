"""`ils ...` run in a process of its own with a fault planted in one step of the night, for tests/test_reports_beside_render.py.

ILS_PLANT=STEP:HOW plants it: `raise` (the step raises), `kill` (its process kills itself
with SIGKILL, as the kernel's OOM killer would). ILS_PLANT=inline runs the night's steps
one after the other, as on a machine of one CPU.
"""

from __future__ import annotations

import os
import signal
import sys


def _plant(plant: str) -> None:
    from ils.batch.runner import STEPS
    from ils.infra import forked

    if plant == "inline":
        forked.why_not_fork = lambda: "planted: one after the other"
        return
    step, _, how = plant.partition(":")
    module = STEPS[step]
    real = module.run

    def planted(ctx):
        if how == "raise":
            raise RuntimeError(f"planted fault in {step}")
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(ctx)

    module.run = planted


if __name__ == "__main__":
    if os.environ.get("ILS_PLANT"):
        _plant(os.environ["ILS_PLANT"])
    from ils.__main__ import main

    sys.argv = ["ils", *sys.argv[1:]]
    main()
