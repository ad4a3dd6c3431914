"""The words printed on the branch reports, read from templates_reports/reports.toml."""

from __future__ import annotations

import tomllib

from ils.infra.resources import report_templates_path

WORDS: dict = tomllib.loads(report_templates_path("reports.toml").read_text(encoding="utf-8"))
