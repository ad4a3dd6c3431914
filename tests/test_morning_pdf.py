"""The morning PDF read as the staff read it at 9 a.m.: every page headed, the lists in the order they are worked."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from sqlalchemy import update

from ils import cli
from ils.batch import s10_reports
from ils.infra import schema
from ils.infra.config import Settings
from ils.infra.context import Context
from ils.reports import pdf
from ils.reports.morning import branch_morning
from scenario import at
from test_reports import DAY, kitami_night

pytestmark = pytest.mark.staff_language("ja")  # the morning PDF as a Japanese library prints it

ORDER = ["資料確保リスト", "回送リスト", "取置資料一覧", "取置期限切れ資料(本日)", "電話連絡リスト", "連絡不能リスト"]
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="pdftotext is not installed (Debian: apt-get install poppler-utils)")


@pytest.fixture
def night(new_library):
    """Kitami's night of 11-26 (tests/test_reports.py), the pulled copy with its author and shelf mark."""
    lib = kitami_night(new_library("kitami"))
    with lib.conn.begin():
        lib.conn.execute(update(schema.titles).where(schema.titles.c.bib_id == "B2")
                         .values(author="山田 花子", title="<b>夜&明け</b>\x07の図書館🍣"))
        lib.conn.execute(update(schema.copies).where(schema.copies.c.barcode == "C2").values(shelf_mark="913.6/ヤマ"))
    return lib


def _ctx(lib) -> Context:
    return Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 09:00"))


def _pages(path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


@needs_poppler
def test_every_page_is_headed_with_the_branch_the_date_the_list_and_its_page(night, tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "ROWS_PER_PAGE", 1)  # a list of two rows takes two pages
    path = tmp_path / "morning.pdf"
    path.write_bytes(branch_morning(_ctx(night), "central", DAY))
    pages = _pages(path)
    titles = []
    for number, page in enumerate(pages, start=1):
        heading = [line for line in page.splitlines() if line.strip()][:2]
        assert "central" in heading[0] and "2026年11月26日(木)" in heading[0], heading
        assert re.search(r"\d+/\d+ ページ", heading[0]), heading
        titles.append(heading[1].split()[0])
        assert f"朝の業務リスト {number} / {len(pages)}" in page  # the foot: the whole PDF's pages
    assert list(dict.fromkeys(titles)) == ORDER  # each list once, in the order staff work them
    expired = [page for page, title in zip(pages, titles, strict=True) if title == "取置期限切れ資料(本日)"]
    assert [re.search(r"(\d+/\d+) ページ", page)[1] for page in expired] == ["1/2", "2/2"]
    assert "S3" in expired[0] and "S4" in expired[1] and "資料番号" in expired[1]  # the headers again


@needs_poppler
def test_the_pull_list_on_paper_has_the_shelf_mark_the_shelf_and_the_author(night, tmp_path):
    path = tmp_path / "morning.pdf"
    path.write_bytes(branch_morning(_ctx(night), "central", DAY))
    pull = _pages(path)[0]
    assert re.search(r"請求記号\s+配架場所\s+書名\s+著者\s+資料番号\s+受取館\s+予約番号", pull)
    line = next(line for line in pull.splitlines() if "C2" in line)
    # Markup is text, a control character a space, and the emoji (beyond the fonts'
    # encoding) the 〓 Japanese systems print for a character they cannot.
    assert re.search(r"913\.6/ヤマ\s+一般書架\s+<b>夜&明け</b> の図書館〓\s+山田 花子\s+C2\s+central", line), line
    empty = _pages(path)[1]  # nothing waits for the van at 中央 tonight
    assert "回送リスト" in empty and "(該当なし)" in empty and re.search(r"0\s*件", empty)


def test_a_long_title_is_clipped_to_its_column_with_an_ellipsis():
    title = "とても長い題名の本、あるいは夜明けの図書館で起きたこと 第一巻"
    clipped = pdf.fit(title, 60)
    assert clipped.endswith("…") and title.startswith(clipped[:-1]) and len(clipped) < len(title)
    assert pdf.fit("短い", 60) == "短い"


@pytest.mark.skipif(shutil.which("pdftoppm") is None,
                    reason="pdftoppm is not installed (Debian: apt-get install poppler-utils)")
def test_the_japanese_is_drawn_when_the_page_is_rendered(night, tmp_path):
    """poppler draws the CID fonts' glyphs from a Japanese font of the system; without one it draws nothing."""
    japanese = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True).stdout if shutil.which(
        "fc-list") else ""
    if not japanese.strip():
        pytest.skip("no Japanese font for poppler to draw with (Debian: apt-get install fonts-ipafont-gothic "
                    "fonts-ipafont-mincho)")
    from PIL import Image

    path = tmp_path / "morning.pdf"
    path.write_bytes(branch_morning(_ctx(night), "central", DAY))
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True)
    [png] = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    width, height = image.size
    assert abs(height / width - 297 / 210) < 0.01  # A4, portrait
    # The list's title, 資料確保リスト in 14 points, is all the top left of the page holds:
    # its ink is Japanese drawn.
    title = image.crop((0, int(height * 0.05), width // 3, int(height * 0.09)))
    assert sum(title.histogram()[:128]) > 50  # dark pixels


def test_the_same_lists_make_the_same_file(night):
    """A resumed night writes the PDF again; the bytes do not change."""
    assert branch_morning(_ctx(night), "central", DAY) == branch_morning(_ctx(night), "central", DAY)


def test_the_night_writes_each_branchs_pdf_when_the_library_asks_for_it(night, tmp_path):
    def night_reports(folder, **reports):
        settings = Settings(path=folder / "ils.toml", reports={"formats": ["csv"], **reports})
        return s10_reports.run(Context(conn=night.conn, policy=night.policy, now=at("2026-11-26 03:30"),
                                       settings=settings))

    counts = night_reports(tmp_path, morning_pdf=True)
    day = tmp_path / "reports" / "2026-11-26"
    assert sorted(p.parent.name for p in day.glob("*/morning.pdf")) == ["central", "tokoro"]
    assert (day / "central" / "morning.pdf").read_bytes().startswith(b"%PDF-")
    assert counts == {"files": 7 * 2 + 1 + 2}  # seven CSVs a branch, the system's summary, two PDFs
    (tmp_path / "default").mkdir()
    night_reports(tmp_path / "default")
    assert not list((tmp_path / "default").rglob("*.pdf"))  # seconds for a city: only when morning_pdf = true


@pytest.mark.staff_language("en")  # the command's Error lines, in the suite's English
def test_report_morning_command(runner, night, tmp_path):
    out = tmp_path / "central.pdf"
    result = runner.invoke(cli.main, ["report", "morning", "--branch", "central", "--date", "2026-11-26",
                                      "--output", str(out), "--db", night.url])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")
    result = runner.invoke(cli.main, ["report", "morning", "--date", "2026-11-26", "--db", night.url])
    assert result.exit_code == 1 and "made per branch: give --branch" in result.stderr
    result = runner.invoke(cli.main, ["report", "morning", "--branch", "nowhere", "--db", night.url])
    assert result.exit_code == 1 and "no branch with code 'nowhere'" in result.stderr


def test_every_printed_page_of_an_html_report_is_headed(night):
    """The heading is the first row of the table's <thead>, which browsers repeat on each printed page."""
    from ils.reports.formats import as_html
    from ils.reports.write import make_sheet

    page = as_html(make_sheet(_ctx(night), "holdshelf", "central", DAY))
    thead = page[page.index("<thead>"): page.index("</thead>")]
    assert re.search(r'class="page-heading".*central.*取置資料一覧.*2026年11月26日\(木\)', thead)
    assert 'counter(page) "/" counter(pages) " ページ"' in page  # n/m where the browser draws margin boxes


CHROMIUM = next(filter(None, map(shutil.which, ("chromium-headless-shell", "chromium", "google-chrome"))), None)


@needs_poppler
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium to print with (Debian: apt-get install chromium-headless-shell)")
def test_chromium_prints_the_heading_and_page_n_of_m_on_every_page_of_a_long_html_report(tmp_path):
    import datetime as dt

    from ils.reports import report
    from ils.reports.formats import Sheet, as_html

    rows = [{"shelf_mark": f"913.6/ヤマ/{n}", "barcode": f"10{n:04}", "title": f"夜明けの図書館 第{n}巻",
             "pickup": "常呂", "hold": n} for n in range(1, 121)]
    html = tmp_path / "pull.html"
    html.write_text(as_html(Sheet(report("pull"), "北見市立図書館", "中央図書館", dt.date(2026, 11, 26), rows)),
                    encoding="utf-8")
    printed = tmp_path / "pull.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={printed}", html.as_uri()], capture_output=True, check=True, timeout=120)
    pages = _pages(printed)
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert f"{number}/{len(pages)} ページ" in page
        assert re.search(r"北見市立図書館 中央図書館\s+資料確保リスト\s+2026年11月26日\(木\)", page), page[:300]
        assert re.search(r"請求記号\s+資料番号\s+書名", page)  # the columns' headers too
