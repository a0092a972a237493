"""The staff API's shapes: what the inbox lists, shows and accepts, and the audit events."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from clinic.common.contacts import e164_phone, normal_email
from clinic.leads.record import (
    TRANSITIONS,
    ContactChannel,
    LeadSource,
    LeadStatus,
    Note,
    PreferredTime,
    StatusChange,
    StoredLead,
)

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
NOTE_MAX_LENGTH = 2000
ASSIGNEE_MAX_LENGTH = 128

_CALENDAR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _calendar(value: Any) -> Any:
    # Pydantic also reads a number ("0.5") as seconds since 1970: the API takes dates and RFC 3339 times only.
    if isinstance(value, str) and not _CALENDAR_DATE.match(value):
        raise ValueError("Use a date (YYYY-MM-DD) or an RFC 3339 time.")
    return value


Moment = Annotated[date | AwareDatetime, BeforeValidator(_calendar)]


def range_start(moment: Moment | None) -> datetime | None:
    """`since`: a date means from the start of that day (UTC)."""
    if moment is None or isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time.min, UTC)


def range_end(moment: Moment | None) -> datetime | None:
    """`until` (exclusive): a date means to the end of that day (UTC); the last day there is, no end."""
    if moment is None or isinstance(moment, datetime):
        return moment
    if moment == date.max:
        return None
    return datetime.combine(moment + timedelta(days=1), time.min, UTC)


def _listed(status: LeadStatus) -> LeadStatus:
    if status is LeadStatus.ERASED:
        raise ValueError("An erased lead keeps nothing to list or export (its audit trail stays).")
    return status


# What the list and the export filter by: every status a lead with its details can have.
ListedStatus = Annotated[
    LeadStatus,
    AfterValidator(_listed),
    WithJsonSchema({"type": "string", "enum": [status.value for status in LeadStatus if status != "erased"]}),
]


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Moment | None = Field(
        default=None, description="From this date (UTC day) or RFC 3339 time, inclusive."
    )
    until: Moment | None = Field(
        default=None, description="To this date (UTC day, inclusive) or RFC 3339 time (exclusive)."
    )
    status: ListedStatus | None = Field(
        default=None,
        description="Only leads in this status (default: every status but quarantined and erased).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        start, end = range_start(self.since), range_end(self.until)
        if start is not None and end is not None and start >= end:
            raise ValueError("until must be after since.")
        return self


class LeadQuery(_Range):
    """GET /staff/leads."""

    limit: int = Field(default=25, ge=1, le=100, description="Leads per page (1..100).")
    cursor: str | None = Field(
        default=None, pattern=ULID_PATTERN, description="Opaque: next_cursor of the previous page."
    )


class ExportQuery(_Range):
    """GET /staff/exports/leads.csv."""


class LeadSummary(BaseModel):
    """What a first call-back needs, in the list."""

    id: str
    reference: str | None = Field(
        description="The short code staff read out on the phone (older leads: null)."
    )
    created_at: datetime
    status: LeadStatus
    name: str
    preferred_contact: ContactChannel | None
    preferred_time: PreferredTime
    quarantine_reason: str | None = Field(
        default=None, description="Why intake quarantined it (a spam test), if it did."
    )
    repeat_of: str | None = Field(
        default=None,
        description="The id of an earlier request with the same email or phone, within 7 days.",
    )

    @classmethod
    def of(cls, lead: StoredLead) -> LeadSummary:
        return cls(
            id=lead.id,
            reference=lead.reference,
            created_at=lead.created_at,
            status=lead.status,
            name=lead.name,
            preferred_contact=lead.preferred_contact,
            preferred_time=lead.preferred_time,
            quarantine_reason=lead.quarantine_reason,
            repeat_of=lead.repeat_of,
        )


class LeadPage(BaseModel):
    items: list[LeadSummary]
    next_cursor: str | None


class ConsentView(BaseModel):
    version: str
    given_at: datetime


class NotificationView(BaseModel):
    """How far telling staff has come: the state, when each step was sent, when it was done."""

    state: Literal["pending", "claimed", "notified"]
    steps: dict[str, datetime] = Field(description="When each step (staff_email, topic, …) was sent.")
    notified_at: datetime | None


class LeadDetail(LeadSummary):
    """One lead in full; its `version` is the ETag a change must send back as If-Match."""

    email: str | None
    phone: str | None
    concerns: list[str]
    message: str | None
    consent: ConsentView | None
    source: LeadSource | None
    notification: NotificationView
    history: list[StatusChange]
    notes: list[Note]
    assignee: str | None
    version: int
    next_statuses: list[LeadStatus] = Field(description="The statuses a change may move it to now.")

    @classmethod
    def of(cls, lead: StoredLead) -> LeadDetail:
        consent = lead.consent
        return cls(
            **LeadSummary.of(lead).model_dump(),
            email=lead.email,
            phone=lead.phone,
            concerns=list(lead.concerns),
            message=lead.message,
            consent=ConsentView(version=consent.version, given_at=consent.given_at) if consent else None,
            source=lead.source,
            notification=NotificationView(
                state=lead.notification_state.value, steps=dict(lead.steps_sent), notified_at=lead.notified_at
            ),
            history=list(lead.history),
            notes=list(lead.notes),
            assignee=lead.assignee,
            version=lead.version,
            next_statuses=sorted(TRANSITIONS[lead.status]),
        )


class LeadChange(BaseModel):
    """PATCH /staff/leads/{id}: any of a new status, a note to add, an assignee (null: none)."""

    model_config = ConfigDict(extra="forbid")

    status: LeadStatus | None = None
    note: Annotated[StrictStr, Field(min_length=1, max_length=NOTE_MAX_LENGTH)] | None = None
    assignee: Annotated[StrictStr, Field(min_length=1, max_length=ASSIGNEE_MAX_LENGTH)] | None = None

    @field_validator("note", "assignee")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("Enter some text.")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> LeadChange:
        if not self.model_fields_set:
            raise ValueError("Send a status, a note or an assignee.")
        return self


class ErasureRequest(BaseModel):
    """POST /staff/erasures: the person's email address, phone number, or both."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[StrictStr, Field(max_length=254)] | None = None
    phone: Annotated[StrictStr, Field(max_length=32)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        # The form the intake stored (its own validation): the hashes are of that form.
        if value is None:
            return None
        try:
            return normal_email(value)
        except ValueError:
            raise ValueError("Enter a valid email address.") from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return e164_phone(value, (info.context or {}).get("default_phone_region", "US"))
        except ValueError:
            raise ValueError("Enter a valid phone number, including the area code.") from None

    @model_validator(mode="after")
    def _someone(self) -> ErasureRequest:
        if self.email is None and self.phone is None:
            raise ValueError("Give the person's email address or phone number.")
        return self


class ErasureResult(BaseModel):
    erased: int = Field(description="How many leads of that person were erased.")


class Actor(BaseModel):
    sub: str
    username: str


AuditAction = Literal[
    "lead.viewed", "lead.updated", "lead.erased", "leads.exported", "person.erased", "lead.released"
]


class AuditEvent(BaseModel):
    """Who did what to which lead, when, and how it ended; never a patient's data."""

    at: datetime
    actor: Actor
    action: AuditAction
    lead_id: str | None
    outcome: str = Field(description="success, or the error code the action ended with (forbidden, …).")
    request_id: str


class AuditTrail(BaseModel):
    items: list[AuditEvent]
