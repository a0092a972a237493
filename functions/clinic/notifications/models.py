"""How much the staff email tells, and the steps of notifying staff about a lead."""

from __future__ import annotations

from typing import Literal

DetailLevel = Literal["minimal", "contact", "full"]

# The steps; each is marked on the lead when done (clinic.leads.record names the mark), so a
# retry skips it.
STAFF_EMAIL = "staff_email"
TOPIC = "topic"
CONFIRMATION = "confirmation"
