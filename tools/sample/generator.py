"""The sample library system: 川霧市立図書館 and one business day of requests, generated from a seed at any size.

`generate(spec)` gives, kind by kind (branches, calendar, routes, titles, copies, patrons,
loans, holds, requests), an iterator of row dicts in the columns of docs/import-formats.md
and docs/integration.md; `write_files(spec, out_dir)` writes them as the import files
(`branches.csv` ... `holds.csv`, `requests.jsonl`). `ils sample generate
--preset sample --out data/sample` regenerates the committed sample.

Presets (`SampleSpec.preset(name)`):
- `sample`: 9 branches (5 libraries, 4 rooms) and a bookmobile with 5 stations, 3,000
  titles (~7,500 copies), 400 patrons, 700 open loans, 500 active holds, 300 requests.
- `city`: a designated city: 18 branches, 10 stations, 800,000 titles (~2,000,000
  copies), 300,000 patrons, 400,000 loans, 200,000 holds, 20,000 requests.
- `prefecture`: a prefecture-wide network: 60 branches (the city's 18 and 42 town
  libraries), 30 stations, 8,000,000 titles (~20,000,000 copies), 3,000,000 patrons,
  4,000,000 loans, 2,000,000 holds, 200,000 requests.

How it stays small and reproducible: every random draw comes from `random.Random`
streams seeded with "<seed>:<stream>" strings (never hash() or set order) or from a
splitmix64 hash of (seed, work); what one file needs from another (a copy's state, a
loan's patron) is planned first into compact arrays (one byte per copy, a few per loan
and hold), and rows are made one at a time as the files are written. Each request case
(every refusal reason, every hostile row) comes once before the weights take over, so
even a small day has them all. Measured: the city preset writes in about 30 s at 75 MB
peak; the prefecture preset in about 5 minutes at 550 MB.

Choices the import docs leave open: open loans are 700 / 400,000 / 4,000,000; loans run
14 days (a renewal 14 days from the renewal day) and the pickup deadline is ready_on + 7;
waiting holds sit mostly on titles with no copy on the shelf (earlier nights allocated
the rest); all stations belong to central's bookmobile and each is visited one weekday;
routes list every pair (a station costs its route to central plus one); 緑地分室 is not a
pickup branch (pickup=no); an inter-library loan is an ordinary copy whose loan is
flagged; a cancel request names its hold as "bib:<bib_id>"; the newest magazine issue is
next month's (on sale before the month starts); patrons' phone numbers use unassigned
exchanges (0299-0x, 0x0-0xxx).

Where each part lives, in the order the files need them:
- `spec.py`: `SampleSpec` and `PRESETS`; `draws.py`: seeded streams and `Dice`;
  `formats.py`: file names, columns, ids, days and instants; `compact.py`: the plan's columns.
- `town.py`: branches, calendar, routes; `catalogue.py`: genres, works, copies per branch;
  `titles.py`: each work's text, shelf marks, titles.csv and copies.csv.
- `patrons.py`: patrons; `circulation.py`: copy states, loans.csv and holds.csv, planned by
  `lending.py` and `hold_planner.py`; `request_day.py`: requests.jsonl.
- `plan.py`: what the files share, built once; `files.py`: `generate`, `write_files` (the command is `ils sample generate`).
This module is the entry point and keeps the public names in one place.
"""

from __future__ import annotations

from ils.tools.sample.files import generate, write_files
from ils.tools.sample.formats import COLUMNS, FILE_NAMES, JST, REQUEST_FIELDS
from ils.tools.sample.patrons import junior_high_cutoff
from ils.tools.sample.plan import Plan
from ils.tools.sample.spec import BUSINESS_DAY, DEFAULT_SEED, PRESETS, SampleSpec
from ils.tools.sample.titles import WorkText, describe_work

__all__ = [
    "BUSINESS_DAY", "COLUMNS", "DEFAULT_SEED", "FILE_NAMES", "JST", "PRESETS", "REQUEST_FIELDS", "Plan",
    "SampleSpec", "WorkText", "describe_work", "generate", "junior_high_cutoff", "write_files",
]
