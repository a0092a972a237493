"""The consultation request as the site sends it, and the answer it gets.

Every rule of the field table in docs/api.md lives here. Error messages are written for the
patient and never repeat what they typed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationInfo, field_validator

from clinic.common.contacts import e164_phone, normal_email
from clinic.common.errors import FieldProblem
from clinic.leads.record import ContactChannel, PreferredTime

Concern = Literal["depression", "anxiety", "ptsd", "chronic_pain", "ocd", "other"]

# Characters that could hide or reorder text for staff reading a lead: bidirectional
# overrides and isolates, and the invisible direction marks.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def has_hidden_characters(text: str, *, allow_line_breaks: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_line_breaks else set()
    return any(
        (unicodedata.category(char) == "Cc" and char not in allowed) or char in _BIDI_CONTROLS
        for char in text
    )


# Letters that print as nothing: the Hangul fillers and the blank Braille pattern.
_BLANK_LETTERS = set("\u115f\u1160\u3164\uffa0\u2800")


def is_visible(char: str) -> bool:
    """Whether a character leaves a mark: not a space, control, format or combining mark alone."""
    return unicodedata.category(char)[0] not in "ZCM" and char not in _BLANK_LETTERS


# Messages shown next to each field; they state the rule, never the value.
FIELD_MESSAGES = {
    "name": "Enter your name, up to 100 characters.",
    "email": "Enter a valid email address, like name@example.com.",
    "phone": "Enter a valid phone number, including the area code.",
    "preferred_contact": "Choose email, phone or text.",
    "preferred_time": "Choose morning, afternoon, evening or any time.",
    "concerns": "Choose from the listed concerns, each one once.",
    "message": "Keep your message to 2000 characters or fewer.",
    "consent": "Please agree to be contacted so that we can reply to your request.",
    "website": "Leave this field empty.",
    "altcha": "Reload the page and send the form again.",
    "idempotency-key": "Use 1 to 64 letters, digits, hyphens or underscores.",
}
SOURCE_MESSAGE = "This tracking value is not accepted."

SourceText = Annotated[StrictStr | None, Field(default=None, max_length=200)]
SourceUrl = Annotated[StrictStr | None, Field(default=None, max_length=2048)]


class Source(BaseModel):
    """Where the request came from: the page, the referrer and UTM tags."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    page: SourceUrl = None
    referrer: SourceUrl = None
    utm_source: SourceText = None
    utm_medium: SourceText = None
    utm_campaign: SourceText = None
    utm_term: SourceText = None
    utm_content: SourceText = None

    @field_validator("*")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        if value is not None and has_hidden_characters(value):
            raise ValueError(SOURCE_MESSAGE)
        return value or None


class ConsultationRequest(BaseModel):
    """A request for a free consultation. Give an email or a phone number (or both); a
    `preferred_contact` must be a channel that was given. Stored, `phone` is E.164."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Alex Rivera",
                    "email": "alex.rivera@example.org",
                    "phone": "+1 415 555 0132",
                    "preferred_contact": "phone",
                    "preferred_time": "evening",
                    "concerns": ["depression", "anxiety"],
                    "message": "I would like to know whether infusions could help me.",
                    "consent": True,
                    "source": {"page": "/articles/ketamine-for-treatment-resistant-depression/"},
                }
            ]
        },
    )

    name: StrictStr = Field(min_length=1, max_length=100)
    email: StrictStr | None = Field(default=None, max_length=254, json_schema_extra={"format": "email"})
    phone: StrictStr | None = Field(default=None, max_length=32)
    preferred_contact: ContactChannel | None = None
    preferred_time: PreferredTime = "any"
    concerns: list[Concern] = Field(
        default_factory=list, max_length=6, json_schema_extra={"uniqueItems": True}
    )
    message: StrictStr | None = Field(default=None, max_length=2000)
    consent: StrictBool = Field(json_schema_extra={"const": True}, description="Must be true.")
    source: Source | None = None
    # No length cap: any filled-in text is the honeypot's catch (the body is capped at 16 KiB).
    website: StrictStr | None = Field(
        default=None, description="Honeypot, hidden from people: leave it empty."
    )
    # No length cap either: whatever is not a solution is the proof of work's catch.
    altcha: StrictStr | None = Field(
        default=None,
        description="The proof of work: the ALTCHA widget's base64 payload, a solution to a challenge "
        "from GET /consultations/challenge. A request without a valid, unused one is received "
        "(answered as usual) but quarantined for staff to review.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_visible_text(cls, value: str) -> str:
        # Invisible format characters (zero-width spaces and joiners, word joiners, byte order
        # marks: category Cf) would let a name look blank, or like another name, to staff.
        if has_hidden_characters(value) or any(unicodedata.category(char) == "Cf" for char in value):
            raise ValueError("Use letters, spaces and punctuation only in your name.")
        if not any(is_visible(char) for char in value):
            raise ValueError(FIELD_MESSAGES["name"])
        return value

    @field_validator("email")
    @classmethod
    def _email_is_deliverable_shape(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return normal_email(value)
        except ValueError:
            raise ValueError(FIELD_MESSAGES["email"]) from None

    @field_validator("phone")
    @classmethod
    def _phone_is_e164(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        try:
            return e164_phone(value, (info.context or {}).get("default_phone_region", "US"))
        except ValueError:
            raise ValueError(FIELD_MESSAGES["phone"]) from None

    @field_validator("concerns")
    @classmethod
    def _concerns_are_distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("Choose each concern only once.")
        return value

    @field_validator("message")
    @classmethod
    def _message_is_visible_text(cls, value: str | None) -> str | None:
        if value and has_hidden_characters(value, allow_line_breaks=True):
            raise ValueError("Remove the hidden formatting characters from your message.")
        return value or None

    @field_validator("consent")
    @classmethod
    def _consent_is_given(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(FIELD_MESSAGES["consent"])
        return value

    def contact_problems(self) -> list[FieldProblem]:
        """Rules across fields: a way to reply, and a preferred channel that was given."""
        return contact_problems(bool(self.email), bool(self.phone), self.preferred_contact)


def contact_problems(email_given: bool, phone_given: bool, preferred: str | None) -> list[FieldProblem]:
    """A way to reply, and a preferred channel that was given. Checked on the raw fields too,
    when others are invalid, so that the patient hears of every problem at once."""
    if not email_given and not phone_given:
        message = "Give an email address or a phone number so that we can reply."
        return [FieldProblem(field="email", message=message)]
    if preferred == "email" and not email_given:
        return [FieldProblem(field="email", message="Enter your email address, or choose phone or text.")]
    if preferred in ("phone", "text") and not phone_given:
        return [FieldProblem(field="phone", message="Enter your phone number, or choose email.")]
    return []


def _given(value: object) -> bool:
    # Sent at all: an email or phone of the wrong shape has its own problem, and still counts.
    return value is not None and not (isinstance(value, str) and not value.strip())


def raw_contact_problems(fields: Mapping[str, object]) -> list[FieldProblem]:
    """contact_problems for fields that did not validate."""
    preferred = fields.get("preferred_contact")
    return contact_problems(
        _given(fields.get("email")),
        _given(fields.get("phone")),
        preferred if preferred in ("email", "phone", "text") else None,
    )


HONEYPOT_FIELD = "website"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class ConsultationAccepted(BaseModel):
    """201: the request was received (or, for a replay, had been)."""

    id: str = Field(description="The lead's ULID.")
    reference: str | None = Field(
        description="The short code staff and the patient quote about this request, e.g. K7M4-QX2P "
        "(null only when repeating the answer to a request stored before references existed).",
        examples=["K7M4-QX2P"],
    )
    status: Literal["received"] = "received"


class ChallengeParameters(BaseModel):
    """What the browser derives keys with (PBKDF2), and what it must find."""

    model_config = ConfigDict(populate_by_name=True)

    algorithm: str = Field(examples=["PBKDF2/SHA-256"])
    cost: int = Field(description="Iterations of the key derivation per counter tried.")
    key_length: int = Field(alias="keyLength")
    key_prefix: str = Field(alias="keyPrefix", description="Hex: the derived key that solves it starts so.")
    key_signature: str = Field(alias="keySignature", description="HMAC of the solving key (the check).")
    nonce: str
    salt: str
    expires_at: int = Field(alias="expiresAt", description="Epoch seconds: a solution sent later is expired.")


class ProofOfWorkChallenge(BaseModel):
    """A proof-of-work challenge (ALTCHA PoW v2): the widget finds the counter whose derived key
    starts with `keyPrefix`, and sends challenge and solution, base64-encoded, as `altcha`."""

    parameters: ChallengeParameters
    signature: str = Field(description="HMAC of the parameters: a challenge this API issued.")
