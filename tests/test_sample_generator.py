"""The sample city generator: reproducible, consistent across files, and holding every case the rules need."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from ils import cli
from ils.tools.sample import generator
from ils.tools.sample.generator import COLUMNS, FILE_NAMES, REQUEST_FIELDS, SampleSpec, generate, write_files

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "data" / "sample"
BUSINESS_DAY = "2026-11-25"
SMALL = SampleSpec(seed=7, titles=400, patrons=80, loans=120, holds=100, requests=80)
ACTIVE_LIMIT = 20


# ---------------------------------------------------------------- reading the files


class Files:
    """One generated directory, read back: rows per kind and lookups by key."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.rows = {kind: _read_csv(directory / name) for kind, name in FILE_NAMES.items() if kind != "requests"}
        self.requests = [json.loads(line) for line in _text(directory / "requests.jsonl").splitlines()]
        self.branches = {b["code"]: b for b in self.rows["branches"]}
        self.titles = {t["bib_id"]: t for t in self.rows["titles"]}
        self.copies = {c["barcode"]: c for c in self.rows["copies"]}
        self.patrons = {p["card"]: p for p in self.rows["patrons"]}
        self.loans = {loan["barcode"]: loan for loan in self.rows["loans"]}
        self.holds = self.rows["holds"]
        self.copies_of = defaultdict(list)
        for c in self.rows["copies"]:
            self.copies_of[c["bib_id"]].append(c)

    def kind(self, code: str) -> str:
        return self.branches[code]["kind"]


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(_text(path).splitlines()))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Files:
    out = tmp_path_factory.mktemp("sample")
    write_files(SampleSpec(), out)
    return Files(out)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Files:
    out = tmp_path_factory.mktemp("small")
    write_files(SMALL, out)
    return Files(out)


@pytest.fixture(params=["sample", "small"])
def files(request) -> Files:
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------- reproducible and in sync


def test_the_same_seed_writes_byte_identical_files(tmp_path):
    write_files(SMALL, tmp_path / "a")
    write_files(SMALL, tmp_path / "b")
    for name in FILE_NAMES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_set_of_volumes_cut_short_by_the_end_of_the_catalogue_keeps_the_volume_it_has(tmp_path):
    # The sample at half size ends its catalogue in the middle of a 上・下 set (the bench's
    # growth runs it); the set's one volume is 上.
    write_files(SampleSpec.preset("sample").scaled(0.5), tmp_path)
    labels = defaultdict(list)
    with (tmp_path / FILE_NAMES["titles"]).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["volume_label"] in ("上", "中", "下"):
                labels[row["series_id"]].append(row["volume_label"])
    assert ["上"] in labels.values()


def test_another_seed_writes_another_city(tmp_path):
    write_files(SMALL, tmp_path / "a")
    write_files(SMALL.with_seed(8), tmp_path / "b")
    assert (tmp_path / "a" / "patrons.csv").read_bytes() != (tmp_path / "b" / "patrons.csv").read_bytes()


def test_the_committed_sample_is_what_the_default_preset_generates(sample):
    """Regenerate with `ils sample generate --preset sample --out data/sample`."""
    assert sorted(p.name for p in COMMITTED.iterdir()) == sorted(FILE_NAMES.values())
    for name in FILE_NAMES.values():
        assert (COMMITTED / name).read_bytes() == (sample.dir / name).read_bytes(), f"data/sample/{name} is stale"


def test_reading_the_files_in_another_order_gives_the_same_rows():
    forward = generate(SMALL)
    backward = generate(SMALL)
    late = {kind: list(backward[kind]) for kind in reversed(list(backward))}
    for kind, rows in forward.items():
        assert list(rows) == late[kind], kind


def test_generate_streams_rows_instead_of_building_lists():
    files = generate(SMALL)
    assert list(files) == ["branches", "calendar", "routes", "titles", "copies", "patrons", "loans", "holds",
                           "requests"]
    assert all(isinstance(rows, Iterator) for rows in files.values())


def test_ils_sample_generate_writes_the_files(runner, tmp_path):
    result = runner.invoke(cli.main, ["sample", "generate", "--preset", "sample", "--out", str(tmp_path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert len(_read_csv(tmp_path / "patrons.csv")) == 400
    assert len((tmp_path / "requests.jsonl").read_text(encoding="utf-8").splitlines()) == 300
    assert len(_read_csv(tmp_path / "titles.csv")) == 3000


def test_presets_scale_up_and_unknown_ones_are_refused():
    city, prefecture = SampleSpec.preset("city"), SampleSpec.preset("prefecture")
    assert (city.patrons, city.holds, city.requests, city.branches) == (300_000, 200_000, 20_000, 18)
    assert city.titles * city.copies_per_title == pytest.approx(2_000_000)
    assert (prefecture.patrons, prefecture.holds, prefecture.requests) == (3_000_000, 2_000_000, 200_000)
    assert prefecture.titles * prefecture.copies_per_title == pytest.approx(20_000_000)
    with pytest.raises(ValueError, match="unknown preset"):
        SampleSpec.preset("village")


# ---------------------------------------------------------------- the formats of the docs


def _documented_columns(doc: Path, heading: str) -> list[str]:
    """First column of the table under a heading, as docs/import-formats.md lists them."""
    section = _text(doc).split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        cell = line.split("|")[1].strip() if line.startswith("|") else ""
        if cell and cell not in ("column",) and not set(cell) <= set("-"):
            names += [name.strip().strip("`") for name in cell.split(",")]
    return names


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_csv_headers_are_the_documented_columns(sample, kind):
    header = _text(sample.dir / FILE_NAMES[kind]).split("\n", 1)[0].split(",")
    assert header == list(COLUMNS[kind])
    assert header == _documented_columns(ROOT / "docs" / "import-formats.md", FILE_NAMES[kind])


def test_request_rows_use_only_the_front_end_columns(sample):
    documented = _documented_columns(ROOT / "docs" / "integration.md", "Columns the front end writes")
    assert list(REQUEST_FIELDS) == documented
    for row in sample.requests:
        assert set(row) <= set(REQUEST_FIELDS)
        assert all(value is None or isinstance(value, str) for value in row.values())


def test_files_are_utf8_with_unix_line_endings(sample):
    for name in FILE_NAMES.values():
        raw = (sample.dir / name).read_bytes()
        assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\n")
        raw.decode("utf-8")
    assert "中央図書館" in _text(sample.dir / "branches.csv")
    assert "\\u" not in _text(sample.dir / "requests.jsonl")  # ensure_ascii=False


# ---------------------------------------------------------------- consistency between files


def test_keys_are_unique(files):
    for kind, key in (("branches", "code"), ("titles", "bib_id"), ("copies", "barcode"), ("patrons", "card"),
                      ("loans", "barcode")):
        keys = [row[key] for row in files.rows[kind]]
        assert len(keys) == len(set(keys)), kind
    pairs = [(h["card"], h["bib_id"]) for h in files.holds]
    assert len(pairs) == len(set(pairs)), "a patron holds a title twice"


def test_keys_look_like_a_library_systems(files):
    assert all(re.fullmatch(r"B\d{7}", bib) for bib in files.titles)
    assert all(re.fullmatch(r"1\d{9}", barcode) for barcode in files.copies)
    assert all(re.fullmatch(r"\d{8}", card) for card in files.patrons)


def test_branches_parents_and_stations(files):
    kinds = Counter(b["kind"] for b in files.rows["branches"])
    assert kinds["library"] >= 2 and kinds["room"] >= 1 and kinds["station"] >= 1
    for b in files.rows["branches"]:
        if b["parent"]:
            assert files.kind(b["parent"]) == "library"
        if b["kind"] == "station":
            assert b["code"].startswith("BM-") and b["parent"] == "central"
            assert len(b["closed_weekdays"].split(",")) == 6, "a stop is visited one weekday"


def test_calendar_and_routes_name_known_branches(files):
    for day in files.rows["calendar"]:
        assert day["branch"] in files.branches and day["state"] in ("open", "closed")
        dt.date.fromisoformat(day["date"])
    notes = Counter(day["note"] for day in files.rows["calendar"])
    assert notes["蔵書点検"] >= 9 and any(day["state"] == "open" for day in files.rows["calendar"])
    routes = {(r["from"], r["to"]): int(r["cost"]) for r in files.rows["routes"]}
    holding = [code for code, b in files.branches.items() if b["kind"] != "station"]
    for i, a in enumerate(holding):
        for b in holding[i + 1:]:
            assert 1 <= routes[a, b] <= 3
    for code, branch in files.branches.items():
        if branch["kind"] == "station":
            assert routes[code, "central"] == 1
            assert all(routes[code, other] == routes["central", other] + 1 for other in holding if other != "central")


def test_copies_belong_to_titles_and_branches_not_stations(files):
    for c in files.rows["copies"]:
        assert c["bib_id"] in files.titles
        assert files.kind(c["owning_branch"]) in ("library", "room")
        assert c["location_branch"] == "" or c["location_branch"] in files.branches
    assert set(files.titles) == set(files.copies_of)


def test_patrons_contact_methods_they_can_be_reached_by(files):
    for p in files.rows["patrons"]:
        assert files.kind(p["home_branch"]) in ("library", "room")
        if p["contact_method"] == "email":
            assert p["email"]
        if p["contact_method"] == "phone":
            assert p["phone"]


def test_every_loan_is_a_copy_on_loan_and_every_copy_on_loan_has_a_loan(files):
    on_loan = {c["barcode"] for c in files.rows["copies"] if c["state"] == "on_loan"}
    assert on_loan == set(files.loans)
    for loan in files.rows["loans"]:
        assert loan["card"] in files.patrons
        assert loan["loaned_on"] <= loan["due_on"] and loan["loaned_on"] <= BUSINESS_DAY
        assert loan["branch"] in files.branches


def test_copies_bound_to_holds_are_where_their_status_says(files):
    bound = Counter()
    for h in files.holds:
        assert h["card"] in files.patrons and h["bib_id"] in files.titles and h["pickup"] in files.branches
        assert h["queued_at"] < BUSINESS_DAY + "T00:00:00+09:00"
        if h["status"] in ("waiting", "series_waiting"):
            assert h["barcode"] == "" and h["ready_on"] == ""
            continue
        copy = files.copies[h["barcode"]]
        bound[h["barcode"]] += 1
        assert copy["bib_id"] == h["bib_id"]
        expected = {"allocated": "on_shelf", "in_transit": "in_transit", "ready": "on_hold_shelf"}[h["status"]]
        assert copy["state"] == expected
        if h["status"] == "ready":
            assert copy["location_branch"] == h["pickup"]
            assert h["ready_on"] <= BUSINESS_DAY and h["pickup_deadline"] > h["ready_on"]
        if h["status"] == "in_transit":
            assert copy["owning_branch"] != h["pickup"]
    assert max(bound.values()) == 1, "a copy serves two holds"
    travelling = {c["barcode"] for c in files.rows["copies"] if c["state"] in ("in_transit", "on_hold_shelf")}
    assert travelling == {b for b in bound if files.copies[b]["state"] != "on_shelf"}


def test_no_patron_has_more_than_twenty_active_holds(files):
    assert max(Counter(h["card"] for h in files.holds).values()) <= ACTIVE_LIMIT


def test_series_ordered_holds_serve_volumes_in_order(files):
    groups = defaultdict(list)
    for h in files.holds:
        if h["series_group"]:
            groups[h["series_group"]].append(h)
    assert groups
    for members in groups.values():
        members.sort(key=lambda h: int(h["series_position"]))
        assert [int(h["series_position"]) for h in members] == list(range(1, len(members) + 1))
        assert len({h["card"] for h in members}) == 1
        titles = [files.titles[h["bib_id"]] for h in members]
        assert len({t["series_id"] for t in titles}) == 1
        assert [int(t["volume"]) for t in titles] == sorted(int(t["volume"]) for t in titles)
        assert all(h["status"] == "series_waiting" for h in members[1:])
        assert members[0]["status"] != "series_waiting"


# ---------------------------------------------------------------- the catalogue's cases


def test_titles_cover_every_material_and_handling_category(sample):
    materials = Counter(t["material_type"] for t in sample.rows["titles"])
    assert set(materials) == {"book", "picture_book", "picture_book_large", "kamishibai", "kamishibai_large",
                              "comic", "magazine", "av"}
    assert materials["book"] > len(sample.titles) / 2
    categories = Counter(t["category"] for t in sample.rows["titles"])
    assert categories["normal"] > 0 and categories["reference_only"] > 0 and categories["current_issue"] > 0
    assert 3 <= categories["contest"] <= 15
    reference = [t["title"] for t in sample.rows["titles"] if t["category"] == "reference_only"]
    assert any("辞典" in title for title in reference) and any("年鑑" in title for title in reference)
    ndc = {t["material_type"]: t["ndc"] for t in sample.rows["titles"]}
    assert ndc["comic"] == "726.1" and ndc["picture_book"] == "726.6"
    assert any(t["ndc"] == "913.6" for t in sample.rows["titles"])


def _series(files: Files) -> dict[str, list[dict]]:
    series = defaultdict(list)
    for t in files.rows["titles"]:
        if t["series_id"]:
            series[t["series_id"]].append(t)
    return series


def test_series_of_parts_numbered_volumes_and_comics(sample):
    labels = {tuple(t["volume_label"] for t in volumes) for volumes in _series(sample).values()}
    assert ("上", "中", "下") in labels and ("上", "下") in labels
    assert any(label[:3] == ("第1巻", "第2巻", "第3巻") for label in labels)
    comics = [v for v in _series(sample).values() if v[0]["material_type"] == "comic"]
    assert comics and max(len(v) for v in comics) > 5
    for volumes in _series(sample).values():
        numbers = [int(t["volume"]) for t in volumes]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_magazines_newest_issue_is_the_current_issue_and_one_is_not_catalogued(sample):
    magazines = [v for v in _series(sample).values() if v[0]["material_type"] == "magazine"]
    assert len(magazines) >= 3
    for issues in magazines:
        assert issues[-1]["category"] == "current_issue"
        assert all(t["category"] == "normal" and t["catalogued_on"] for t in issues[:-1])
        assert re.fullmatch(r"\d{4}年\d{1,2}月号", issues[-1]["volume_label"])
    uncatalogued = [t for t in sample.rows["titles"] if not t["catalogued_on"]]
    assert uncatalogued and all(t["category"] == "current_issue" for t in uncatalogued)
    assert all(t["catalogued_on"] <= BUSINESS_DAY for t in sample.rows["titles"] if t["catalogued_on"])


def test_copies_vary_per_title_and_some_are_lost(sample):
    counts = Counter(c["bib_id"] for c in sample.rows["copies"])
    assert 2.2 <= len(sample.copies) / len(sample.titles) <= 2.8
    assert sum(1 for n in counts.values() if n == 1) > len(counts) / 3 and max(counts.values()) >= 8
    states = Counter(c["state"] for c in sample.rows["copies"])
    assert all(states[s] > 0 for s in ("missing", "withdrawn", "long_overdue", "in_transit", "on_hold_shelf"))
    assert all(re.fullmatch(r"[^/]+/[^/]+(/\d+)?", c["shelf_mark"]) or c["shelf_mark"] in ("雑誌",)
               or c["shelf_mark"].startswith("R") for c in sample.rows["copies"])


def test_some_titles_have_only_a_long_overdue_copy(sample):
    lost = [bib for bib, copies in sample.copies_of.items()
            if len(copies) == 1 and copies[0]["state"] == "long_overdue"]
    assert len(lost) >= 3


# ---------------------------------------------------------------- patrons, loans, holds


def test_patrons_of_every_age_and_kind(sample):
    patrons = sample.rows["patrons"]
    births = [dt.date.fromisoformat(p["birth_date"]) for p in patrons]
    day = dt.date.fromisoformat(BUSINESS_DAY)
    ages = [(day - b).days // 365 for b in births]
    assert min(ages) >= 4 and max(ages) <= 90 and sum(age < 12 for age in ages) > 10
    assert {"2014-04-01", "2014-04-02"} <= {p["birth_date"] for p in patrons}  # junior high / grade 6
    assert generator.junior_high_cutoff(day) == dt.date(2014, 4, 1)
    assert Counter(p["status"] for p in patrons).keys() == {"active", "suspended", "expired"}
    assert Counter(p["contact_method"] for p in patrons).keys() == {"email", "phone", "none"}
    assert any(p["web_registered"] == "no" for p in patrons) and any(p["language"] == "en" for p in patrons)
    assert sum(bool(p["phone"]) for p in patrons) > len(patrons) * 0.7
    assert 0.3 < sum(bool(p["email"]) for p in patrons) / len(patrons) < 0.9


def test_patrons_addresses_include_the_ones_the_seeds_warn_about(sample):
    emails = [p["email"] for p in sample.rows["patrons"] if p["email"]]
    assert any(".." in e for e in emails) and any(".@" in e for e in emails)
    assert any(e.endswith(("@yahoo.co.jp", "@hotmail.com")) for e in emails)
    ordinary = [e for e in emails if ".." not in e and ".@" not in e]
    assert sum(e.split("@")[1].endswith(("example.jp", "example.com")) for e in ordinary) > len(ordinary) / 2


def test_loans_overdue_renewed_and_inter_library(sample):
    loans = sample.rows["loans"]
    overdue = [loan for loan in loans if loan["due_on"] < BUSINESS_DAY]
    assert len({loan["card"] for loan in overdue}) >= 30
    assert any(loan["renewals"] == "1" for loan in loans) and any(loan["renewals"] == "1" for loan in overdue)
    assert any(loan["inter_library"] == "yes" for loan in loans)
    assert 600 <= len(loans) <= 700


def test_holds_in_every_status_with_some_deadlines_already_past(sample):
    statuses = Counter(h["status"] for h in sample.holds)
    assert statuses["waiting"] > len(sample.holds) / 2
    assert all(statuses[s] for s in ("series_waiting", "allocated", "in_transit", "ready"))
    deadlines = [h["pickup_deadline"] for h in sample.holds if h["status"] == "ready"]
    assert any(d <= BUSINESS_DAY for d in deadlines) and any(d > BUSINESS_DAY for d in deadlines)
    assert len(Counter(h["channel"] for h in sample.holds)) == 5
    assert any(sample.kind(h["pickup"]) == "station" for h in sample.holds)
    assert max(Counter(h["card"] for h in sample.holds).values()) == ACTIVE_LIMIT


# ---------------------------------------------------------------- the day's requests


def _parsed_time(row: dict) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(row["received_at"])
    except (TypeError, ValueError, KeyError):
        return None


def test_requests_arrive_during_the_business_day(sample):
    times = [t for t in map(_parsed_time, sample.requests) if t is not None and t.tzinfo is not None]
    assert len(times) >= len(sample.requests) - 3
    for t in times:
        assert t.date().isoformat() == BUSINESS_DAY and dt.time(4) <= t.time() <= dt.time(23, 59, 59)
    kinds = Counter(r.get("kind") for r in sample.requests)
    assert kinds["hold"] > len(sample.requests) / 2 and kinds["cancel"] and kinds["renew"] and kinds["email_change"]
    assert {r.get("channel") for r in sample.requests} >= {"web", "mobile", "opac", "paper"}


def test_paper_forms_carry_an_earlier_receipt_time_than_their_neighbours(sample):
    paper = [i for i, r in enumerate(sample.requests) if r.get("channel") == "paper"]
    assert paper
    for i in paper:
        neighbours = [_parsed_time(r) for r in sample.requests[max(0, i - 3): i] if r.get("channel") != "paper"]
        assert all(_parsed_time(sample.requests[i]) <= t for t in neighbours if t and t.tzinfo)


def test_hold_requests_name_a_pickup_and_sometimes_ask_for_a_receipt(sample):
    holds = [r for r in sample.requests if r.get("kind") == "hold" and r.get("card_number") in sample.patrons]
    assert all("pickup_branch" in r for r in holds)
    assert any(r.get("receipt_mail") == "yes" for r in holds)
    assert Counter(r.get("contact_method", "") for r in holds).keys() >= {"", "email", "none"}


def test_series_ordered_hold_requests_list_volumes_in_order(sample):
    groups = defaultdict(list)
    for r in sample.requests:
        if r.get("kind") == "hold" and r.get("series_group") and r.get("series_position", "").isdigit():
            groups[r["series_group"]].append(r)
    assert groups
    for rows in groups.values():
        assert [int(r["series_position"]) for r in rows] == list(range(1, len(rows) + 1))
        titles = [sample.titles[r["target"]] for r in rows]
        assert len({t["series_id"] for t in titles}) == 1
        assert [int(t["volume"]) for t in titles] == sorted(int(t["volume"]) for t in titles)
        assert len({(r["card_number"], r["pickup_branch"], r["received_at"]) for r in rows}) == 1
    held_series = {h["series_group"] for h in sample.holds if h["series_group"]}
    assert not held_series & set(groups)


def test_cancel_requests_name_titles_the_patron_holds_some_already_ready(sample):
    held = {(h["card"], h["bib_id"]): h["status"] for h in sample.holds}
    statuses = Counter()
    for r in sample.requests:
        if r.get("kind") == "cancel" and (r["card_number"], r["target"][4:]) in held:
            assert r["target"].startswith("bib:")
            statuses[held[r["card_number"], r["target"][4:]]] += 1
    assert statuses["waiting"] and statuses["ready"]


def test_renew_requests_cover_every_reason_to_refuse_one(sample):
    held_titles = {h["bib_id"] for h in sample.holds}
    renewals = [r for r in sample.requests if r.get("kind") == "renew" and r.get("target") in sample.loans]
    loans = [sample.loans[r["target"]] for r in renewals]
    assert all(loan["card"] == r["card_number"] for loan, r in zip(loans, renewals, strict=True))
    assert any(loan["due_on"] < BUSINESS_DAY for loan in loans)
    assert any(loan["renewals"] == "1" and loan["due_on"] >= BUSINESS_DAY for loan in loans)
    assert any(loan["inter_library"] == "yes" for loan in loans)
    assert any(sample.copies[loan["barcode"]]["bib_id"] in held_titles for loan in loans)
    assert any(loan["renewals"] == "0" and loan["due_on"] >= BUSINESS_DAY
               and sample.copies[loan["barcode"]]["bib_id"] not in held_titles for loan in loans)


def test_email_changes_good_bad_free_and_blank(sample):
    targets = [r["target"] for r in sample.requests if r.get("kind") == "email_change"]
    assert "" in targets
    assert any(".." in t for t in targets) and any(".@" in t for t in targets)
    assert any(t.endswith(("@yahoo.co.jp", "@hotmail.com", "@gmail.com")) for t in targets)
    assert any(t.endswith("example.jp") and ".." not in t and ".@" not in t for t in targets)


def test_hostile_and_malformed_requests_are_there_to_be_rejected(sample):
    rows = sample.requests
    lines = _text(sample.dir / "requests.jsonl").splitlines()
    refs = Counter(r.get("client_ref") for r in rows)
    duplicated = [ref for ref, n in refs.items() if n > 1]
    assert duplicated and all(ref and ref[0] in "WMOP" and ref[1:].isdigit() for ref in refs)
    assert all(lines.count(line) == 2 for line in lines if json.loads(line).get("client_ref") in duplicated)
    assert any(r.get("card_number") == "99999999" for r in rows)
    assert any(r.get("card_number") is None for r in rows)
    holds = [r for r in rows if r.get("kind") == "hold"]
    assert any(r.get("target") not in sample.titles and str(r.get("target", "")).startswith("B") for r in holds)
    assert any(r.get("pickup_branch") and r["pickup_branch"] not in sample.branches for r in holds)
    assert any("DROP TABLE holds" in str(v) for r in rows for v in r.values())
    assert max(len(str(v)) for r in rows for v in r.values()) == 10_000
    assert any(str(r.get("received_at", "")).startswith("2026-13-45") for r in rows)
    assert any(r.get("target") == "null" or r.get("channel") == "" for r in rows)


def test_requests_are_ordinary_text_the_front_end_could_write(files):
    for row in files.requests:
        assert row.get("kind") in ("hold", "cancel", "renew", "email_change")
        assert all(len(str(v)) <= 10_000 for v in row.values())
    ordinary = [r for r in files.requests if r.get("card_number") in files.patrons]
    assert len(ordinary) > len(files.requests) * 0.8


# ---------------------------------------------------------------- the system takes it


def test_the_sample_imports_into_a_fresh_database(runner, tmp_path):
    from ils import cli

    db = str(tmp_path / "sample.db")
    assert runner.invoke(cli.main, ["init", "--profile", "murakami", "--db", db]).exit_code == 0
    result = runner.invoke(cli.main, ["import", "all", str(COMMITTED), "--db", db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.main, ["request", "import", str(COMMITTED / "requests.jsonl"), "--db", db,
                                      "--now", "2026-11-25T23:59:59+09:00"])
    assert result.exit_code == 0, result.output
