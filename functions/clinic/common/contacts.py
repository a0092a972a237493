"""The one form of an email address and a phone number: intake stores it, and erasure by person
hashes what staff type in the same form, so the hashes of one person always match."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normal_email(value: str) -> str:
    """The address as stored, or ValueError. SES sends only to ASCII local parts; an
    international domain is kept as punycode."""
    try:
        address = validate_email(value, check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError:
        raise ValueError("not an email address") from None
    if address is None:  # only with SMTPUTF8 allowed, which it is not
        raise ValueError("not an ASCII email address")
    return address


def e164_phone(value: str, default_region: str) -> str:
    """The number in E.164 (a national number read in `default_region`), or ValueError."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
