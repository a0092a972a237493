"""A lead as the notifier reads it, and the steps of notifying staff about it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DetailLevel = Literal["minimal", "contact", "full"]

# The steps, in order; each is marked on the lead when done, so a retry skips it.
STAFF_EMAIL = "staff_email"
TOPIC = "topic"
CONFIRMATION = "confirmation"
STEPS = (STAFF_EMAIL, TOPIC, CONFIRMATION)


def step_attribute(step: str) -> str:
    return f"notification_{step}_at"


class StoredLead(BaseModel):
    """The fields of a lead item the notifier uses; everything else is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    created_at: datetime
    name: str
    email: str | None = None
    phone: str | None = None
    preferred_contact: Literal["email", "phone", "text"]
    preferred_time: Literal["morning", "afternoon", "evening", "any"] = "any"
    concerns: list[str] = Field(default_factory=list)
    message: str | None = None
    notified_at: str | None = None
    done_steps: frozenset[str] = frozenset()

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredLead:
        done = frozenset(step for step in STEPS if step_attribute(step) in item)
        return cls.model_validate({**item, "done_steps": done})
