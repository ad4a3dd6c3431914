"""Printed branch reports: what each branch's staff need at 9 a.m., as paged text, CSV or HTML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ils.reports import lists
from ils.reports.words import WORDS


@dataclass(frozen=True)
class Report:
    name: str
    title: str  # as printed, in Japanese
    columns: tuple[tuple[str, str], ...]  # (key, printed header)
    rows: Callable
    system_wide: bool = False  # the night summary also exists for the whole system


def _report(name: str, rows: Callable, system_wide: bool = False) -> Report:
    # The title and the headers are a librarian's words: templates_reports/reports.toml.
    return Report(name, WORDS[name]["title"], tuple(WORDS[name]["columns"].items()), rows, system_wide)


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        _report("pull", lists.pull_list),
        _report("transit", lists.transit_list),
        _report("holdshelf", lists.hold_shelf),
        _report("expired", lists.expired_today),
        _report("phone", lists.phone_list),
        _report("problems", lists.contact_problems),
        _report("summary", lists.night_summary, system_wide=True),
    )
}
