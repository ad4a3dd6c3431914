"""`ils ...` run in a process of its own with a fault planted in one step of the night, for tests/test_reports_beside_render.py.

ILS_PLANT=STEP:HOW plants it: `raise` (the step raises), `kill` (its process kills itself
with SIGKILL, as the kernel's OOM killer would; `kill-after=FILE`: once FILE exists),
`hang=FILE` (the step writes its process id into FILE and sleeps ten minutes), `late=SECONDS`
(the step starts that late); several are separated by commas. ILS_PLANT=inline runs the
night's steps one after the other, as on a machine of one CPU.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path


def _plant(plant: str) -> None:
    from ils.batch.runner import STEPS
    from ils.infra import forked

    if plant == "inline":
        forked.why_not_fork = lambda: "planted: one after the other"
        return
    for one in plant.split(","):
        _plant_in(STEPS, *one.split(":", 1))


def _plant_in(steps, step: str, how: str) -> None:
    module = steps[step]
    real = module.run

    def planted(ctx):
        if how == "raise":
            raise RuntimeError(f"planted fault in {step}")
        if how.startswith("kill-after="):  # once the file named exists
            for _ in range(600):
                if Path(how.removeprefix("kill-after=")).exists():
                    break
                time.sleep(0.1)
            how_now = "kill"
        else:
            how_now = how
        if how_now == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how.startswith("late="):  # start that many seconds late
            time.sleep(float(how.removeprefix("late=")))
        if how.startswith("hang="):  # say who is hanging, in the file named, and hang
            said = Path(how.removeprefix("hang="))
            said.with_suffix(".tmp").write_text(str(os.getpid()), encoding="ascii")
            said.with_suffix(".tmp").replace(said)  # whole, or not yet there
            time.sleep(600)
        return real(ctx)

    module.run = planted


if __name__ == "__main__":
    if os.environ.get("ILS_PLANT"):
        _plant(os.environ["ILS_PLANT"])
    from ils.__main__ import main

    sys.argv = ["ils", *sys.argv[1:]]
    main()
