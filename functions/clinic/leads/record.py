"""A lead as the leads table holds it: its key, attribute names, index, time format and states,
and the mapping between the record and the item's attribute values, both ways (the stores turn
those into DynamoDB's typed attributes and back with boto3's TypeSerializer/TypeDeserializer).

Consultations writes leads through this module and notifications reads and marks them
through it (the staff inbox too), so the features cannot drift apart. template.yaml's
LeadsTable names the same key, index and TTL attribute; a test holds the two together.

States. `status` is the lead's place in the clinic's work: "new" when stored, then what staff
make of it in the inbox (TRANSITIONS); "erased" when an administrator erased the patient's
fields (ERASED_ATTRIBUTES), which is final. Every change by staff adds one to `version` (the
inbox's optimistic concurrency) and, for a status, an entry to `history`. Notification is a
separate progression, kept in its own attributes so that it never touches what the patient
sent:

- PENDING: `notify_state` = "pending", which puts the lead in the sparse PendingNotification
  index (keyed by `notify_state` and `created_at`) that the sweeper queries;
- CLAIMED: a delivery holds `notification_claimed_until` (a lease, epoch seconds) and marks
  each step it sends as `notification_<step>_at`;
- NOTIFIED: `notified_at` is set, and `notify_state` and the claim are removed, so the lead
  leaves the index.

A quarantined lead (status "quarantined", with its `quarantine_reason`) is stored without
`notify_state`: it is not pending, and the notifier refuses to claim it. Releasing it (status
"new" and `notify_state` "pending") puts it in the index, where the sweeper finds it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

KEY = "id"
CREATED_AT = "created_at"
STATUS = "status"
VERSION = "version"
HISTORY = "history"
NOTES = "notes"
ASSIGNEE = "assignee"
EMAIL_HASH = "email_hash"
PHONE_HASH = "phone_hash"
INBOX_INDEX = "Inbox"  # keyed by status and id: one status's leads, newest first
EXPIRES_AT = "expires_at"  # the table's TTL attribute
NOTIFY_STATE = "notify_state"
NOTIFY_PENDING = "pending"
# A lead staff released from quarantine: no stream delivery is coming for it (its insert was
# passed over), so the sweeper takes it on its next run, whatever its age. Its own value of
# notify_state keeps it in the PendingNotification index, in a partition of its own.
NOTIFY_RELEASED = "released"
QUARANTINE_REASON = "quarantine_reason"  # why intake held the lead back (a spam test's name)
REPEAT_OF = "repeat_of"  # the id of an earlier lead with the same email or phone (REPEAT_WINDOW_DAYS)
REPEAT_WINDOW_DAYS = 7
PENDING_INDEX = "PendingNotification"
CLAIMED_UNTIL = "notification_claimed_until"
NOTIFIED_AT = "notified_at"
_MARK = re.compile(r"^notification_(?P<step>[a-z][a-z0-9_]*)_at$")

REFERENCE = "reference"  # the short code staff and the patient read out (the staff inbox reads it too)

# A reference: 8 characters of Crockford's base32 (no I, L, O or U, so nothing reads as
# another character or spells a word), shown as two groups of four, e.g. K7M4-QX2P. 40 random
# bits: at a clinic's volume two leads sharing one are unlikely, and `clinic lead show` lists
# every lead under a reference, so even that is seen rather than hidden.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE = re.compile(rf"^[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$")
# What a person may type or hear instead (Crockford's decoding rules).
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

ContactChannel = Literal["email", "phone", "text"]
PreferredTime = Literal["morning", "afternoon", "evening", "any"]

# `clinic doctor --send-test-lead` posts a lead with this name and this utm_source, and its
# staff email says it is a test. Both must match: a link can set utm_source (the example site
# copies it from the page's address), but only the person filling in the form types the name.
# The test lead is delivered like any other; only its wording differs.
TEST_LEAD_NAME = "Clinic Doctor test lead"
TEST_LEAD_SOURCE = "clinic-doctor"


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    NOT_A_FIT = "not_a_fit"
    NO_RESPONSE = "no_response"
    SPAM = "spam"
    QUARANTINED = "quarantined"
    ERASED = "erased"


class QuarantineReason(StrEnum):
    """Why a valid request was quarantined (stored, answered as a success, not notified): the
    spam test it failed. The first that applies, in this order."""

    HONEYPOT = "honeypot"  # the field hidden from people was filled in
    PROOF_OF_WORK_MISSING = "proof_of_work_missing"  # no `altcha` (a script; a form without JavaScript)
    PROOF_OF_WORK_INVALID = "proof_of_work_invalid"  # not a solution to a challenge this API signed
    PROOF_OF_WORK_EXPIRED = "proof_of_work_expired"  # the challenge's expiry had passed
    PROOF_OF_WORK_REPLAYED = "proof_of_work_replayed"  # a solution already used by another request


OPEN_STATUSES = frozenset({LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.SCHEDULED})
CLOSED_STATUSES = frozenset(
    {LeadStatus.COMPLETED, LeadStatus.NOT_A_FIT, LeadStatus.NO_RESPONSE, LeadStatus.SPAM}
)
# The statuses the inbox lists when asked for none: quarantined leads have a view of their
# own, and an erased lead has nothing left to show.
INBOX_STATUSES = (*sorted(OPEN_STATUSES), *sorted(CLOSED_STATUSES))

# Where staff may move a lead from each status: new -> contacted -> scheduled -> completed;
# not a fit, no response or spam from any open status; a closed lead reopened as contacted.
# A quarantined lead may be marked spam (its release to new notifies staff: not a plain
# change). Erasure is its own action, from any status, and final.
TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    LeadStatus.NEW: frozenset({LeadStatus.CONTACTED}),
    LeadStatus.CONTACTED: frozenset({LeadStatus.SCHEDULED}),
    LeadStatus.SCHEDULED: frozenset({LeadStatus.COMPLETED}),
    **{status: frozenset({LeadStatus.CONTACTED}) for status in CLOSED_STATUSES},
    LeadStatus.QUARANTINED: frozenset({LeadStatus.SPAM}),
    LeadStatus.ERASED: frozenset(),
}
for _open in OPEN_STATUSES:
    TRANSITIONS[_open] |= {LeadStatus.NOT_A_FIT, LeadStatus.NO_RESPONSE, LeadStatus.SPAM}


def can_move(current: LeadStatus, to: LeadStatus) -> bool:
    return to in TRANSITIONS[current]


# What erasure removes: everything the patient sent or that could single them out (staff
# notes are about the patient). Kept: the id, times, status, history, consent, reference,
# assignee and the notification marks, so the clinic can still account for the lead.
ERASED_ATTRIBUTES = (
    "name",
    "email",
    "phone",
    "preferred_contact",
    "preferred_time",
    "concerns",
    "message",
    "source",
    "client_hash",
    EMAIL_HASH,
    PHONE_HASH,
    NOTES,
    REPEAT_OF,  # the link says two requests came from one person
)


def contact_hash(key: bytes, kind: Literal["email", "phone"], value: str) -> str:
    """A keyed hash (HMAC-SHA256 under the client-hash key) of a normalized email address
    (lower case) or E.164 phone number: erasure by person finds a patient's leads by it,
    never by their plaintext."""
    normalized = value.strip().lower() if kind == "email" else value.strip()
    return hmac.new(key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


class NotificationState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    NOTIFIED = "notified"


def mark_attribute(step: str) -> str:
    """The attribute that records when a notification step was sent."""
    return f"notification_{step}_at"


def format_time(moment: datetime | float) -> str:
    """The table's one time format (an aware datetime, or epoch seconds): UTC to the
    millisecond with a Z, as in 2026-11-27T18:05:00.000Z. Its strings sort as the times do,
    which the sweeper's `created_at < :before` query on the index relies on."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.utcoffset() is None:
        raise ValueError("a stored time needs a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """A time as the table stores it (format_time's format), as an aware datetime in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _as_stored(moment: datetime) -> datetime:
    # What the table keeps of a time: UTC, to the millisecond.
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


StoredTime = Annotated[AwareDatetime, AfterValidator(_as_stored)]


def new_reference() -> str:
    """A fresh random reference, such as K7M4-QX2P."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def read_reference(text: str) -> str:
    """A reference as a person typed it (any case, with or without the hyphen or spaces, O for 0,
    I or L for 1), as it is stored; raises ValueError for anything that cannot be one."""
    code = re.sub(r"[\s-]", "", text).upper().translate(_READ_AS)
    reference = f"{code[:4]}-{code[4:]}"
    if len(code) != 8 or not _REFERENCE.match(reference):
        raise ValueError("a reference is 8 letters and digits, such as K7M4-QX2P")
    return reference


def key(lead_id: str) -> dict[str, AttributeValueTypeDef]:
    """The lead's key in the leads table."""
    return {KEY: {"S": lead_id}}


class Consent(BaseModel):
    """Which consent text the patient agreed to, and when."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: str
    given_at: StoredTime


class StatusChange(BaseModel):
    """One step in the lead's history: the status it moved to, when, and by whom (a username)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: LeadStatus
    at: StoredTime
    by: str


class Note(BaseModel):
    """A staff member's note on the lead."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    text: str
    at: StoredTime
    by: str


class LeadSource(BaseModel):
    """Where the request came from: the page, the referrer and UTM tags."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    page: str | None = None
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None


class StoredLead(BaseModel):
    """A lead: what the patient sent (validated when received), what the service added, and
    how far notifying staff has come. Reading an item ignores attributes it does not know, and
    only what every lead has is required, so a damaged item fails here rather than later."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    created_at: StoredTime
    reference: str | None = Field(default=None, pattern=_REFERENCE.pattern)  # None: stored before references
    status: LeadStatus = LeadStatus.NEW
    quarantine_reason: QuarantineReason | None = None  # why it was quarantined (kept after a release)
    name: str
    email: str | None = None
    phone: str | None = None  # E.164
    preferred_contact: ContactChannel | None = None  # None: the patient did not choose (absent in the item)
    preferred_time: PreferredTime = "any"
    concerns: list[str] = Field(default_factory=list)
    message: str | None = None
    source: LeadSource | None = None
    consent: Consent | None = None
    client_hash: str | None = None  # a keyed hash of the client's address, never the address
    email_hash: str | None = None  # contact_hash of the email, for erasure by person
    phone_hash: str | None = None  # contact_hash of the phone number
    repeat_of: str | None = None  # an earlier lead of the same email or phone, within 7 days
    history: list[StatusChange] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    assignee: str | None = None
    version: int = 0  # changes by staff so far: the inbox's ETag
    expires_at: int | None = None  # epoch seconds, when DynamoDB's TTL deletes the lead
    claimed_until: int | None = None  # epoch seconds: a delivery's lease
    steps_sent: dict[str, StoredTime] = Field(default_factory=dict)  # step -> when it was sent
    notified_at: StoredTime | None = None

    @property
    def done_steps(self) -> frozenset[str]:
        return frozenset(self.steps_sent)

    @property
    def is_test(self) -> bool:
        """Sent by `clinic doctor` to check that leads reach staff (see TEST_LEAD_NAME)."""
        return (
            self.name == TEST_LEAD_NAME
            and self.source is not None
            and self.source.utm_source == TEST_LEAD_SOURCE
        )

    @property
    def is_pending_notification(self) -> bool:
        """Staff are to be told of it: not told yet, and not held in quarantine."""
        return self.notified_at is None and self.status is not LeadStatus.QUARANTINED

    @property
    def notification_state(self) -> NotificationState:
        if self.notified_at is not None:
            return NotificationState.NOTIFIED
        if self.claimed_until is not None:  # held, or a lease that ran out and was never given back
            return NotificationState.CLAIMED
        return NotificationState.PENDING

    def to_item(self) -> dict[str, Any]:
        """The item's attribute values; attributes without a value are left out."""
        consent, source = self.consent, self.source
        values: dict[str, Any] = {
            KEY: self.id,
            CREATED_AT: format_time(self.created_at),
            REFERENCE: self.reference,
            "status": self.status.value,
            QUARANTINE_REASON: self.quarantine_reason.value if self.quarantine_reason else None,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "preferred_contact": self.preferred_contact,
            "preferred_time": self.preferred_time,
            "concerns": list(self.concerns),
            "message": self.message,
            "source": (source.model_dump(exclude_none=True) or None) if source else None,
            "consent": {"version": consent.version, "given_at": format_time(consent.given_at)}
            if consent
            else None,
            "client_hash": self.client_hash,
            EMAIL_HASH: self.email_hash,
            PHONE_HASH: self.phone_hash,
            REPEAT_OF: self.repeat_of,
            HISTORY: [stored_entry(change) for change in self.history] or None,
            NOTES: [stored_entry(note) for note in self.notes] or None,
            ASSIGNEE: self.assignee,
            VERSION: self.version or None,
            EXPIRES_AT: self.expires_at,
            # A quarantined lead waits for staff, not for the sweeper: out of the pending index.
            NOTIFY_STATE: NOTIFY_PENDING if self.is_pending_notification else None,
            CLAIMED_UNTIL: self.claimed_until,
            **{mark_attribute(step): format_time(sent) for step, sent in self.steps_sent.items()},
            NOTIFIED_AT: format_time(self.notified_at) if self.notified_at else None,
        }
        return {name: value for name, value in values.items() if value is not None}

    def is_expired(self, now: float) -> bool:
        """Past its retention: DynamoDB's TTL deletes it within days, and until then nothing shows it."""
        return self.expires_at is not None and self.expires_at <= now

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> StoredLead:
        """The record of an item's attribute values (numbers may be Decimals, as boto3 reads
        them); raises pydantic's ValidationError for a damaged item."""
        steps = {match["step"]: item[name] for name in item if (match := _MARK.match(name))}
        return cls.model_validate({**item, "claimed_until": item.get(CLAIMED_UNTIL), "steps_sent": steps})


def stored_entry(entry: StatusChange | Note) -> dict[str, Any]:
    """A history entry or note as the item keeps it: its time in the table's format."""
    return {**entry.model_dump(mode="json"), "at": format_time(entry.at)}
