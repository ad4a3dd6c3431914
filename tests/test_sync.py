"""The back office and the ILS agree: the night's changes survive the morning's import, flow back, and real conflicts are reported."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.errors import Conflict
from ils.exchange.imports import import_files
from ils.exchange.imports.ownership import conflict_rows
from ils.exchange.journal import EXPORT_COLUMNS, Change, changes_since, record_changes
from ils.infra import db, schema
from ils.infra.context import Context
from ils.patrons.enrolment import enrol
from scenario import D, at

PATRONS_HEADER = "card,name,birth_date,phone,email,contact_method,web_registered"
LOANS_HEADER = "barcode,card,loaned_on,due_on,renewals,branch"


@pytest.fixture
def kitami(new_library, tmp_path):
    """A Kitami patron with one loan, as the ILS exported them the evening before."""
    lib = new_library("kitami")
    lib.branch("central").title("B1")
    lib.copy("B1", "central", barcode="C1")
    files = Files(tmp_path)
    files.patrons("1001,北見花子,1980-05-05,0157-00-0000,old@example.jp,email,yes")
    files.loans("C1,1001,2026-11-16,2026-11-30,0,central")
    lib.imported = lambda *names, now="2026-11-25 20:00": import_files(
        lib.conn, [(n, files.path(n)) for n in names], lib.policy, at(now))
    lib.files = files
    lib.imported("patrons", "loans")
    lib.ids[("patron", "1001")] = _patron(lib).id
    yield lib


class Files:
    """The ILS's export files, rewritten as the ILS changes its rows."""

    def __init__(self, folder):
        self.folder = folder

    def path(self, name):
        return self.folder / f"{name}.csv"

    def patrons(self, *rows, header=PATRONS_HEADER):
        self.path("patrons").write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")

    def loans(self, *rows, header=LOANS_HEADER):
        self.path("loans").write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")


def _patron(lib, card="1001"):
    p = schema.patrons
    row = lib.conn.execute(select(p).where(p.c.card_number == card)).one()
    lib.conn.rollback()
    return row


def _loan(lib, barcode="C1"):
    lo, c = schema.loans, schema.copies
    row = lib.conn.execute(select(lo.c.id, lo.c.due_on, lo.c.renewals).join(c, c.c.id == lo.c.copy_id)
                           .where(c.c.barcode == barcode, lo.c.returned_at.is_(None))).one()
    lib.conn.rollback()
    return row


def _journal(lib):
    j = schema.change_journal
    rows = lib.conn.execute(select(j.c.id, j.c.kind, j.c.field, j.c.old_value, j.c.new_value, j.c.ils_state)
                            .order_by(j.c.id)).all()
    lib.conn.rollback()
    return [tuple(r) for r in rows]


def _web_email_change_and_renewal(lib):
    lib.request("email_change", "1001", "new@example.jp", received="2026-11-25 21:00")
    lib.request("renew", "1001", "C1", received="2026-11-25 21:05")
    lib.night("2026-11-26 03:00")


def test_the_nights_email_change_and_renewal_survive_a_reimport_of_the_unchanged_ils_files(kitami):
    _web_email_change_and_renewal(kitami)
    assert _loan(kitami).due_on == D(2026, 12, 8) and _loan(kitami).renewals == 1
    result = kitami.imported("patrons", "loans", now="2026-11-27 02:30")
    assert _patron(kitami).email == "new@example.jp"
    assert (_loan(kitami).due_on, _loan(kitami).renewals) == (D(2026, 12, 8), 1)
    assert [r.conflicts for r in result] == [[], []]  # the ILS has not applied them yet: a lag, not a conflict
    assert [(kind, field, old, new, state) for _, kind, field, old, new, state in _journal(kitami)] == [
        ("renewal", "due_on", "2026-11-30", "2026-12-08", "pending"),  # the night renews before it changes addresses
        ("renewal", "renewals", "0", "1", "pending"),
        ("email_change", "email", "old@example.jp", "new@example.jp", "pending"),
    ]


def test_a_second_web_renewal_after_the_reimport_is_refused(kitami):
    _web_email_change_and_renewal(kitami)
    kitami.imported("patrons", "loans", now="2026-11-27 02:30")
    again = kitami.request("renew", "1001", "C1", received="2026-11-27 10:00")
    kitami.night("2026-11-28 03:00")
    assert kitami.verdict(again) == ("rejected", "renewed_already")
    assert _loan(kitami).renewals == 1


def test_an_ils_export_showing_the_change_settles_it_and_the_ils_owns_the_field_again(kitami):
    _web_email_change_and_renewal(kitami)
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,new@example.jp,email,yes")
    kitami.imported("patrons", now="2026-11-27 02:30")
    assert [state for *_, state in _journal(kitami)][2] == "applied"
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,counter@example.jp,email,yes")
    result = kitami.imported("patrons", now="2026-11-28 02:30")
    assert _patron(kitami).email == "counter@example.jp" and result[0].conflicts == []


def test_an_ils_change_made_after_the_back_offices_wins_and_is_reported(kitami):
    _web_email_change_and_renewal(kitami)
    header = PATRONS_HEADER + ",changed_at"
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,desk@example.jp,email,yes,2026-11-26T10:00:00+09:00",
                         header=header)
    kitami.files.loans("C1,1001,2026-11-16,2026-12-20,1,central,2026-11-26T11:00:00+09:00",
                       header=LOANS_HEADER + ",changed_at")
    result = kitami.imported("patrons", "loans", now="2026-11-27 02:30")
    assert _patron(kitami).email == "desk@example.jp"
    assert (_loan(kitami).due_on, _loan(kitami).renewals) == (D(2026, 12, 20), 1)
    assert len(result[0].conflicts) == 1
    assert "patron 1001 email: ILS 'desk@example.jp', back office 'new@example.jp'" in result[0].conflicts[0]
    assert "kept 'desk@example.jp', because the ILS changed the row after the back office" in result[0].conflicts[0]
    # the due date both sides changed; the count both sides agree on settles
    assert len(result[1].conflicts) == 1 and "loan C1 due_on" in result[1].conflicts[0]
    listed = conflict_rows(kitami.conn)
    assert [(c["record"], c["record_key"], c["field"], c["winner"]) for c in listed] == [
        ("loan", "C1", "due_on", "ils"), ("patron", "1001", "email", "ils")]
    assert [state for *_, state in _journal(kitami)] == ["overridden", "applied", "overridden"]


def test_an_ils_change_older_than_the_back_offices_loses_and_is_reported(kitami):
    _web_email_change_and_renewal(kitami)
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,desk@example.jp,email,yes,2026-11-25T18:00:00+09:00",
                         header=PATRONS_HEADER + ",changed_at")
    result = kitami.imported("patrons", now="2026-11-27 02:30")
    assert _patron(kitami).email == "new@example.jp"
    assert "kept 'new@example.jp', because the ILS has not applied the back office's change yet" in result[0].conflicts[0]
    kitami.imported("patrons", now="2026-11-28 02:30")  # the same file again: reported, not recorded twice
    assert [c["winner"] for c in conflict_rows(kitami.conn)] == ["back_office"]


def test_a_blank_web_registered_leaves_the_enrolment_as_it_is(kitami):
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,old@example.jp,email,",
                         "1002,北見次郎,1990-01-01,,,none,")
    kitami.imported("patrons", now="2026-11-27 02:30")
    assert _patron(kitami).web_registered is True
    assert _patron(kitami, "1002").web_registered is False


def _export(lib, runner, tmp_path, *options):
    out = tmp_path / "changes.out"
    result = runner.invoke(cli.main, ["export", "changes", "--db", lib.url, "--output", str(out),
                                      "--now", "2026-11-26T04:00", *options])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_the_export_carries_the_nights_changes_and_the_ils_acknowledges_them_by_id(kitami, runner, tmp_path):
    _web_email_change_and_renewal(kitami)
    rows = list(csv.DictReader(io.StringIO(_export(kitami, runner, tmp_path, "--since", "0").decode())))
    assert [(r["kind"], r["record"], r["card"], r["barcode"], r["field"], r["old_value"], r["new_value"], r["actor"])
            for r in rows] == [
        ("renewal", "loan", "1001", "C1", "due_on", "2026-11-30", "2026-12-08", "batch"),
        ("renewal", "loan", "1001", "C1", "renewals", "0", "1", "batch"),
        ("email_change", "patron", "1001", "", "email", "old@example.jp", "new@example.jp", "batch"),
    ]
    assert rows[0]["at"] == "2026-11-26T03:00:00+09:00"
    ids = [int(r["id"]) for r in rows]
    assert ids == sorted(ids)
    by_time = _export(kitami, runner, tmp_path, "--since", "2026-11-26T02:59", "--format", "jsonl")
    assert len(by_time.decode().splitlines()) == 3  # a time is for looking: it acknowledges nothing
    assert {state for *_, state in _journal(kitami)} == {"pending"}
    # The ILS applied the first two; asking after the second returns the third only, and
    # the ILS now owns the loan's fields again.
    again = _export(kitami, runner, tmp_path, "--since", str(ids[1]), "--format", "jsonl")
    assert [json.loads(line)["id"] for line in again.decode().splitlines()] == [ids[2]]
    assert [state for *_, state in _journal(kitami)] == ["applied", "applied", "pending"]
    kitami.files.loans("C1,1001,2026-11-16,2026-12-10,1,central")
    result = kitami.imported("loans", now="2026-11-27 02:30")
    assert _loan(kitami).due_on == D(2026, 12, 10) and result[0].conflicts == []


def test_the_export_in_cp932_refuses_a_character_cp932_cannot_hold(kitami, runner, tmp_path):
    kitami.request("email_change", "1001", "𠮷田@example.jp", received="2026-11-25 21:00")
    kitami.night("2026-11-26 03:00")
    out = tmp_path / "changes.csv"
    result = runner.invoke(cli.main, ["export", "changes", "--db", kitami.url, "--since", "0",
                                      "--encoding", "cp932", "--output", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert "cp932 cannot hold: export with --encoding utf-8" in result.stderr
    text = _export(kitami, runner, tmp_path, "--since", "0").decode("utf-8")
    assert "𠮷田@example.jp" in text


def test_the_example_export_file_has_the_columns_the_export_writes(examples):
    header = (examples / "changes.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(EXPORT_COLUMNS)


def test_import_conflicts_lists_what_the_imports_found(kitami, runner):
    _web_email_change_and_renewal(kitami)
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,desk@example.jp,email,yes,2026-11-26T10:00:00+09:00",
                         header=PATRONS_HEADER + ",changed_at")
    result = runner.invoke(cli.main, ["import", "patrons", str(kitami.files.path("patrons")), "--db", kitami.url,
                                      "--now", "2026-11-27T02:30"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"conflict: {kitami.files.path('patrons')}: line 2: patron 1001 email:")
    listed = runner.invoke(cli.main, ["import", "conflicts", "--db", kitami.url, "--json"])
    assert [(c["record_key"], c["field"], c["ils_value"], c["winner"]) for c in json.loads(listed.stdout)] == [
        ("1001", "email", "desk@example.jp", "ils")]


def test_on_postgresql_the_export_waits_for_an_entry_still_being_written(kitami, engine_name):
    if engine_name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: a smaller id is always committed first")
    engine = db.open_engine(kitami.url)
    writer, exporter = engine.connect(), engine.connect()
    try:
        writer.begin()
        record_changes(writer, [Change("email_change", _patron(kitami).id, "email", "a@example.jp", "b@example.jp")],
                       at=at("2026-11-26 03:00"), actor="batch")
        # The writer never commits while the export waits, so the export's lock wait always
        # ends in this timeout, however fast or slow the machine: the export does not skip
        # the uncommitted entry, it waits for it.
        exporter.exec_driver_sql("SET lock_timeout = '200ms'")
        exporter.commit()
        ctx = Context(conn=exporter, policy=kitami.policy, now=at("2026-11-26 04:00"))
        with pytest.raises(Conflict):
            changes_since(ctx, 0)
        writer.commit()
        assert [r["new_value"] for r in changes_since(ctx, 0)] == ["b@example.jp"]
    finally:
        writer.close()
        exporter.close()
        engine.dispose()


def test_the_counter_and_staff_changes_are_journaled_too(kitami, runner, tmp_path):
    kitami.title("B2")
    kitami.copy("B2", "central", state="on_loan")
    kitami.staff("s05", role="supervisor")  # a password reset needs a supervisor
    base = ["--db", kitami.url, "--now", "2026-11-25T10:00", "--staff", "s05"]
    for command in (["renew", "--barcode", "C1"], ["password", "reset", "--card", "1001"],
                    ["hold", "place", "--card", "1001", "--title", "B2", "--pickup", "central"]):
        result = runner.invoke(cli.main, [*command, *base])
        assert result.exit_code == 0, result.output
    hold_id = kitami.holds_of("1001")["B2"]["id"]
    assert runner.invoke(cli.main, ["hold", "cancel", str(hold_id), *base]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(_export(kitami, runner, tmp_path, "--since", "0").decode())))
    assert [(r["kind"], r["barcode"] or r["bib_id"], r["field"], r["old_value"], r["new_value"], r["actor"])
            for r in rows] == [
        ("renewal", "C1", "due_on", "2026-11-30", "2026-12-08", "s05"),  # Kitami: 14 days counting today
        ("renewal", "C1", "renewals", "0", "1", "s05"),
        ("password", "", "password_state", "none", "none", "s05"),  # Kitami erases it: the state, never a secret
        ("hold_placed", "B2", "status", "", "waiting", "s05"),
        ("hold_cancelled", "B2", "status", "waiting", "cancelled", "s05"),
    ]


def test_an_enrolment_survives_an_ils_export_that_still_says_not_registered(kitami):
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,old@example.jp,email,yes",
                         "1002,北見次郎,1990-01-01,,,none,no")
    kitami.imported("patrons", now="2026-11-25 20:30")
    kitami.staff("s01")
    enrol(Context(conn=kitami.conn, policy=kitami.policy, now=at("2026-11-26 10:00")), "1002", staff="s01")
    result = kitami.imported("patrons", now="2026-11-27 02:30")
    assert _patron(kitami, "1002").web_registered is True and result[0].conflicts == []


def test_the_whole_loop_through_the_command_line_as_cron_runs_it(runner, make_db, tmp_path):
    """02:30 import, 03:00 night, 04:00 export; the ILS applies the changes and exports them
    back; the next night's import settles them and the next export has nothing new."""
    url = make_db("kitami")
    ils_out = tmp_path / "ils-out"
    ils_out.mkdir()
    (ils_out / "branches.csv").write_text("code,name,kind\ncentral,中央図書館,library\n", encoding="utf-8")
    (ils_out / "titles.csv").write_text("bib_id,title,material_type,catalogued_on\nB1,北の本,book,2020-01-01\n",
                                        encoding="utf-8")
    (ils_out / "copies.csv").write_text("barcode,bib_id,owning_branch\nC1,B1,central\n", encoding="utf-8")
    files = Files(ils_out)
    files.patrons("1001,北見花子,1980-05-05,0157-00-0000,old@example.jp,email,yes")
    files.loans("C1,1001,2026-11-16,2026-11-30,0,central")

    def ils(*args, now):
        result = runner.invoke(cli.main, [*args, "--db", url, "--now", now])
        assert result.exit_code == 0, result.output
        return result.stdout

    ils("import", "all", str(ils_out), now="2026-11-25T02:30")
    ils("request", "renew", "--card", "1001", "--barcode", "C1", now="2026-11-25T21:00")
    ils("request", "email", "--card", "1001", "--address", "new@example.jp", now="2026-11-25T21:05")
    ils("batch", "run", now="2026-11-26T03:00")
    export = tmp_path / "changes.csv"
    ils("export", "changes", "--since", "0", "--output", str(export), now="2026-11-26T04:00")
    entries = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8"))))
    assert [(e["field"], e["new_value"]) for e in entries] == [
        ("due_on", "2026-12-08"), ("renewals", "1"), ("email", "new@example.jp")]
    # the ILS has not applied them yet: its unchanged files change nothing, and report nothing
    assert ils("import", "all", str(ils_out), now="2026-11-26T05:00") == ""
    # the ILS applies them, exports its rows, and next asks after the last id it applied
    files.patrons("1001,北見花子,1980-05-05,0157-00-0000,new@example.jp,email,yes")
    files.loans("C1,1001,2026-11-16,2026-12-08,1,central")
    assert ils("import", "all", str(ils_out), now="2026-11-27T02:30") == ""
    again = ils("export", "changes", "--since", entries[-1]["id"], now="2026-11-27T04:00")
    assert again.splitlines() == [",".join(EXPORT_COLUMNS)]
    assert ils("import", "conflicts", "--json", now="2026-11-27T04:00").strip() == "[]"


def test_only_the_making_and_closing_of_a_hold_reach_the_ils():
    from ils.exchange.journal import hold_event

    steps = [(None, "waiting"), (None, "series_waiting"), ("series_waiting", "waiting"), ("waiting", "allocated"),
             ("allocated", "in_transit"), ("in_transit", "ready"), ("ready", "fulfilled"), ("ready", "expired"),
             ("waiting", "cancelled")]
    assert [hold_event(a, b) for a, b in steps] == [
        "hold_placed", "hold_placed", None, None, None, None, "hold_filled", "hold_expired", "hold_cancelled"]


def test_a_web_newsletter_subscription_survives_a_reimport_and_reaches_the_export(kitami):
    """Seed 000: メールマガジンの登録ができます — chosen on the web, so the ILS's file of the evening
    before (no classes) must not undo it; the choice goes to the ILS like an address change."""
    kitami.request("newsletter", "1001", "subscribe:9,4", received="2026-11-25 21:00")
    kitami.night("2026-11-26 03:00")
    result = kitami.imported("patrons", now="2026-11-27 02:30")
    s = schema.newsletter_subscriptions
    classes = sorted(kitami.conn.execute(select(s.c.ndc_class).where(s.c.patron_id == _patron(kitami).id)).scalars())
    kitami.conn.rollback()
    assert classes == ["4", "9"]
    assert [r.conflicts for r in result] == [[]]
    assert [(kind, field, old, new, state) for _, kind, field, old, new, state in _journal(kitami)] == [
        ("newsletter_change", "newsletter", "", "4,9", "pending")]
    kitami.files.patrons("1001,北見花子,1980-05-05,0157-00-0000,old@example.jp,email,yes,9",
                         header=PATRONS_HEADER + ",newsletter")
    kitami.imported("patrons", now="2026-11-28 02:30")  # the ILS changed it otherwise since: reported, ours kept
    assert [c["field"] for c in conflict_rows(kitami.conn)] == ["newsletter"]
