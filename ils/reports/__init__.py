"""Printed branch reports: what each branch's staff need at 9 a.m., as paged text, CSV or HTML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ils.reports import lists
from ils.reports.words import words


@dataclass(frozen=True)
class Report:
    name: str
    title: str  # as printed, in the staff's language
    columns: tuple[tuple[str, str], ...]  # (key, printed header)
    rows: Callable
    system_wide: bool = False  # the night summary also exists for the whole system


# Each branch report's rows, in the order the night writes them; its title and headers are
# a librarian's words (templates_reports/reports.toml, reports.en.toml).
ROWS: dict[str, Callable] = {
    "pull": lists.pull_list,
    "transit": lists.transit_list,
    "holdshelf": lists.hold_shelf,
    "expired": lists.expired_today,
    "phone": lists.phone_list,
    "problems": lists.contact_problems,
    "summary": lists.night_summary,
}
REPORTS = tuple(ROWS)  # the branch reports' names
SYSTEM_WIDE = ("summary",)  # also made for the whole system


def worded(name: str, rows: Callable, system_wide: bool = False, language: str | None = None) -> Report:
    """The report `name` with its title and column headers in `language` (the staff's, by default)."""
    said = words(language)[name]
    return Report(name, said["title"], tuple(said["columns"].items()), rows, system_wide)


def report(name: str, language: str | None = None) -> Report:
    """The branch report `name`, in the words of the staff's language when it is asked for."""
    return worded(name, ROWS[name], name in SYSTEM_WIDE, language)
