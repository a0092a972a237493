"""The staff inbox: list, view, change, export and erase leads, each action checked against the
caller's groups and recorded in the audit trail before anyone sees its result.

A failed audit write fails the action (503): there is no unaudited access. A change and its
event are one transaction; a view or an export is answered only after its event is written.
An action refused (403, 404, 412, 422, 428) is recorded too, with the error code as its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from clinic.common.errors import (
    ApiError,
    FieldProblem,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ServiceUnavailable,
    ValidationFailed,
)
from clinic.common.validation import field_problems
from clinic.leads.record import (
    EMAIL_HASH,
    INBOX_STATUSES,
    PHONE_HASH,
    LeadStatus,
    Note,
    StatusChange,
    StoredLead,
    can_move,
    contact_hash,
)
from clinic.staff.access import Action, Caller
from clinic.staff.audit import SUCCESS, Attempt, AuditLog, AuditUnavailable
from clinic.staff.export import leads_csv
from clinic.staff.models import (
    AuditEvent,
    ErasureRequest,
    ExportQuery,
    LeadChange,
    LeadDetail,
    LeadPage,
    LeadQuery,
    LeadSummary,
    range_end,
    range_start,
)
from clinic.staff.store import IdRange, LeadChanged, StaffLeadStore

logger = Logger(child=True)

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Request:
    """Who asks, and the API request it came in (for the audit trail)."""

    caller: Caller
    request_id: str

    def attempt(self, action: Any, lead_id: str | None = None) -> Attempt:
        return Attempt(self.caller, action, lead_id, self.request_id)


def expected_version(if_match: str | None) -> int:
    """The version an If-Match names: PreconditionRequired without one, PreconditionFailed for
    one that is no version of ours."""
    if not if_match or not if_match.strip():
        raise PreconditionRequired()
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 9:
        raise PreconditionFailed()
    return int(tag)


class StaffService:
    def __init__(
        self,
        leads: StaffLeadStore,
        audit: AuditLog,
        contact_key: Callable[[], bytes],  # the client-hash key (a ClientHashKey in the function)
        clock: Callable[[], float] = time.time,
        default_phone_region: str = "US",
        lead_retention_days: int = 365,
    ) -> None:
        self._leads = leads
        self._audit = audit
        self._contact_key = contact_key
        self._clock = clock
        self._default_phone_region = default_phone_region
        self._lead_retention_days = lead_retention_days

    # ------------------------------------------------------------ audit
    def _record(self, attempt: Attempt, outcome: str) -> None:
        try:
            self._audit.append(attempt, outcome, self._clock())
        except AuditUnavailable:
            logger.warning("An audit event could not be written", extra={"action": attempt.action})
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None

    def _refused(self, attempt: Attempt, error: ApiError) -> ApiError:
        """Record a refused action (its error code as the outcome) and give back the error."""
        self._record(attempt, error.code)
        return error

    # ------------------------------------------------------------ reading
    def _live_lead(self, lead_id: str) -> StoredLead:
        """The lead, unless it does not exist, is erased, or is past its retention."""
        item = self._leads.get(lead_id)
        if item is None or item.get("status") == LeadStatus.ERASED:
            raise NotFound()
        lead = StoredLead.from_item(item)
        if lead.is_expired(self._clock()):
            raise NotFound()
        return lead

    def page(self, request: Request, query: LeadQuery) -> LeadPage:
        request.caller.require(Action.LIST)
        statuses = [query.status] if query.status else [LeadStatus(status) for status in INBOX_STATUSES]
        ids = IdRange.of(range_start(query.since), range_end(query.until), before=query.cursor)
        found = self._leads.newest_first(statuses, ids, self._clock(), skip=query.cursor)
        leads: list[LeadSummary] = []
        for item in found:
            if len(leads) == query.limit:
                return LeadPage(items=leads, next_cursor=leads[-1].id)
            leads.append(LeadSummary.of(StoredLead.from_item(item)))
        return LeadPage(items=leads, next_cursor=None)

    def view(self, request: Request, lead_id: str) -> LeadDetail:
        attempt = request.attempt("lead.viewed", lead_id)
        try:
            request.caller.require(Action.VIEW)
            lead = self._live_lead(lead_id)
        except ApiError as error:
            raise self._refused(attempt, error) from None
        self._record(attempt, SUCCESS)  # before the lead is shown
        return LeadDetail.of(lead)

    def trail(self, request: Request, lead_id: str) -> list[AuditEvent]:
        request.caller.require(Action.READ_AUDIT)
        return self._audit.trail(lead_id)

    # ------------------------------------------------------------ changes
    def change(self, request: Request, lead_id: str, if_match: str | None, body: Any) -> LeadDetail:
        attempt = request.attempt("lead.updated", lead_id)
        try:
            request.caller.require(Action.UPDATE)
            change = _parse(LeadChange, body)
            version = expected_version(if_match)
            lead = self._live_lead(lead_id)
            if lead.version != version:
                raise PreconditionFailed()
            self._apply(lead, version, change, attempt)
        except ApiError as error:
            raise self._refused(attempt, error) from None
        return LeadDetail.of(self._live_lead(lead_id))

    def _apply(self, lead: StoredLead, version: int, change: LeadChange, attempt: Attempt) -> None:
        now = self._clock()
        at, by = datetime.fromtimestamp(now, UTC), attempt.caller.username
        moved = None
        if change.status is not None and change.status != lead.status:
            if not can_move(lead.status, change.status):
                message = f"A {lead.status} lead cannot become {change.status}."
                raise ValidationFailed(fields=[FieldProblem(field="status", message=message)])
            moved = StatusChange(status=change.status, at=at, by=by)
        note = Note(text=change.note, at=at, by=by) if change.note is not None else None
        assignee = (change.assignee,) if "assignee" in change.model_fields_set else None
        try:
            self._leads.change(
                lead.id,
                expected_version=version,
                now=now,
                status=moved,
                note=note,
                assignee=assignee,
                audit=self._audit.append_request(attempt, SUCCESS, now),
            )
        except LeadChanged:
            self._live_lead(lead.id)  # gone since it was read: 404
            raise PreconditionFailed() from None

    # ------------------------------------------------------------ quarantine
    def release(self, request: Request, lead_id: str, if_match: str | None) -> LeadDetail:
        """A quarantined lead staff judged real: it becomes new, and the sweeper's next run tells
        staff of it, once (its status change, its hand-over and the audit event are one write)."""
        attempt = request.attempt("lead.released", lead_id)
        try:
            request.caller.require(Action.UPDATE)
            version = expected_version(if_match)
            lead = self._live_lead(lead_id)
            if lead.version != version:
                raise PreconditionFailed()
            if lead.status is not LeadStatus.QUARANTINED or lead.notified_at is not None:
                message = f"Only a quarantined lead can be released; this one is {lead.status}."
                raise ValidationFailed(fields=[FieldProblem(field="status", message=message)])
            now = self._clock()
            change = StatusChange(
                status=LeadStatus.NEW, at=datetime.fromtimestamp(now, UTC), by=attempt.caller.username
            )
            try:
                self._leads.release(
                    lead_id,
                    expected_version=version,
                    now=now,
                    change=change,
                    expires_at=int(lead.created_at.timestamp()) + self._lead_retention_days * 86400,
                    audit=self._audit.append_request(attempt, SUCCESS, now),
                )
            except LeadChanged:
                self._live_lead(lead_id)  # gone since it was read: 404
                raise PreconditionFailed() from None
        except ApiError as error:
            raise self._refused(attempt, error) from None
        return LeadDetail.of(self._live_lead(lead_id))

    # ------------------------------------------------------------ erasure
    def erase(self, request: Request, lead_id: str) -> None:
        attempt = request.attempt("lead.erased", lead_id)
        try:
            request.caller.require(Action.ERASE)
            self._erase_one(attempt)
        except ApiError as error:
            raise self._refused(attempt, error) from None

    def _erase_one(self, attempt: Attempt) -> bool:
        """Erase the lead with its audit event; False if it was erased already (recorded too)."""
        if attempt.lead_id is None:
            raise TypeError("an erasure names its lead")
        before = self._leads.get(attempt.lead_id) or {}
        hashes = [str(before[name]) for name in (EMAIL_HASH, PHONE_HASH) if before.get(name)]
        now = self._clock()
        change = StatusChange(
            status=LeadStatus.ERASED, at=datetime.fromtimestamp(now, UTC), by=attempt.caller.username
        )
        try:
            self._leads.erase(attempt.lead_id, change, self._audit.append_request(attempt, SUCCESS, now))
        except LeadChanged:
            if self._leads.get(attempt.lead_id) is None:
                raise NotFound() from None
            self._record(attempt, "already_erased")
            return False
        self._leads.forget_contacts(hashes, of_lead=attempt.lead_id)
        return True

    def erase_person(self, request: Request, body: Any) -> int:
        attempt = request.attempt("person.erased")
        try:
            request.caller.require(Action.ERASE_PERSON)
            person = _parse(ErasureRequest, body, {"default_phone_region": self._default_phone_region})
        except ApiError as error:
            raise self._refused(attempt, error) from None
        key = self._contact_key()
        email_hash = contact_hash(key, "email", person.email) if person.email else None
        phone_hash = contact_hash(key, "phone", person.phone) if person.phone else None
        found = self._leads.leads_of_person(email_hash, phone_hash)
        # The person's repeat-request records go whichever lead they name.
        self._leads.forget_contacts(digest for digest in (email_hash, phone_hash) if digest)
        erased = 0
        for lead_id in found:
            try:
                erased += self._erase_one(attempt.for_lead("lead.erased", lead_id))
            except NotFound:
                continue  # deleted by its TTL meanwhile: nothing left to erase
        self._record(attempt, SUCCESS)
        return erased

    # ------------------------------------------------------------ export
    def export(self, request: Request, query: ExportQuery) -> str:
        attempt = request.attempt("leads.exported")
        try:
            request.caller.require(Action.EXPORT)
        except ApiError as error:
            raise self._refused(attempt, error) from None
        statuses = [query.status] if query.status else [LeadStatus(status) for status in INBOX_STATUSES]
        ids = IdRange.of(range_start(query.since), range_end(query.until))
        leads = [
            StoredLead.from_item(item) for item in self._leads.newest_first(statuses, ids, self._clock())
        ]
        text, _ = leads_csv(leads)
        # Before the file is sent: each lead's own trail says it left in an export (who has seen a
        # patient's request includes whoever holds a spreadsheet of it), then the export's.
        for lead in leads:
            self._record(attempt.for_lead("leads.exported", lead.id), SUCCESS)
        self._record(attempt, SUCCESS)
        return text


def _parse(model: Any, body: Any, context: dict[str, Any] | None = None) -> Any:
    try:
        return model.model_validate(body, context=context)
    except ValidationError as error:
        raise ValidationFailed(fields=field_problems(error.errors())) from None
