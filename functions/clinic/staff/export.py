"""The leads export: CSV that a spreadsheet opens as text, never as formulas.

A cell that begins with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (`=HYPERLINK(...)` sends data elsewhere when clicked), so such cells get a
leading apostrophe, as OWASP's CSV-injection guidance says. The file starts with a UTF-8 byte
order mark, without which Excel reads UTF-8 as the system's code page (names with accents).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from clinic.leads.record import StoredLead, format_time

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "id",
    "reference",
    "created_at",
    "status",
    "name",
    "email",
    "phone",
    "preferred_contact",
    "preferred_time",
    "concerns",
    "message",
    "assignee",
    "source_page",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _row(lead: StoredLead) -> list[str]:
    source = lead.source
    values: list[object] = [
        lead.id,
        lead.reference,
        format_time(lead.created_at),
        lead.status.value,
        lead.name,
        lead.email,
        lead.phone,
        lead.preferred_contact,
        lead.preferred_time,
        " ".join(lead.concerns),
        lead.message,
        lead.assignee,
        source.page if source else None,
        source.utm_source if source else None,
        source.utm_medium if source else None,
        source.utm_campaign if source else None,
    ]
    return [safe_cell(value) for value in values]


def leads_csv(leads: Iterable[StoredLead]) -> tuple[str, int]:
    """The CSV text (RFC 4180: CRLF line ends, quoted where needed) and how many leads it holds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for lead in leads:
        writer.writerow(_row(lead))
        count += 1
    return BOM + out.getvalue(), count
