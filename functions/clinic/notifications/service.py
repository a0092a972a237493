"""Notifying staff about a lead, exactly once in effect.

A delivery claims the lead, sends each step not yet marked (staff email, topic message,
patient confirmation), marks each as it succeeds, then marks the lead notified. A failure
gives the claim back and raises, so the stream retries the record (and, after its
retries, the dead-letter queue and the sweeper take over); steps already sent are not
sent again. Only a crash between a send and its mark can repeat that one step.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum
from typing import TYPE_CHECKING

import boto3
import phonenumbers
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from clinic.common.aws import WORKER_CLIENT_CONFIG, LazyClient
from clinic.leads.record import StoredLead
from clinic.notifications import messages
from clinic.notifications.messages import ClinicDetails
from clinic.notifications.models import CONFIRMATION, STAFF_EMAIL, TOPIC, DetailLevel
from clinic.notifications.store import AlreadyNotified, LeadBusy, LeadGone, LeadQuarantined, NotificationStore

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient

logger = Logger(child=True)

# SES answers that no retry changes until someone acts (verifies an identity, leaves the sandbox,
# fixes a policy, resumes sending, raises the quota), as opposed to throttling or an outage.
SES_REFUSALS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AccountSuspendedException",
        "BadRequestException",
        "LimitExceededException",
        "MailFromDomainNotVerifiedException",
        "MessageRejected",
        "NotFoundException",  # the configuration set is missing
        "SendingPausedException",
    }
)
_EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


SWEEP_RESERVE_SECONDS = 20  # a notification's three sends with their retries, with margin


class Outcome(Enum):
    SENT = "sent"
    ALREADY_NOTIFIED = "already_notified"
    GONE = "gone"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class NotificationPolicy:
    detail: DetailLevel
    confirm_to_patient: bool
    lease_seconds: int
    sweep_after_seconds: int
    sweep_batch: int


@dataclass(frozen=True)
class SweepResult:
    recovered: int = 0
    failed: int = 0
    refused: int = 0  # of the failed, those whose staff email SES refused (StaffEmailRefused)


class StaffEmailRefused(Exception):
    """SES refused the staff email for a reason no retry changes; the lead stays pending."""

    def __init__(self, error_code: str) -> None:
        super().__init__(error_code)
        self.error_code = error_code


def ses_error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class UnknownStep(LookupError):
    """A notification step with no sender: raised, never sent somewhere by default."""


@dataclass(frozen=True)
class Sender:
    """How one notification step is sent, and whether a lead gets it at all."""

    send: Callable[[StoredLead], None]
    wanted: Callable[[StoredLead], bool] = lambda _lead: True


class ContactDetailsInTopicMessage(Exception):
    """The fan-out message would carry an email address or phone number; it is not sent."""


def assert_no_contact_details(text: str) -> None:
    """Refuse a topic message with an email address or a phone number in it.

    SNS message data protection does this in AWS where the account may still use it;
    this check holds everywhere.
    """
    if _EMAIL_LIKE.search(text) or next(iter(phonenumbers.PhoneNumberMatcher(text, "US")), None):
        raise ContactDetailsInTopicMessage()


class LeadNotifier:
    def __init__(
        self,
        store: NotificationStore,
        clinic: ClinicDetails,
        policy: NotificationPolicy,
        topic_arn: str,
        configuration_set: str,
        ses_client: SESV2Client | None = None,
        sns_client: SNSClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clinic = clinic
        self._policy = policy
        self._topic_arn = topic_arn
        self._configuration_set = configuration_set
        self._ses = LazyClient(ses_client, lambda: boto3.client("sesv2", config=WORKER_CLIENT_CONFIG))
        self._sns = LazyClient(sns_client, lambda: boto3.client("sns", config=WORKER_CLIENT_CONFIG))
        self._clock = clock
        # Each step and its sender, in the order they are sent: a new channel is one entry here.
        self._senders: dict[str, Sender] = {
            STAFF_EMAIL: Sender(self._tell_staff),
            TOPIC: Sender(self._publish_to_topic),
            CONFIRMATION: Sender(self._confirm, wanted=self._wants_confirmation),
        }

    def notify(self, lead_id: str) -> Outcome:
        """Tell staff about the lead unless already done; raises if a step failed (retry it)."""
        now = self._clock()
        lease = int(now) + self._policy.lease_seconds
        try:
            item = self._store.claim(lead_id, int(now), lease)
        except AlreadyNotified:
            logger.info("Lead already notified; nothing sent", extra={"lead_id": lead_id})
            return Outcome.ALREADY_NOTIFIED
        except LeadGone:
            logger.warning("Lead no longer exists; nothing sent", extra={"lead_id": lead_id})
            return Outcome.GONE
        except LeadQuarantined:
            logger.info("Lead is quarantined; nothing sent", extra={"lead_id": lead_id})
            return Outcome.QUARANTINED
        try:
            lead = StoredLead.from_item(item)  # a damaged item fails here, and is released too
            for step in self._steps(lead):
                self.send_step(step, lead)
                self._store.mark_step(lead_id, step, self._clock(), lease)
            self._store.mark_notified(lead_id, self._clock(), lease)
        except Exception:
            self._store.release(lead_id, lease)
            raise
        return Outcome.SENT

    def _steps(self, lead: StoredLead) -> list[str]:
        """The steps this lead still needs, in order."""
        return [
            step
            for step, sender in self._senders.items()
            if step not in lead.done_steps and sender.wanted(lead)
        ]

    def send_step(self, step: str, lead: StoredLead) -> None:
        """Send one step of the lead's notification; raises UnknownStep for a step with no sender."""
        sender = self._senders.get(step)
        if sender is None:
            raise UnknownStep(step)
        sender.send(lead)

    def _publish_to_topic(self, lead: StoredLead) -> None:
        """The fan-out message (SMS, chat): the lead's id and time, checked for contact details."""
        message = messages.topic_message(lead)
        assert_no_contact_details(message)
        self._sns().publish(TopicArn=self._topic_arn, Message=message)

    def _wants_confirmation(self, lead: StoredLead) -> bool:
        return self._policy.confirm_to_patient and bool(lead.email)

    def _tell_staff(self, lead: StoredLead) -> None:
        """The staff email. A refusal keeps the lead pending (retried, swept) and is raised as
        StaffEmailRefused, whose metric and alarm tell an operator within minutes."""
        try:
            self._send_email(messages.staff_email(lead, self._policy.detail, self._clinic))
        except ClientError as error:
            code = ses_error_code(error)
            if code not in SES_REFUSALS:
                raise
            # The code only: SES's message can name addresses.
            logger.error(
                "SES refused the staff email; the lead stays pending",
                extra={"lead_id": lead.id, "error_code": code},
            )
            raise StaffEmailRefused(code) from None

    def _confirm(self, lead: StoredLead) -> None:
        """The patient's thank-you. SES refusing it (the sandbox, a bad mailbox, access denied)
        ends the step: staff have the lead, and retrying would hold it pending forever."""
        try:
            self._send_email(messages.confirmation_email(lead, self._clinic))
        except ClientError as error:
            code = ses_error_code(error)
            if code not in SES_REFUSALS:
                raise
            logger.warning(
                "SES refused the patient's confirmation", extra={"lead_id": lead.id, "error_code": code}
            )

    def _send_email(self, email: EmailMessage) -> None:
        self._ses().send_email(
            FromEmailAddress=self._clinic.sender,
            Content={"Raw": {"Data": email.as_bytes()}},
            ConfigurationSetName=self._configuration_set,  # TLS required on every send
        )

    def sweep(self, seconds_left: Callable[[], float] = lambda: float("inf")) -> SweepResult:
        """Notify leads the stream never delivered.

        Stops while `seconds_left()` still leaves a whole notification's worth of time.
        """
        now = self._clock()
        cutoff = now - self._policy.sweep_after_seconds
        recovered = failed = refused = 0
        for lead_id in self._store.pending_before(cutoff, self._policy.sweep_batch):
            if seconds_left() < SWEEP_RESERVE_SECONDS:
                logger.warning("Sweeper stopped for time; the next run continues")
                break
            try:
                outcome = self.notify(lead_id)
            except LeadBusy:
                continue  # a stream delivery is at work on it right now
            except StaffEmailRefused:
                failed += 1
                refused += 1
                continue
            except Exception as error:  # one lead's failure must not stop the others
                failed += 1
                logger.warning(
                    "Sweeper could not notify a lead",
                    extra={"lead_id": lead_id, "error_type": type(error).__name__},
                )
                continue
            if outcome is Outcome.SENT:
                recovered += 1
                logger.warning(
                    "Sweeper recovered a lead the stream had not delivered", extra={"lead_id": lead_id}
                )
        return SweepResult(recovered, failed, refused)
