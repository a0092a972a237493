"""Staff accounts in the stack's Cognito pool: `clinic staff add` for a deployed stack, and the two
sign-in-ready accounts `clinic dev` makes locally.

In AWS, Cognito emails the new user a temporary password (the pool's invitation); at the first
sign-in they choose a password and set up an authenticator app (the pool requires TOTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

STAFF_GROUP, ADMIN_GROUP = "staff", "admin"


def add_staff(cognito: CognitoIdentityProviderClient, pool_id: str, email: str, *, admin: bool) -> None:
    """Create the user (Cognito emails the temporary password) and put them in their groups."""
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        DesiredDeliveryMediums=["EMAIL"],
    )
    for group in (STAFF_GROUP, ADMIN_GROUP) if admin else (STAFF_GROUP,):
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)


@dataclass(frozen=True)
class LocalAccount:
    username: str
    password: str
    groups: tuple[str, ...]
    totp_secret: str

    def otpauth_uri(self, issuer: str) -> str:
        return f"otpauth://totp/{quote(issuer)}:{quote(self.username)}?secret={self.totp_secret}&issuer={quote(issuer)}"


LOCAL_PASSWORD = "Local-staff-password-1!"  # noqa: S105  # nosec B105 - the local stack's, printed by `clinic dev`


def add_local_account(
    cognito: CognitoIdentityProviderClient,
    pool_id: str,
    client_id: str,
    username: str,
    groups: tuple[str, ...],
) -> LocalAccount:
    """A confirmed account with a permanent password and an authenticator app set up, so that
    signing in locally goes as in AWS after the first sign-in: password, then TOTP code."""
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=LOCAL_PASSWORD, Permanent=True
    )
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    tokens = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": LOCAL_PASSWORD},
    )["AuthenticationResult"]
    secret = cognito.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
    code = totp_code(secret)
    cognito.verify_software_token(AccessToken=tokens["AccessToken"], UserCode=code)
    cognito.admin_set_user_mfa_preference(
        UserPoolId=pool_id,
        Username=username,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    return LocalAccount(username, LOCAL_PASSWORD, groups, secret)


def totp_code(secret: str, at: float | None = None) -> str:
    """The current RFC 6238 code for a base32 secret (what an authenticator app shows)."""
    import base64
    import time

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    # moto's fixed secret is shorter than Cognito's; authenticator apps accept either.
    totp = TOTP(key, 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303  # nosec B303 - RFC 6238's default
    return totp.generate(time.time() if at is None else at).decode()
