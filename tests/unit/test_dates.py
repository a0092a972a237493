"""Times written for the clinic's staff and patients, as a US reader expects them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from clinic.common.dates import date_and_time

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("moment", "zone", "written"),
    [
        (datetime(2026, 12, 1, 18, 34, tzinfo=UTC), NEW_YORK, "Tuesday, December 1, 2026, 1:34 PM EST"),
        (datetime(2026, 7, 4, 4, 5, tzinfo=UTC), NEW_YORK, "Saturday, July 4, 2026, 12:05 AM EDT"),
        (datetime(2026, 7, 4, 16, 0, tzinfo=UTC), NEW_YORK, "Saturday, July 4, 2026, 12:00 PM EDT"),
        (
            datetime(2026, 11, 27, 18, 5, tzinfo=UTC),
            ZoneInfo("America/Los_Angeles"),
            "Friday, November 27, 2026, 10:05 AM PST",
        ),
    ],
)
def test_us_english_is_month_day_year_and_a_12_hour_clock(
    moment: datetime, zone: ZoneInfo, written: str
) -> None:
    assert date_and_time(moment, zone, "en-US") == written


def test_a_locale_it_cannot_write_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        date_and_time(datetime(2026, 12, 1, tzinfo=UTC), NEW_YORK, "de-DE")  # type: ignore[arg-type]
