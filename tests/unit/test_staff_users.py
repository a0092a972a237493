"""Staff accounts' sign-in codes: what `clinic staff code` prints and the local stack signs in with."""

from __future__ import annotations

import subprocess
import sys

from clinic_infra.staff_users import totp_code


def test_staff_code_is_the_rfc_6238_code_an_authenticator_app_shows() -> None:
    # RFC 6238's SHA-1 test secret at T=59 s: 94287082, of which an app shows the last six digits.
    assert totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", at=59) == "287082"


def test_clinic_staff_code_refuses_what_is_not_a_secret() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "clinic_infra.cli", "staff", "code", "not!base32"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "not a base32 TOTP secret" in run.stderr
