"""One [section] of ils.toml checked against its pydantic model: the way every section (mail, reports, files) is read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ils.errors import ConfigError
from ils.infra.i18n import _

if TYPE_CHECKING:
    from pydantic import BaseModel


def section_settings(model: type[BaseModel], raw: dict | None, section: str):
    """One [section] of ils.toml validated by its pydantic model; a bad key becomes a
    ConfigError naming it (`mail.port: ...`)."""
    from pydantic import ValidationError  # loaded by the commands that read a section only

    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{section}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(_("invalid [{section}] settings: {problems}").format(section=section, problems=problems)) from None
