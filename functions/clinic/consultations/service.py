"""Receiving a consultation request: validation, the spam tests (the honeypot, the proof of
work), idempotency, rate limit and storage, exactly once.

A valid request that fails a spam test is not dropped: it is stored as quarantined, with its
reason and a short retention, and answered exactly as a success (a bot learns nothing, and a
patient whose browser filled the hidden field is not lost: staff can release the lead)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from ulid import ULID

from clinic.common.errors import FieldProblem, IdempotencyConflict, ServiceUnavailable, ValidationFailed
from clinic.common.validation import field_problems
from clinic.consultations.intake import Submission
from clinic.consultations.models import FIELD_MESSAGES, ConsultationRequest, raw_contact_problems
from clinic.consultations.proof_of_work import ChallengeIssuer, ProofOfWork
from clinic.consultations.store import IdempotencyRecord, LeadStore, RateWindow, SolutionUsed, WriteContended
from clinic.leads.record import Consent, LeadStatus, QuarantineReason, StoredLead, contact_hash, new_reference

ATTEMPTS = 3


@dataclass(frozen=True)
class SubmissionPolicy:
    rate_limit: int
    rate_window_seconds: int
    retention_days: int
    consent_version: str
    idempotency_seconds: int
    default_phone_region: str = "US"  # for phone numbers given without a country code
    quarantine_retention_days: int = 30  # how long a quarantined lead waits for staff
    notify_unsolved_form_posts: bool = False  # a plain form post with no solution (no JavaScript)


@dataclass(frozen=True)
class Accepted:
    lead_id: str
    reference: str | None  # None only for a repeat of a request stored before references existed
    replayed: bool = False  # a repeat, answered with the first request's lead
    repeat_of: str | None = None  # an earlier lead of the same email or phone (repeats.py)
    quarantine_reason: QuarantineReason | None = None  # stored quarantined: staff are not told


def new_lead_id(now: float | None = None) -> str:
    return str(ULID.from_timestamp(now if now is not None else time.time()))


def validate_request(fields: dict[str, Any], default_phone_region: str = "US") -> ConsultationRequest:
    """The validated request, or ValidationFailed listing each field's problem."""
    context = {"default_phone_region": default_phone_region}
    try:
        request = ConsultationRequest.model_validate(fields, context=context)
    except ValidationError as error:
        # Every problem in one answer: the rules across fields too, on what was sent.
        problems = field_problems(error.errors(), FIELD_MESSAGES)
        named = {problem.field for problem in problems}
        problems += [problem for problem in raw_contact_problems(fields) if problem.field not in named]
        raise ValidationFailed(fields=sorted(problems, key=_form_order)) from None
    problems = request.contact_problems()
    if problems:
        raise ValidationFailed(fields=problems)
    return request


_FIELD_ORDER = list(ConsultationRequest.model_fields)


def _form_order(problem: FieldProblem) -> int:
    # As the form asks (the model's field order); anything else after.
    field = problem.field.split(".", 1)[0]
    return _FIELD_ORDER.index(field) if field in _FIELD_ORDER else len(_FIELD_ORDER)


def fingerprint(request: ConsultationRequest) -> str:
    """The same validated request gives the same fingerprint, however its JSON was spaced."""
    # Without the spam fields: a retry that solved a new challenge is still the same request.
    return hashlib.sha256(request.model_dump_json(exclude={"website", "altcha"}).encode()).hexdigest()


class ConsultationService:
    def __init__(
        self,
        store: LeadStore,
        policy: SubmissionPolicy,
        client_hash_key: Callable[[], bytes],  # a ClientHashKey in the function
        challenges: ChallengeIssuer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._policy = policy
        self._client_hash_key = client_hash_key
        self._challenges = challenges
        self._clock = clock

    def receive(self, submission: Submission, *, idempotency_key: str | None, source_ip: str) -> Accepted:
        """Validate the submission and store it once; raise ValidationFailed, RateLimited,
        IdempotencyConflict or ServiceUnavailable."""
        request = validate_request(submission.fields, self._policy.default_phone_region)
        spam_test = self._spam_test(submission, request)
        return self.submit(request, idempotency_key=idempotency_key, source_ip=source_ip, spam_test=spam_test)

    def _spam_test(self, submission: Submission, request: ConsultationRequest) -> ProofOfWork:
        """The first spam test the (valid) submission fails, or its solution to record as used."""
        if submission.honeypot_filled:
            return ProofOfWork(failure=QuarantineReason.HONEYPOT)
        proof = self._challenges.check(request.altcha)
        if (
            proof.failure is QuarantineReason.PROOF_OF_WORK_MISSING
            and submission.from_form
            and self._policy.notify_unsolved_form_posts
        ):
            return ProofOfWork()  # the clinic accepts forms sent without JavaScript
        return proof

    def client_hash(self, source_ip: str) -> str:
        """A keyed hash of the client's address: stable for rate limits, never the address itself."""
        return hmac.new(self._client_hash_key(), source_ip.encode(), hashlib.sha256).hexdigest()

    def submit(
        self,
        request: ConsultationRequest,
        *,
        idempotency_key: str | None,
        source_ip: str,
        spam_test: ProofOfWork,
    ) -> Accepted:
        """Store the request once (quarantined if it failed the spam test); raise RateLimited,
        IdempotencyConflict or ServiceUnavailable."""
        request_print = fingerprint(request)
        key_hash = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else None
        client_hash = self.client_hash(source_ip)
        for attempt in range(ATTEMPTS):
            now = self._clock()
            if key_hash:
                earlier = self._store.idempotency_record(key_hash, now)
                if earlier:
                    if earlier.fingerprint != request_print:
                        raise IdempotencyConflict()
                    return Accepted(earlier.lead_id, earlier.reference, replayed=True)
            lead = self._store.linked_to_earlier(
                self._lead(request, client_hash, now, spam_test.failure), now
            )
            claim = None
            if key_hash:
                expires = int(now) + self._policy.idempotency_seconds
                claim = IdempotencyRecord(key_hash, request_print, lead.id, lead.reference, expires)
            rate = RateWindow(client_hash, self._policy.rate_limit, self._policy.rate_window_seconds, now)
            try:
                self._store.create(lead, rate, claim, spam_test.claim)
            except WriteContended:
                time.sleep(0.05 * (attempt + 1))
                continue
            except SolutionUsed:
                spam_test = ProofOfWork(failure=QuarantineReason.PROOF_OF_WORK_REPLAYED)
                continue
            return Accepted(
                lead.id, lead.reference, repeat_of=lead.repeat_of, quarantine_reason=lead.quarantine_reason
            )
        raise ServiceUnavailable(retry_after=1)

    def _lead(
        self,
        request: ConsultationRequest,
        client_hash: str,
        now: float,
        quarantine_reason: QuarantineReason | None,
    ) -> StoredLead:
        created = datetime.fromtimestamp(now, UTC)
        source = request.source.model_dump(exclude_none=True) if request.source else None
        key = self._client_hash_key()  # erasure by person finds the lead by these hashes
        policy = self._policy
        retention_days = policy.quarantine_retention_days if quarantine_reason else policy.retention_days
        return StoredLead(
            id=new_lead_id(now),
            created_at=created,
            reference=new_reference(),
            status=LeadStatus.QUARANTINED if quarantine_reason else LeadStatus.NEW,
            quarantine_reason=quarantine_reason,
            name=request.name,
            email=request.email,
            phone=request.phone,
            preferred_contact=request.preferred_contact,
            preferred_time=request.preferred_time,
            concerns=list(request.concerns),
            message=request.message,
            source=source or None,
            consent=Consent(version=self._policy.consent_version, given_at=created),
            client_hash=client_hash,
            email_hash=contact_hash(key, "email", request.email) if request.email else None,
            phone_hash=contact_hash(key, "phone", request.phone) if request.phone else None,
            expires_at=int(now) + retention_days * 86400,
        )
