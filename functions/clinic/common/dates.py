"""Dates and times as the clinic's staff and patients read them, in the clinic's locale.

The one owner of how a time is written for people (the table's own format is
clinic.leads.record.format_time). en-US is written here from fixed words, so it does not
depend on the C library's locale (Lambda's is C); another locale would need a library with
CLDR data (babel), which the functions do not carry yet.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal

Locale = Literal["en-US"]
LOCALES: tuple[Locale, ...] = ("en-US",)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def date_and_time(moment: datetime, zone: tzinfo, locale: Locale = "en-US") -> str:
    """`moment` in `zone`, written out: "Tuesday, December 1, 2026, 1:34 PM EST" (en-US)."""
    if locale != "en-US":
        raise ValueError(f"unsupported locale: {locale}")
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return (
        f"{_WEEKDAYS[local.weekday()]}, {_MONTHS[local.month - 1]} {local.day}, {local.year}, "
        f"{hour}:{local.minute:02d} {half} {local.tzname()}"
    )
