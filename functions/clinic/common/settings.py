"""Settings read once from the environment, validated at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

SettingsT = TypeVar("SettingsT", bound="EnvironmentSettings")


class EnvironmentSettings(BaseModel):
    """Base for a function's settings: each field is read from the upper-cased env variable."""

    model_config = ConfigDict(alias_generator=str.upper, frozen=True, extra="ignore")

    @classmethod
    def from_environment(cls: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
        """Validate the settings; a missing or malformed variable fails loudly here."""
        return cls.model_validate(dict(os.environ if environ is None else environ))
