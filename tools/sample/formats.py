"""How the import files spell things: their names and columns, ids, days and instants."""

from __future__ import annotations

import datetime as dt

from ils.tools.sample.spec import SampleSpec

JST = dt.timezone(dt.timedelta(hours=9), "JST")

COLUMNS = {
    "branches": ("code", "name", "kind", "parent", "pickup", "closed_weekdays", "national_holidays",
                 "closed_weekday_on_holiday", "year_end_closure", "phone", "sort_order"),
    "calendar": ("branch", "date", "state", "note"),
    "routes": ("from", "to", "cost"),
    "titles": ("bib_id", "title", "author", "publisher", "material_type", "category", "ndc",
               "series_id", "volume", "volume_label", "catalogued_on"),
    "copies": ("barcode", "bib_id", "owning_branch", "location_branch", "shelf_mark", "state"),
    "patrons": ("card", "name", "name_kana", "birth_date", "phone", "email", "contact_method",
                "home_branch", "status", "web_registered", "language", "registered_on", "newsletter"),
    "loans": ("barcode", "card", "loaned_on", "due_on", "renewals", "inter_library", "branch"),
    "holds": ("card", "bib_id", "pickup", "status", "queued_at", "channel", "contact_method",
              "series_group", "series_position", "barcode", "ready_on", "pickup_deadline"),
}
REQUEST_FIELDS = ("kind", "card_number", "received_at", "channel", "target", "pickup_branch",
                  "contact_method", "series_group", "series_position", "receipt_mail", "client_ref")
FILE_NAMES = {kind: f"{kind}.csv" for kind in COLUMNS} | {"requests": "requests.jsonl"}


def iso_day(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat()


def instant(spec: SampleSpec, seconds: int) -> str:
    """A time on or around the business day, as seconds from its midnight (library time)."""
    midnight = dt.datetime.combine(spec.business_day, dt.time(0), JST)
    return (midnight + dt.timedelta(seconds=seconds)).isoformat()


def bib_id(t: int) -> str:
    return f"B{t + 1:07d}"


def barcode(c: int) -> str:
    return f"1{c + 1:09d}"


def card_number(p: int) -> str:
    return f"{10_000_001 + p}"


def series_group_id(number: int) -> str:
    return f"S{100000 + number}"
