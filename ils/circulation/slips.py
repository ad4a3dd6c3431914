"""The transit slip (回送票): the one line a copy travels with, written once in templates_reports/transit_slip.txt.j2."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from ils.infra.resources import report_templates_path


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(report_templates_path())),
                             undefined=jinja2.StrictUndefined, autoescape=False)
    return env.get_template("transit_slip.txt.j2")


def transit_slip(to: str, hold: int | None, barcode: str, title: str) -> str:
    """`to` 行き / 予約 `hold` (or 返却, going home) / `barcode` `title`."""
    return _template().render(to=to, hold=hold, barcode=barcode, title=title)
