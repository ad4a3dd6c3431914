"""Writing pending requests (仮予約, 取消申込, 延長申込, email changes) as the web/OPAC front end does."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ils.errors import RequestInvalid, RequestsClosed
from ils.exchange.imports import record_attempt
from ils.exchange.imports.reader import UnreadableFile, open_csv
from ils.frontend.parsing import RECEIPT_CLOCK_SKEW, WEB_ENTRY_DELAY, Unparseable, earliest_receipt, read_receipt_time
from ils.infra import schema
from ils.infra.db import write_transaction
from ils.infra.i18n import _
from ils.infra.lock import refuse_if_running
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy

REQUEST_FIELDS = (
    "kind",
    "card_number",
    "received_at",
    "channel",
    "target",
    "pickup_branch",
    "contact_method",
    "series_group",
    "series_position",
    "receipt_mail",
    "client_ref",
)
# Guards the table, not the rules: the batch judges content. A front end bug that
# posts megabytes is refused here rather than stored.
MAX_FIELD_CHARS = 65536
# A file hands over a front end's spool: a row received within this long before the
# import is entered as of its receipt time, as the front end would have written it then.
SPOOL_WINDOW = dt.timedelta(days=1)


def _as_text(name: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, (dict, list)):
        raise RequestInvalid(_("field {name!r} must be text, not {kind}").format(name=name, kind=type(value).__name__))
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestInvalid(_("field {name!r} is not valid Unicode text (wrong encoding?)").format(name=name)) from None
    if len(text) > MAX_FIELD_CHARS:
        raise RequestInvalid(_("field {name!r} is longer than {most} characters").format(name=name, most=MAX_FIELD_CHARS))
    if "\x00" in text:  # PostgreSQL's text cannot hold it; refused on SQLite too, alike
        raise RequestInvalid(_("field {name!r} contains a NUL character, which the table cannot store").format(name=name))
    return text


def normalise(request: dict) -> dict:
    """A request as the row the front end writes: known fields only, all text."""
    unknown = set(request) - set(REQUEST_FIELDS)
    if unknown:
        raise RequestInvalid(_("unknown field(s) {unknown}").format(unknown=', '.join(sorted(unknown))))
    return {name: _as_text(name, request.get(name)) for name in REQUEST_FIELDS}


def submit(conn: Connection, requests: Iterable[dict], *, now: dt.datetime | None = None,
           spooled: bool = False) -> list[int]:
    """Store requests as pending rows; returns their ids. The caller owns the transaction.

    Refused with BatchRunning while a batch run holds the lock (seed 004: 午前3時から
    午前4時の間は予約できません). `now` stamps entered_at (the database's clock otherwise),
    so a replayed night sees the rows it would have seen; `spooled` rows are entered as
    of their receipt time where that lies within SPOOL_WINDOW before `now`.
    """
    refuse_if_running(conn, dt.datetime.now(tz=dt.timezone.utc))
    t = schema.pending_requests
    rows = [normalise(request) for request in requests]
    if now is not None:
        rows = [{**row, "entered_at": spooled_entry(row, now) if spooled else now} for row in rows]
    if not rows:
        return []
    result = conn.execute(t.insert().returning(t.c.id, sort_by_parameter_order=True), rows)
    return [row.id for row in result]


def spooled_entry(row: dict, now: dt.datetime) -> dt.datetime:
    """When a row handed over in a file entered the front end: its receipt time if that is
    readable and within SPOOL_WINDOW before `now`, else `now` (the batch judges it there)."""
    try:
        received = read_receipt_time(row.get("received_at"))
    except Unparseable:
        return now
    return received if now - SPOOL_WINDOW <= received <= now else now


def refuse_if_closed(policy: Policy, now: dt.datetime) -> None:
    """RequestsClosed at an hour in the profile's closed window, whatever the batch is doing
    (seed 004: 午前3時から午前4時の間は予約できません)."""
    window = policy.requests.closed_window
    if not window:
        return
    start, end = window
    clock = f"{now.astimezone(LIBRARY_TZ):%H:%M}"
    closed = start <= clock < end if start < end else (clock >= start or clock < end)  # past midnight
    if closed:
        raise RequestsClosed(
            _("requests are not taken from {start} to {end} (the profile's [requests] closed_window); "
              "it is {clock}: try again from {end}").format(start=start, end=end, clock=clock)
        )


def submit_keyed(conn: Connection, requests: list[dict], *, now: dt.datetime, policy: Policy) -> list[int]:
    """Store requests keyed by staff (`ils request ...`), refusing at once a receipt time
    the batch would reject, since the person who typed it is there to correct it, and any
    request in the profile's closed window, as the front end is refused."""
    refuse_if_closed(policy, now)
    for request in requests:
        check_keyed_receipt(request.get("received_at"), request.get("channel"), now, policy)
    return submit(conn, requests, now=now)


def check_keyed_receipt(value: str | None, channel: str | None, entered: dt.datetime, policy: Policy) -> None:
    """RequestInvalid, saying why, for a receipt time the batch would reject (ils.frontend.parsing.parse_received_at)."""
    try:
        received = read_receipt_time(value)
    except Unparseable:
        raise RequestInvalid(
            _("receipt time {value!r} is not a date and time; write e.g. 2026-11-25T10:15 (library "
              "time) or 2026-11-25T10:15:03+09:00").format(value=value)
        ) from None
    keyed = f"{entered.astimezone(LIBRARY_TZ):%Y-%m-%d %H:%M}"
    if received > entered + RECEIPT_CLOCK_SKEW:
        raise RequestInvalid(_("receipt time {value} is after the request is entered ({keyed}); it cannot be in the "
                               "future").format(value=value, keyed=keyed))
    if received >= earliest_receipt(entered, (channel or "").strip(), policy):
        return
    if (channel or "").strip() == "paper":
        raise RequestInvalid(
            _("receipt time {value} is more than {paper_backdate_days} days before the form is keyed "
              "({keyed}), the profile's [requests] paper_backdate_days; the batch would refuse it").format(value=value, paper_backdate_days=policy.requests.paper_backdate_days, keyed=keyed)
        )
    raise RequestInvalid(
        _("receipt time {value} is more than {value2} minutes before the request is entered "
          "({keyed}); only a paper form (--channel paper) may carry an earlier receipt time").format(value=value, value2=WEB_ENTRY_DELAY.seconds // 60, keyed=keyed)
    )


@dataclass(frozen=True)
class RequestLine:
    line: int
    request: dict


def read_request_file(path: Path) -> list[RequestLine]:
    """Requests from JSON lines (.jsonl/.json) or CSV; a line that cannot be read refuses the file."""
    problems: list[str] = []
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        lines = _read_jsonl(path, problems)
    else:
        lines = _read_csv(path, problems)
    valid = []
    for item in lines:
        try:
            valid.append(RequestLine(item.line, normalise(item.request)))
        except RequestInvalid as exc:
            problems.append(f"{path}:{item.line}: {exc}")
    if problems:
        raise RequestInvalid(
            f"{path}: {len(problems)} line(s) cannot be read; nothing was stored:\n" + "\n".join(problems)
        )
    return valid


def _read_jsonl(path: Path, problems: list[str]) -> list[RequestLine]:
    out: list[RequestLine] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc.reason})")
        return out
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not valid JSON: {exc.msg}")
            continue
        if not isinstance(item, dict):
            problems.append(f"{path}:{number}: a line must be a JSON object")
            continue
        out.append(RequestLine(number, item))
    return out


def _read_csv(path: Path, problems: list[str]) -> list[RequestLine]:
    out = []
    try:
        for line, raw in open_csv(path).rows:
            if "__width__" in raw:
                problems.append(f"{path}:{line}: {raw['__width__']}")
            else:
                out.append(RequestLine(line, {k: (v or None) for k, v in raw.items()}))
    except UnreadableFile as exc:
        problems.append(f"{path}:{exc.line}: {exc}")
    return out


def import_request_file(conn: Connection, path: Path, now) -> list[int]:
    """Store every request of a file, or none; the attempt is recorded in import_runs."""
    try:
        lines = read_request_file(path)
    except RequestInvalid as exc:
        record_attempt(conn, "requests", path, now, rows_read=0, rows_written=0, problems=str(exc).splitlines()[1:])
        raise
    with write_transaction(conn):
        ids = submit(conn, (item.request for item in lines), now=now, spooled=True)
    record_attempt(conn, "requests", path, now, rows_read=len(lines), rows_written=len(ids))
    return ids


def counts_by_state(conn: Connection) -> list[dict]:
    t = schema.pending_requests
    query = (
        select(t.c.kind, t.c.state, func.count().label("requests"))
        .group_by(t.c.kind, t.c.state)
        .order_by(t.c.kind, t.c.state)
    )
    return [dict(row._mapping) for row in conn.execute(query)]
