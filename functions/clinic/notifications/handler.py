"""The leads stream's notifier and the scheduled sweeper: two entry points, one code path."""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, field_validator

from clinic.common.dates import Locale
from clinic.common.observability import keep_sdk_logs_quiet
from clinic.common.settings import EnvironmentSettings
from clinic.notifications.digest import DigestAddresses, QuarantineDigest
from clinic.notifications.messages import DEFAULT_CONFIRMATION_SUBJECT, ClinicDetails
from clinic.notifications.service import LeadNotifier, NotificationPolicy, Outcome, StaffEmailRefused
from clinic.notifications.store import NotificationStore

logger = Logger()
metrics = Metrics()
keep_sdk_logs_quiet()
warnings.filterwarnings("ignore", "No application metrics to publish*")
# A batch whose every record failed is reported record by record too, not raised: Lambda then
# retries from the first failed record, and NotificationFailed (not a crash) raises the alarm.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def comma_separated(value: Any) -> Any:
    """STAFF_ADDRESSES as the template joins them: "a@x.org,b@x.org"."""
    return (
        tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value
    )


class NotifierSettings(EnvironmentSettings):
    leads_table: str = Field(min_length=3)
    staff_topic_arn: str = Field(pattern=r"^arn:")
    sender_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    staff_addresses: tuple[str, ...] = Field(min_length=1)
    # minimal: the staff email links to the lead and carries nothing the patient typed.
    notification_detail: Literal["minimal", "contact", "full"] = "minimal"
    staff_console_url: str = Field(pattern=r"^https?://[^\s?#]+$")
    clinic_time_zone: str = "America/New_York"
    send_confirmation: bool = True
    clinic_name: str = Field(min_length=1)
    clinic_contact_line: str = Field(min_length=1)
    clinic_locale: Locale = "en-US"
    confirmation_subject: str = Field(default=DEFAULT_CONFIRMATION_SUBJECT, min_length=1, max_length=200)
    ses_configuration_set: str = Field(min_length=1)
    claim_lease_seconds: int = Field(default=45, ge=30, le=900)
    sweep_after_seconds: int = Field(default=600, ge=60)
    sweep_batch: int = Field(default=200, ge=1, le=1000)

    _staff_addresses = field_validator("staff_addresses", mode="before")(comma_separated)

    @field_validator("clinic_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at cold start, not at the first lead
        return value


@cache
def settings() -> NotifierSettings:
    return NotifierSettings.from_environment()


@cache
def notifier() -> LeadNotifier:
    config = settings()
    clinic = ClinicDetails(
        name=config.clinic_name,
        contact_line=config.clinic_contact_line,
        time_zone=ZoneInfo(config.clinic_time_zone),
        sender=config.sender_address,
        staff=config.staff_addresses,
        console_url=config.staff_console_url,
        locale=config.clinic_locale,
        confirmation_subject=config.confirmation_subject,
    )
    policy = NotificationPolicy(
        detail=config.notification_detail,
        confirm_to_patient=config.send_confirmation,
        lease_seconds=config.claim_lease_seconds,
        sweep_after_seconds=config.sweep_after_seconds,
        sweep_batch=config.sweep_batch,
    )
    return LeadNotifier(
        NotificationStore(config.leads_table),
        clinic,
        policy,
        config.staff_topic_arn,
        configuration_set=config.ses_configuration_set,
    )


def notify_staff(record: DynamoDBRecord) -> None:
    """One stream record: a new lead's key. Raising reports this record alone as failed."""
    lead_id = str(record.dynamodb.keys["id"])  # type: ignore[union-attr]
    logger.append_keys(lead_id=lead_id)
    try:
        outcome = notifier().notify(lead_id)
    except Exception as error:
        if isinstance(error, StaffEmailRefused):
            metrics.add_metric(name="StaffEmailRefused", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="NotificationFailed", unit=MetricUnit.Count, value=1)
        logger.warning(
            "Notification failed; the record will be retried", extra={"error_type": type(error).__name__}
        )
        raise
    finally:
        logger.remove_keys(["lead_id"])
    if outcome is Outcome.SENT:
        metrics.add_metric(name="NotificationSent", unit=MetricUnit.Count, value=1)
        logger.info("Staff notified", extra={"lead_id": lead_id})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    notifier()  # settings are validated on the first event
    return process_partial_response(
        event=event, record_handler=notify_staff, processor=processor, context=context
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def sweep_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Every 15 minutes: leads released from quarantine, and leads older than the sweep age that
    were never notified."""
    result = notifier().sweep(lambda: context.get_remaining_time_in_millis() / 1000)
    if result.recovered:
        metrics.add_metric(name="SweeperRecovered", unit=MetricUnit.Count, value=result.recovered)
        metrics.add_metric(name="NotificationSent", unit=MetricUnit.Count, value=result.recovered)
    if result.released:
        metrics.add_metric(name="NotificationSent", unit=MetricUnit.Count, value=result.released)
    if result.failed:
        metrics.add_metric(name="NotificationFailed", unit=MetricUnit.Count, value=result.failed)
    if result.refused:
        metrics.add_metric(name="StaffEmailRefused", unit=MetricUnit.Count, value=result.refused)
    return {"recovered": result.recovered, "released": result.released, "failed": result.failed}


class DigestSettings(EnvironmentSettings):
    """The daily quarantine digest's settings: only what a count and a link need."""

    leads_table: str = Field(min_length=3)
    sender_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    staff_addresses: tuple[str, ...] = Field(min_length=1)
    staff_console_url: str = Field(pattern=r"^https?://[^\s?#]+$")
    ses_configuration_set: str = Field(min_length=1)

    _staff_addresses = field_validator("staff_addresses", mode="before")(comma_separated)


@cache
def digest() -> QuarantineDigest:
    config = DigestSettings.from_environment()
    addresses = DigestAddresses(
        sender=config.sender_address,
        staff=config.staff_addresses,
        console_url=config.staff_console_url,
        configuration_set=config.ses_configuration_set,
    )
    return QuarantineDigest(config.leads_table, addresses)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def digest_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Once a day: tell staff how many requests wait in quarantine, if any do."""
    waiting = digest().send()
    metrics.add_metric(name="QuarantineWaiting", unit=MetricUnit.Count, value=waiting)
    logger.info("Quarantine digest", extra={"waiting": waiting, "emailed": bool(waiting)})
    return {"waiting": waiting}
