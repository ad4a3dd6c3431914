"""Branch reports after a scenario night: the rows of each list, Japanese column alignment, CSV for Excel."""

from __future__ import annotations

import csv
import io
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect
from wcwidth import wcswidth

from engines import Databases, query_plan
from ils import cli
from ils.infra import schema, sqlfiles
from ils.infra.context import Context
from ils.mail.render import render_due
from ils.mail.settings import MailSettings
from ils.reports import ROWS, lists
from ils.reports.acquisitions import titles_over
from ils.reports.formats import as_csv, as_html, as_text
from ils.reports.write import _in_turn, make_sheet
from scenario import D, Library, at

# The reports as a Japanese library prints them (the suite speaks English: conftest).
pytestmark = pytest.mark.staff_language("ja")
DAY = D(2026, 11, 26)


@pytest.fixture
def night(new_library):
    """Kitami's night of 11-26 with something on every list."""
    yield kitami_night(new_library("kitami"))


def kitami_night(lib):
    """The night of the `night` fixture in `lib`, a new Kitami library on either engine."""
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("1001", email="taro@example.jp").patron("1002", email=None, contact="phone", phone="0157-00-1234")
    lib.patron("1003", email="a..b@example.jp").patron("1004", contact="none")
    with lib.conn.begin():
        lib.conn.execute(schema.patrons.update().values(home_branch_id=lib.ids[("branch", "central")]))
    lib.title("LONG").title("B2").title("B3").title("B4")
    with lib.conn.begin():
        lib.conn.execute(schema.titles.update().where(schema.titles.c.bib_id == "LONG")
                         .values(title="とても長い題名の本、あるいは夜明けの図書館で起きたこと 第一巻"))
    lib.copy("LONG", "tokoro", barcode="L1")
    lib.copy("B2", "central", barcode="C2")
    lib.request("hold", "1001", "LONG", pickup="central")  # pulled at 常呂 for 中央
    lib.request("hold", "1004", "B2", pickup="central")  # pulled at 中央 for 中央
    freed = lib.copy("B3", "central", state="on_hold_shelf", barcode="S3")
    lib.hold("1004", "B3", "central", status="ready", copy=freed, contact="none", ready_on=D(2026, 11, 17),
             deadline=D(2026, 11, 25))
    lib.hold("1002", "B3", "central", queued_at="2026-11-02 10:00", contact="phone")  # ready tonight: phone list
    gone = lib.copy("B4", "tokoro", state="on_hold_shelf", barcode="S4")
    lib.hold("1004", "B4", "central", status="ready", copy=gone, contact="none", ready_on=D(2026, 11, 17),
             deadline=D(2026, 11, 25))  # expires; nobody waits: the copy goes home to 常呂
    lib.request("hold", "1003", "NOPE", pickup="central")  # a rejection that cannot be mailed
    lib.night("2026-11-26 03:00")
    render_due(Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00")), MailSettings())
    return lib


def sheet(lib, name, branch="central"):
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 09:00"))
    return make_sheet(ctx, name, branch, DAY)


def test_the_pull_list_of_each_branch(night):
    [row] = sheet(night, "pull", "tokoro").rows
    assert (row["barcode"], row["pickup"], row["hold"] is not None) == ("L1", "central", True)
    [here] = sheet(night, "pull", "central").rows
    assert here["barcode"] == "C2"
    assert [key for key, _ in sheet(night, "pull").report.columns] == ["shelf_mark", "barcode", "title", "pickup", "hold"]


def test_the_hold_shelf_the_expired_and_where_their_copies_go(night):
    [ready] = sheet(night, "holdshelf").rows
    assert (ready["card"], ready["barcode"], ready["pickup_deadline"]) == ("1002", "S3", D(2026, 12, 3))
    assert "phone" not in ready  # the phone number only on the phone list
    expired = {r["barcode"]: r["next"] for r in sheet(night, "expired").rows}
    assert expired == {"S3": "取置継続: 予約 2", "S4": "tokoro へ返送"}


def test_the_phone_list_and_the_contact_problems(night):
    [call] = sheet(night, "phone").rows
    assert (call["card"], call["phone"]) == ("1002", "0157-00-1234")
    [problem] = sheet(night, "problems").rows
    assert (problem["card"], problem["notice"]) == ("1003", "request_rejected")
    assert "「.」の連続" in problem["problem"]


def test_the_night_summary_for_a_branch_and_for_the_system(night):
    branch = {r["what"]: r["count"] for r in sheet(night, "summary").rows}
    assert branch["取置期限切れ(本日)"] == 2 and branch["取置中"] == 1
    ctx = Context(conn=night.conn, policy=night.policy, now=at("2026-11-26 09:00"))
    system = [r["what"] for r in make_sheet(ctx, "summary", None, DAY).rows]
    assert system[0] == "夜間処理 1(03:00): 完了、所要秒数"
    assert "  予約受付: 却下 資料不明" in system  # unknown_title, in staff's short words


def test_a_branchs_summary_counts_the_holds_asked_for_from_midnight_to_noon_and_not_at_the_counter(new_library):
    lib = new_library("kitami").branch("central").patron("1001")
    asked = {"2026-11-25 23:59": "web", "2026-11-26 00:00": "web", "2026-11-26 03:00": "paper",
             "2026-11-26 11:59": "mobile", "2026-11-26 12:00": "web", "2026-11-26 09:00": "counter"}
    for n, (when, channel) in enumerate(asked.items()):
        lib.title(f"T{n}").hold("1001", f"T{n}", "central", queued_at=when, channel=channel)
    counts = {r["what"]: r["count"] for r in sheet(lib, "summary").rows}
    assert counts["予約受付(この館で受取)"] == 3  # midnight, 03:00 and 11:59; not the day before, noon, the counter


def test_the_summarys_accepted_count_reads_the_days_holds_from_an_index_not_every_hold(new_library, engine_name):
    """A library's holds table keeps every hold it ever had: the accepted count searches the
    (created_at, channel, pickup_branch_id) index over the day (0012): on SQLite a B-tree, read
    alone; on PostgreSQL a BRIN (0013), then the table's pages whose range took a hold that day."""
    lib = new_library("kitami").branch("central").patron("1001").title("T1")
    lib.hold("1001", "T1", "central", queued_at="2026-11-26 08:00")
    asked = []

    def record(conn, cursor, statement, parameters, context, executemany):
        asked.extend([(statement, parameters)] if "'accepted' AS what" in statement else [])

    event.listen(lib.conn, "before_cursor_execute", record)
    try:
        sheet(lib, "summary")
    finally:
        event.remove(lib.conn, "before_cursor_execute", record)
    [(statement, parameters)] = asked
    plan = query_plan(lib.conn, statement, parameters)
    lib.conn.rollback()
    if engine_name == "sqlite":
        assert "SEARCH h USING COVERING INDEX ix_holds_created_at_channel_pickup_branch_id (created_at>? AND created_at<?)" in plan
        assert not [step for step in plan if step.startswith("SCAN h")], plan
    else:
        assert ("Bitmap Index Scan on ix_holds_created_at_channel_pickup_branch_id  (cost"
                in " / ".join(plan)), plan
        assert not [step for step in plan if "Seq Scan on holds" in step], plan


def test_a_branchs_summary_counts_the_rows_of_its_pull_list_and_the_night_reads_that_list_once(night, tmp_path):
    from ils.reports.write import ReportSettings, write_all

    pulled = "資料確保(この館の書架から)"
    for code in ("central", "tokoro"):  # on its own, the summary reads the branch's pull list
        counted = {r["what"]: r["count"] for r in sheet(night, "summary", code).rows}[pulled]
        assert counted == len(sheet(night, "pull", code).rows) == 1
    allocated = []  # the statements that read the allocated holds

    def record(conn, cursor, statement, *args):
        allocated.extend([statement] if "h.status = 'allocated'" in statement else [])

    ctx = Context(conn=night.conn, policy=night.policy, now=at("2026-11-26 03:30"))
    event.listen(night.conn, "before_cursor_execute", record)
    try:
        write_all(ctx, DAY, ReportSettings(formats=("csv",)), tmp_path)
    finally:
        event.remove(night.conn, "before_cursor_execute", record)
    assert len(allocated) == 1  # the pull list's: the summary counted the rows it had read
    printed = (tmp_path / "reports" / "2026-11-26" / "tokoro" / "summary.csv").read_text("utf-8-sig")
    assert f"{pulled},1" in printed.splitlines()


def test_every_reason_a_request_can_be_refused_for_has_its_short_words_in_the_summary():
    from ils.frontend.reasons import REASON_CODES
    from ils.reports.words import words

    missing = [code for code in REASON_CODES if code not in words("ja")["summary"]["reasons"]]
    assert not missing, f"templates_reports/reports.toml [summary.reasons] lacks {missing}"


def test_japanese_titles_line_up_in_the_text_form(night):
    text = as_text(sheet(night, "pull", "tokoro"))
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("請求記号"))
    table = [line for line in lines[header:] if line.strip()]
    # the column after the (clipped, full-width) title starts at the same display column on every line
    rule = table[1]
    pickup_column = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")][3]
    assert wcswidth(table[0][: table[0].index("受取館")]) == pickup_column
    assert wcswidth(table[2][: table[2].index("central")]) == pickup_column
    assert "…" in text  # the long title was clipped to fit A4
    assert lines[0].startswith("北見市立図書館  tokoro  資料確保リスト")
    assert "2026年11月26日(木)" in lines[0] and "1/1 ページ" in lines[0]


def test_long_lists_are_paged_with_headers(night):
    from ils.reports.formats import Sheet

    base = sheet(night, "pull")
    many = Sheet(base.report, base.library, base.branch, base.day, base.rows * 120)
    pages = as_text(many).split("\f")
    assert len(pages) == 3
    assert all(f"{n}/3 ページ" in page.splitlines()[0] for n, page in enumerate(pages, start=1))
    assert all("請求記号" in page for page in pages)


def test_csv_opens_in_excel_in_utf8_with_bom_or_cp932(night):
    data = as_csv(sheet(night, "holdshelf"))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["取置期限", "利用者番号", "氏名", "書名", "資料番号", "予約番号"]
    assert rows[1][1] == "1002"
    rows = list(csv.reader(io.StringIO(as_csv(sheet(night, "holdshelf"), "cp932").decode("cp932"))))
    assert rows[0][2] == "氏名"


def test_html_is_printable_and_escaped(night):
    page = as_html(sheet(night, "pull", "tokoro"))
    assert "@page { size: A4 portrait" in page and "<thead>" in page
    assert "資料確保リスト" in page and "L1" in page


@pytest.mark.staff_language("en")  # the command's Error lines, in the suite's English
def test_report_command(runner, night, tmp_path):
    result = runner.invoke(cli.main, ["report", "phone", "--branch", "central", "--date", "2026-11-26",
                                      "--format", "csv", "--db", night.url])
    assert result.exit_code == 0, result.output
    assert "0157-00-1234" in result.stdout
    result = runner.invoke(cli.main, ["report", "pull", "--db", night.url])
    assert result.exit_code == 1 and "made per branch: give --branch" in result.stderr
    out = tmp_path / "printed"
    result = runner.invoke(cli.main, ["report", "all", "--date", "2026-11-26", "--output", str(out), "--db", night.url])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "2026-11-26" / "central").iterdir()) == sorted(
        f"{n}.{e}" for n in ("pull", "transit", "holdshelf", "expired", "phone", "problems", "summary")
        for e in ("txt", "csv", "html"))
    assert {p.name for p in (out / "2026-11-26").glob("summary.*")} == {"summary.txt", "summary.csv", "summary.html"}


def test_a_branch_code_from_before_the_import_rule_still_writes_inside_the_days_folder(new_library, tmp_path):
    from ils.reports.write import ReportSettings, write_all

    lib = new_library("kitami")
    for code in ("..", ".", "BM/吉浦", "a b"):  # straight into the database, as an old version could have
        lib.branch(code)
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 03:30"))
    write_all(ctx, DAY, ReportSettings(formats=("csv",)), tmp_path)
    day = tmp_path / "reports" / "2026-11-26"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2026-11-26"]
    assert sorted(p.name for p in day.iterdir() if p.is_dir()) == ["BM_吉浦", "_.", "_..", "a_b"]
    assert {p.name for p in day.glob("*.csv")} == {"summary.csv"}  # "." did not write its lists here


def _report_rows(lib) -> dict:
    """Every report's rows for every branch of the night, the system's summary and the counter's pull list."""
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 09:00"))
    every = sorted(value for (kind, _), value in lib.ids.items() if kind == "branch")
    return {name: rows(ctx, every, DAY) for name, rows in ROWS.items()} | {
        "system summary": lists.night_summary(ctx, None, DAY),
        "counter pull list": lists.branch_pull_list(ctx, night_branch(lib, "tokoro")),
        "holds per copy (library-wide)": titles_over(ctx, 0),
    }


def night_branch(lib, code) -> int:
    return lib.ids[("branch", code)]


def vans(lib):
    """Two copies at 常呂 waiting for the van: one for a hold at 中央, one going home (the night left none)."""
    lib.title("B5")
    lib.hold("1001", "B5", "central", status="in_transit", copy=lib.copy("B5", "tokoro", state="in_transit"))
    lib.copy("B5", "tokoro", state="in_transit")
    return lib


def test_the_reports_query_thread_lets_go_of_a_reports_rows_once_they_are_handed_over():
    # Every report's query is sent at once; a report already formatted must not stay in
    # memory beside the rest (the city's pull list alone is some 18 MB of rows, a prefecture's ten times that).
    class Rows(list):
        pass

    with ThreadPoolExecutor(max_workers=1) as reader:
        turns = _in_turn(reader, [Rows, Rows, Rows])
        first = weakref.ref(next(turns))
        second = next(turns)
        assert first() is None and isinstance(second, Rows)
        assert len(list(turns)) == 1


def test_every_report_reads_its_query_from_sql_and_every_file_there_is_read(night, monkeypatch):
    vans(night)
    loaded, executed = [], []
    read = sqlfiles.statement
    monkeypatch.setattr(sqlfiles, "statement", lambda name: loaded.append(name) or read(name))

    def record(conn, query, *args):
        executed.append(query)

    event.listen(night.conn, "before_execute", record)
    try:
        rows = _report_rows(night)
    finally:
        event.remove(night.conn, "before_execute", record)
    assert set(loaded) == set(sqlfiles.sql_names())  # no file in sql/ that no report reads
    assert executed and all(isinstance(q, (TextClause, TextualSelect)) for q in executed), "a report built its own SQL"
    assert all(rows[name] for name in rows), [name for name in rows if not rows[name]]  # every query found rows
    assert rows["counter pull list"] == [{k: v for k, v in row.items() if k != "branch_id"}
                                         for row in rows["pull"] if row["branch_id"] == night_branch(night, "tokoro")]


def test_the_reports_list_the_same_rows_on_postgresql_as_on_sqlite(new_library, engine_name, tmp_path):
    """The same night in a PostgreSQL database and in an SQLite file: every report lists the same rows."""
    if engine_name != "postgresql":
        pytest.skip("compared in the PostgreSQL pass, against an SQLite file of its own")
    found = {"postgresql": _report_rows(vans(kitami_night(new_library("kitami"))))}
    sqlite = Databases("sqlite", tmp_path)
    lib = Library(sqlite.initialised("kitami"), "kitami")
    try:
        found["sqlite"] = _report_rows(vans(kitami_night(lib)))
    finally:
        lib.close()
    for every in found.values():  # a run's seconds are the machine's, not the library's
        every["system summary"] = [row["what"] for row in every["system summary"]]
    assert found["postgresql"] == found["sqlite"]
