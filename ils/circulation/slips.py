"""The transit slip (回送票): the one line a copy travels with, written once in templates_reports/transit_slip.txt.j2."""

from __future__ import annotations

from collections.abc import Iterable
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


def transit_slips(copies: Iterable[tuple[str, int | None, str, str]]) -> list[str]:
    """transit_slip for many copies at once, (to, hold, barcode, title) each: the night's 回送リスト.

    render() builds a new template context for every line, which cost the night more than
    the lines themselves (10k of them). The lines share one context: each line's four names
    replace the last line's before it is rendered, so no line sees another's values.
    """
    template = _template()
    context = template.new_context()
    names = context.vars
    lines = []
    try:
        for to, hold, barcode, title in copies:
            names.update(to=to, hold=hold, barcode=barcode, title=title)
            lines.append(template.environment.concat(template.root_render_func(context)))
    except Exception:
        template.environment.handle_exception()  # the template's own line in the traceback, as render() gives it
    return lines
