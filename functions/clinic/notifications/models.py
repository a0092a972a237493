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


# `clinic doctor --send-test-lead` posts a lead with this name and this utm_source, and its
# staff email says it is a test. Both must match: a link can set utm_source (the example site
# copies it from the page's address), but only the person filling in the form types the name.
# The test lead is delivered like any other; only its wording differs.
TEST_LEAD_NAME = "Clinic Doctor test lead"
TEST_LEAD_SOURCE = "clinic-doctor"


class LeadSource(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    utm_source: str | None = None


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
    source: LeadSource | None = None
    notified_at: str | None = None
    done_steps: frozenset[str] = frozenset()

    @property
    def is_test(self) -> bool:
        """Sent by `clinic doctor` to check that leads reach staff (see TEST_LEAD_NAME)."""
        return (
            self.name == TEST_LEAD_NAME
            and self.source is not None
            and self.source.utm_source == TEST_LEAD_SOURCE
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredLead:
        done = frozenset(step for step in STEPS if step_attribute(step) in item)
        return cls.model_validate({**item, "done_steps": done})
