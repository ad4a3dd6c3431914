"""Incremental ILS exports: only the changed rows and `<kind>.deleted.csv`; the result equals a full import of the final state."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from conftest import NIGHT
from ils import cli
from ils.errors import IlsError, ImportFailed
from ils.exchange.imports import files_in, import_files
from ils.infra import schema

TITLES = "bib_id,title,author,publisher,material_type,category,ndc,series_id,volume,volume_label,catalogued_on"
COPIES = "barcode,bib_id,owning_branch,location_branch,shelf_mark,state"
PATRONS = ("card,name,name_kana,birth_date,phone,email,contact_method,home_branch,status,web_registered,language,"
           "registered_on,newsletter")
LOANS = "barcode,card,loaned_on,due_on,renewals,inter_library,branch"

# Rows the first full export adds to the examples: what the incremental one then deletes.
A_TITLE_NOBODY_HOLDS = "B0000007,絶版の本,,,book,normal,913.6,,,,2001-01-01"
A_COPY_TO_WITHDRAW = "1000000008,B0000006,central,,K/オ/2,on_shelf"
A_PATRON_WHO_LEAVES = "10000004,転出 次郎,テンシュツ ジロウ,1970-01-01,,,none,central,active,no,ja,2010-01-01,"


def _write(folder, name, header, rows):
    (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _full_export(examples, folder):
    """The examples (no holds: they are the back office's) plus rows the incremental export removes."""
    folder.mkdir()
    for name in ("branches.csv", "calendar.csv", "routes.csv", "titles.csv", "copies.csv", "patrons.csv", "loans.csv"):
        shutil.copy(examples / name, folder / name)
    _write(folder, "titles.csv", TITLES, [*_lines(examples / "titles.csv")[1:], A_TITLE_NOBODY_HOLDS])
    _write(folder, "copies.csv", COPIES, [*_lines(examples / "copies.csv")[1:], A_COPY_TO_WITHDRAW])
    _write(folder, "patrons.csv", PATRONS, [*_lines(examples / "patrons.csv")[1:], A_PATRON_WHO_LEAVES])
    return folder


CHANGED_TITLE = "B0000003,国語大辞典 第二版,,言葉社,book,禁帯,813.1,,,,2020-01-10"
NEW_TITLE = "B0000008,新しい本,新井 一,新社,book,normal,913.6,,,,2026-11-20"
NEW_COPY = "1000000009,B0000008,higashi,,913.6/ア,on_shelf"
RETURNED_COPY = "1000000002,B0000001,higashi,,913.6/ヤ/1,on_shelf"
CHANGED_PATRON = "10000002,相内 花子,アイノナイ ハナコ,2013-10-05,0157-33-4444,,phone,aioi,active,yes,ja,2020-05-10,"
NEW_PATRON = "10000005,新規 さくら,シンキ サクラ,2000-02-02,,sakura@example.jp,email,higashi,active,no,ja,2026-11-25,3"
NEW_LOAN = "1000000003,10000003,2026-11-25,2026-12-09,0,no,central"


def _incremental_export(folder):
    """The night after: a few rows changed or new, and one deletion of every kind that has them."""
    folder.mkdir()
    _write(folder, "titles.csv", TITLES, [CHANGED_TITLE, NEW_TITLE])
    _write(folder, "copies.csv", COPIES, [NEW_COPY, RETURNED_COPY])
    _write(folder, "patrons.csv", PATRONS, [CHANGED_PATRON, NEW_PATRON])
    _write(folder, "loans.csv", LOANS, [NEW_LOAN])
    _write(folder, "loans.deleted.csv", "barcode", ["1000000002"])
    _write(folder, "copies.deleted.csv", "barcode", ["1000000008"])
    _write(folder, "titles.deleted.csv", "bib_id", ["B0000007"])
    _write(folder, "patrons.deleted.csv", "card", ["10000004"])
    _write(folder, "calendar.deleted.csv", "branch,date", ["central,2026-12-09"])
    _write(folder, "routes.deleted.csv", "from,to", ["higashi,aioi"])
    return folder


def _final_export(examples, full, folder):
    """The same final state as one full export: what the ILS would have written the night after."""
    folder.mkdir()
    for name in ("branches.csv",):
        shutil.copy(full / name, folder / name)
    _write(folder, "calendar.csv", "branch,date,state,note",
           [r for r in _lines(full / "calendar.csv")[1:] if not r.startswith("central,2026-12-09")])
    _write(folder, "routes.csv", "from,to,cost", [r for r in _lines(full / "routes.csv")[1:] if r != "higashi,aioi,3"])
    titles = [r for r in _lines(full / "titles.csv")[1:] if not r.startswith(("B0000003,", "B0000007,"))]
    _write(folder, "titles.csv", TITLES, [*titles, CHANGED_TITLE, NEW_TITLE])
    copies = [r for r in _lines(full / "copies.csv")[1:] if not r.startswith(("1000000002,", "1000000008,"))]
    withdrawn = A_COPY_TO_WITHDRAW.replace("on_shelf", "withdrawn")  # the ILS keeps a withdrawn copy
    _write(folder, "copies.csv", COPIES, [*copies, RETURNED_COPY, withdrawn, NEW_COPY])
    patrons = [r for r in _lines(full / "patrons.csv")[1:] if not r.startswith(("10000002,", "10000004,"))]
    _write(folder, "patrons.csv", PATRONS, [*patrons, CHANGED_PATRON, NEW_PATRON])
    _write(folder, "loans.csv", LOANS, [NEW_LOAN])
    return folder


def _state(conn) -> dict[str, list]:
    """Every imported table by natural keys (ids differ between the two databases)."""
    b, t, c, p, lo = schema.branches, schema.titles, schema.copies, schema.patrons, schema.loans
    owner, here, other = aliased(b), aliased(b), aliased(b)
    d, r, s = schema.branch_days, schema.routes, schema.newsletter_subscriptions
    queries = {
        "titles": select(*(col for col in t.c if col.name != "id")),
        "copies": select(c.c.barcode, t.c.bib_id, owner.c.code, here.c.code, c.c.shelf_mark, c.c.state)
        .join(t, t.c.id == c.c.title_id).join(owner, owner.c.id == c.c.owning_branch_id)
        .join(here, here.c.id == c.c.location_branch_id),
        "patrons": select(*(col for col in p.c if col.name not in ("id", "home_branch_id")), b.c.code)
        .outerjoin(b, b.c.id == p.c.home_branch_id),
        "open loans": select(c.c.barcode, p.c.card_number, lo.c.loaned_on, lo.c.due_on, lo.c.renewals,
                             lo.c.inter_library).join(c, c.c.id == lo.c.copy_id).join(p, p.c.id == lo.c.patron_id)
        .where(lo.c.returned_at.is_(None)),
        "newsletter": select(p.c.card_number, s.c.ndc_class).join(p, p.c.id == s.c.patron_id),
        "calendar": select(b.c.code, d.c.day, d.c.is_open, d.c.note).join(b, b.c.id == d.c.branch_id),
        "routes": select(here.c.code, other.c.code, r.c.cost).join(here, here.c.id == r.c.from_branch_id)
        .join(other, other.c.id == r.c.to_branch_id),
    }
    return {name: sorted(tuple(map(str, row)) for row in conn.execute(q)) for name, q in queries.items()}


def test_a_full_import_then_an_incremental_one_equals_a_full_import_of_the_final_state(conn_for, examples, tmp_path):
    full = _full_export(examples, tmp_path / "full")
    nightly, policy = conn_for()
    import_files(nightly, files_in(full), policy, NIGHT)
    results = import_files(nightly, files_in(_incremental_export(tmp_path / "incremental")), policy, NIGHT)
    assert [r.kind for r in results] == ["titles", "copies", "patrons", "loans", "loans.deleted", "patrons.deleted",
                                         "copies.deleted", "titles.deleted", "routes.deleted", "calendar.deleted"]
    fresh, _ = conn_for()
    import_files(fresh, files_in(_final_export(examples, full, tmp_path / "final")), policy, NIGHT)
    assert _state(nightly) == _state(fresh)
    returned = select(schema.loans.c.returned_at).where(schema.loans.c.returned_at.is_not(None))
    assert len(nightly.execute(returned).all()) == 1  # the returned loan is kept as history, ended


def test_the_same_incremental_export_imported_twice_changes_nothing_the_second_time(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    import_files(conn, files_in(_full_export(examples, tmp_path / "full")), policy, NIGHT)
    incremental = _incremental_export(tmp_path / "incremental")
    import_files(conn, files_in(incremental), policy, NIGHT)
    once = _state(conn)
    import_files(conn, files_in(incremental), policy, NIGHT)
    assert _state(conn) == once


@pytest.mark.parametrize("name, header, key, reason", [
    ("copies.deleted.csv", "barcode", "1000000002", "copies.deleted.csv:2: barcode: the copy is on loan"),
    ("patrons.deleted.csv", "card", "10000001", "patrons.deleted.csv:2: card: patron '10000001' still has loans"),
    ("titles.deleted.csv", "bib_id", "B0000001", "titles.deleted.csv:2: bib_id: title 'B0000001' still has copies"),
])
def test_a_deletion_the_back_office_still_needs_is_refused_on_its_line(conn_for, examples, tmp_path, name, header,
                                                                        key, reason):
    conn, policy = conn_for()
    import_files(conn, files_in(_full_export(examples, tmp_path / "full")), policy, NIGHT)
    before = _state(conn)
    incremental = tmp_path / "incremental"
    incremental.mkdir()
    _write(incremental, "titles.csv", TITLES, [CHANGED_TITLE])
    _write(incremental, name, header, [key])
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, files_in(incremental), policy, NIGHT)
    assert str(caught.value.problems[0]).startswith(f"{incremental}/{reason}")
    assert _state(conn) == before  # the changed title too: all or nothing


def test_a_copy_bound_to_a_hold_is_not_withdrawn(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    import_files(conn, files_in(examples), policy, NIGHT)
    incremental = tmp_path / "incremental"
    incremental.mkdir()
    _write(incremental, "copies.deleted.csv", "barcode", ["1000000001"])
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, files_in(incremental), policy, NIGHT)
    assert "serves a hold (allocated)" in str(caught.value.problems[0])


@pytest.mark.parametrize("kind", ["branches", "holds"])
def test_branches_and_holds_cannot_be_deleted_by_an_import(tmp_path, kind):
    _write(tmp_path, f"{kind}.deleted.csv", "code", ["central"])
    with pytest.raises(IlsError, match=f"{kind} cannot be deleted by an import"):
        files_in(tmp_path)


def test_last_nights_full_export_imported_again_changes_nothing_and_holds_no_hold_twice(conn_for, examples):
    conn, policy = conn_for()
    import_files(conn, files_in(examples), policy, NIGHT)
    holds = select(schema.holds.c.patron_id, schema.holds.c.title_id, schema.holds.c.status)
    once, held = _state(conn), sorted(conn.execute(holds).all())
    results = import_files(conn, files_in(examples), policy, NIGHT)
    assert _state(conn) == once
    assert sorted(conn.execute(holds).all()) == held
    assert results[-1].kind == "holds" and results[-1].rows_written == 0


def test_ils_import_all_takes_an_incremental_folder_and_names_a_refused_deletion_by_file_and_line(
    runner, db_url, examples, tmp_path
):
    full = _full_export(examples, tmp_path / "full")
    assert runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url]).exit_code == 0
    assert runner.invoke(cli.main, ["import", "all", str(full), "--db", db_url]).exit_code == 0
    incremental = _incremental_export(tmp_path / "incremental")
    _write(incremental, "copies.deleted.csv", "barcode", ["1000000008", "1000000003"])  # 003: lent tonight
    result = runner.invoke(cli.main, ["import", "all", str(incremental), "--db", db_url])
    assert result.exit_code == 1
    assert f"{incremental}/copies.deleted.csv:3: barcode: the copy is on loan" in result.stderr
    _write(incremental, "copies.deleted.csv", "barcode", ["1000000008"])
    result = runner.invoke(cli.main, ["import", "all", str(incremental), "--db", db_url])
    assert result.exit_code == 0, result.output
