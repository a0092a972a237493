"""The stored lead: one record, one item shape, one time format, for every feature that uses it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import ValidationError

from clinic.leads.record import (
    NOTIFY_STATE,
    Consent,
    LeadStatus,
    NotificationState,
    QuarantineReason,
    StoredLead,
    format_time,
    new_reference,
    parse_time,
    read_reference,
)

CREATED = datetime(2026, 11, 27, 18, 5, 7, 123000, tzinfo=UTC)
NEW_LEAD = StoredLead(
    id="01JZ0000000000000000000000",
    created_at=CREATED,
    reference="K7M4-QX2P",
    name="Ada Lovelace",
    email="ada@example.com",
    phone="+14155552671",
    preferred_contact="text",
    preferred_time="evening",
    concerns=["depression", "ptsd"],
    message="I would like to know more.",
    source={"page": "/articles/x/", "utm_source": "newsletter"},
    consent=Consent(version="2026-11-01", given_at=CREATED),
    client_hash="ab" * 32,
    expires_at=1_827_000_000,
)
# The item consultations has always written for that lead: the shape the notifier, the sweeper's
# index, the doctor and the staff inbox read.
NEW_ITEM = {
    "id": {"S": "01JZ0000000000000000000000"},
    "created_at": {"S": "2026-11-27T18:05:07.123Z"},
    "reference": {"S": "K7M4-QX2P"},
    "status": {"S": "new"},
    "name": {"S": "Ada Lovelace"},
    "email": {"S": "ada@example.com"},
    "phone": {"S": "+14155552671"},
    "preferred_contact": {"S": "text"},
    "preferred_time": {"S": "evening"},
    "concerns": {"L": [{"S": "depression"}, {"S": "ptsd"}]},
    "message": {"S": "I would like to know more."},
    "source": {"M": {"page": {"S": "/articles/x/"}, "utm_source": {"S": "newsletter"}}},
    "consent": {"M": {"version": {"S": "2026-11-01"}, "given_at": {"S": "2026-11-27T18:05:07.123Z"}}},
    "client_hash": {"S": "ab" * 32},
    "expires_at": {"N": "1827000000"},
    "notify_state": {"S": "pending"},
}


def _to_dynamodb(values: dict[str, Any]) -> dict[str, Any]:
    return {name: TypeSerializer().serialize(value) for name, value in values.items()}


def _from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: TypeDeserializer().deserialize(value) for name, value in item.items()}


def test_a_new_lead_is_the_item_consultations_writes() -> None:
    assert _to_dynamodb(NEW_LEAD.to_item()) == NEW_ITEM


def test_a_lead_round_trips_through_its_item() -> None:
    assert StoredLead.from_item(NEW_LEAD.to_item()) == NEW_LEAD
    # and through DynamoDB's typed attributes, which read numbers back as Decimals
    assert StoredLead.from_item(_from_dynamodb(_to_dynamodb(NEW_LEAD.to_item()))) == NEW_LEAD
    notified = NEW_LEAD.model_copy(
        update={
            "claimed_until": 1_795_780_845,
            "steps_sent": {
                "staff_email": CREATED + timedelta(seconds=1),
                "topic": CREATED + timedelta(seconds=2),
            },
            "notified_at": CREATED + timedelta(seconds=3),
        }
    )
    assert StoredLead.from_item(_from_dynamodb(_to_dynamodb(notified.to_item()))) == notified


def test_an_item_round_trips_through_the_record() -> None:
    assert _to_dynamodb(StoredLead.from_item(_from_dynamodb(NEW_ITEM)).to_item()) == NEW_ITEM


def test_only_what_every_lead_has_is_required_and_optional_fields_are_left_out() -> None:
    minimal = {
        "id": "01JZ0000000000000000000001",
        "created_at": "2026-11-27T18:05:07.000Z",
        "name": "Grace",
        "phone": "+14155552671",
        "preferred_contact": "phone",
    }
    lead = StoredLead.from_item(minimal)
    assert lead.status is LeadStatus.NEW
    assert (lead.email, lead.message, lead.consent, lead.source) == (None, None, None, None)
    assert set(lead.to_item()) == {*minimal, "status", "preferred_time", "concerns", NOTIFY_STATE}


def test_a_damaged_item_is_refused() -> None:
    damaged = {name: value for name, value in _from_dynamodb(NEW_ITEM).items() if name != "name"}
    with pytest.raises(ValidationError):
        StoredLead.from_item(damaged)


def test_the_notification_states_a_lead_moves_through() -> None:
    # Stored: pending, in the PendingNotification index
    assert StoredLead.from_item(_from_dynamodb(NEW_ITEM)).notification_state is NotificationState.PENDING
    # A delivery claims it and marks each step it sends
    claimed = {
        **NEW_ITEM,
        "notification_claimed_until": {"N": "1795780845"},
        "notification_staff_email_at": {"S": "2026-11-27T18:05:08.000Z"},
    }
    lead = StoredLead.from_item(_from_dynamodb(claimed))
    assert lead.notification_state is NotificationState.CLAIMED
    assert lead.done_steps == {"staff_email"}
    assert lead.steps_sent["staff_email"] == datetime(2026, 11, 27, 18, 5, 8, tzinfo=UTC)
    # Notified: the marker and the claim are gone, so the lead has left the index
    notified = lead.model_copy(update={"claimed_until": None, "notified_at": CREATED})
    assert notified.notification_state is NotificationState.NOTIFIED
    item = notified.to_item()
    assert NOTIFY_STATE not in item
    assert "notification_claimed_until" not in item
    assert item["notified_at"] == "2026-11-27T18:05:07.123Z"


# ---------------------------------------------------------------- the time format


def test_a_quarantined_lead_keeps_its_reason_and_is_not_pending_until_released() -> None:
    quarantined = NEW_LEAD.model_copy(
        update={"status": LeadStatus.QUARANTINED, "quarantine_reason": QuarantineReason.HONEYPOT}
    )
    item = quarantined.to_item()
    assert (item["status"], item["quarantine_reason"]) == ("quarantined", "honeypot")
    assert NOTIFY_STATE not in item  # outside the PendingNotification index: the sweeper never finds it
    assert StoredLead.from_item(item) == quarantined
    # Released to new (the reason kept, for the record), it is pending like any new lead
    released = quarantined.model_copy(update={"status": LeadStatus.NEW})
    assert released.to_item()[NOTIFY_STATE] == "pending"
    assert released.to_item()["quarantine_reason"] == "honeypot"


def test_the_time_format_is_utc_to_the_millisecond_with_a_z() -> None:
    assert format_time(datetime(2026, 11, 27, 18, 5, 7, 123999, tzinfo=UTC)) == "2026-11-27T18:05:07.123Z"
    assert format_time(datetime(2026, 11, 27, 13, 5, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2026-11-27T18:05:00.000Z"
    )
    assert format_time(1_795_780_800.5) == "2026-11-27T12:00:00.500Z"
    assert parse_time("2026-11-27T18:05:07.123Z") == datetime(2026, 11, 27, 18, 5, 7, 123000, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        format_time(datetime(2026, 11, 27, 18, 5))  # noqa: DTZ001 - the mistake under test


def test_a_record_keeps_times_as_the_table_does() -> None:
    lead = StoredLead.model_validate(
        {
            **NEW_LEAD.model_dump(),
            "created_at": datetime(2026, 11, 27, 13, 5, 7, 123456, tzinfo=timezone(timedelta(hours=-5))),
        }
    )
    assert lead.created_at == CREATED
    assert lead.created_at.tzinfo is UTC


def test_stored_times_sort_as_the_times_do() -> None:
    # The sweeper finds old pending leads with `created_at < :before` on the index: a string
    # comparison, which holds only while the format sorts chronologically, whatever the zone.
    pick = random.Random(20261127)  # noqa: S311 - test data, not security
    zones = [
        UTC,
        timezone(timedelta(hours=-5)),
        timezone(timedelta(hours=5, minutes=45)),
        ZoneInfo("Pacific/Apia"),
    ]
    start, end = datetime(1970, 1, 2, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
    moments = [start + (end - start) * pick.random() for _ in range(2000)]
    edges = [datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC)]
    moments += [
        edge + timedelta(microseconds=step) for edge in edges for step in (-1001, -1, 0, 1, 999, 1000)
    ]
    moments = [moment.astimezone(pick.choice(zones)) for moment in moments]

    def to_the_millisecond(moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)

    chronological = [format_time(moment) for moment in sorted(moments, key=to_the_millisecond)]
    assert sorted(format_time(moment) for moment in moments) == chronological


def test_a_new_reference_is_two_groups_of_four_unambiguous_characters() -> None:
    references = {new_reference() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert len(reference) == 9
        assert reference[4] == "-"
        assert not set(reference) & set("ILOU")
        assert read_reference(reference) == reference


@pytest.mark.parametrize("typed", ["K7M4-QX2P", "k7m4qx2p", " K7M4 QX2P ", "k7m4-qx2p"])
def test_a_reference_is_read_however_a_person_types_it(typed: str) -> None:
    assert read_reference(typed) == "K7M4-QX2P"


def test_letters_that_look_like_digits_are_read_as_the_digits() -> None:
    assert read_reference("OOIL-2345") == "0011-2345"


@pytest.mark.parametrize(
    "typed", ["", "K7M4-QX2", "K7M4-QX2PP", "K7M4-QX2U", "01JZ0000000000000000000000", "K7M4_QX2P"]
)
def test_what_cannot_be_a_reference_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="8 letters and digits"):
        read_reference(typed)
