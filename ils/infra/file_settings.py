"""The [files] section of ils.toml as pydantic reads it: loaded only when an ils.toml has one (ils.infra.files)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FileSettings(BaseModel):
    """ils.toml [files]: the group that may read the files (staff who print reports), if any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str | None = None
