"""One [section] of ils.toml checked against its pydantic model: the way every section (mail, reports, files) is read."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from ils.errors import ConfigError
from ils.infra.i18n import _


def section_settings(model: type[BaseModel], raw: dict | None, section: str):
    """One [section] of ils.toml validated by its pydantic model; a bad key becomes a
    ConfigError naming it (`mail.port: ...`)."""
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{section}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(_("invalid [{section}] settings: {problems}").format(section=section, problems=problems)) from None
