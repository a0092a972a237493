"""Staff accounts and their tokens in the embedded Cognito, and tokens forged for the 401 tests.

Tokens come from moto's Cognito (the pool, client and groups made from template.yaml), signed
with the key its JWKS publishes. Forged tokens are signed with that same key (moto's published
test key) but carry a wrong claim, or with another key for a bad signature.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from clinic_infra.local.authorizer import gateway_claims
from clinic_infra.staff_users import totp_code

if TYPE_CHECKING:
    from clinic_infra.local.stack import LocalStack

PASSWORD = "Correct-horse-battery-9!"  # meets the pool's policy  # noqa: S105


def fresh_code(secret: str) -> str:
    """The authenticator's code with time left to use it: moto's Cognito accepts only the current
    30-second window (AWS allows some drift), so a code read in a window's last seconds could
    expire before it arrives."""
    import time

    while 30 - time.time() % 30 < 5:
        time.sleep(0.5)
    return totp_code(secret)


@dataclass(frozen=True)
class StaffUser:
    username: str
    access_token: str
    id_token: str

    @property
    def claims(self) -> dict[str, Any]:
        return decode_unverified(self.access_token)


def decode_unverified(token: str) -> dict[str, Any]:
    import base64

    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def add_staff_user(cognito: Any, pool_id: str, client_id: str, username: str, groups: list[str]) -> StaffUser:
    """A confirmed user in `groups`, signed in: its access and ID tokens."""
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    tokens = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return StaffUser(username, tokens["AccessToken"], tokens["IdToken"])


def sign_in(stack: LocalStack, username: str) -> dict[str, str]:
    """Sign in to the local stack as one of its accounts: password, then the authenticator app's
    code (the pool requires TOTP). The access and ID tokens."""
    account = next(a for a in stack.staff_accounts if a.username == username)
    assert stack.template is not None
    pool, client = stack.template.refs["StaffUserPool"], stack.template.refs["StaffConsoleClient"]
    cognito = stack.client("cognito-idp")
    challenge = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": account.password},
    )
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    tokens = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool,
        ClientId=client,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": fresh_code(account.totp_secret)},
    )["AuthenticationResult"]
    return {"access": tokens["AccessToken"], "id": tokens["IdToken"]}


def moto_signing_key() -> RSAKey:
    """The private key moto's Cognito signs with (published with moto, for tests)."""
    data = resources.files("moto").joinpath("cognitoidp/resources/jwks-private.json.gz").read_bytes()
    return RSAKey.import_key(json.loads(gzip.decompress(data)))


def forged(claims: dict[str, Any], *, key: RSAKey | None = None, **changes: Any) -> str:
    """`claims` with `changes` (None removes a claim), signed as moto signs (kid "dummy")."""
    payload = {name: value for name, value in {**claims, **changes}.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, payload, key or moto_signing_key())


def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": "dummy"})


def expired(claims: dict[str, Any]) -> str:
    now = int(time.time())
    return forged(claims, iat=now - 7200, auth_time=now - 7200, exp=now - 3600)


def authorizer_context(claims: dict[str, Any]) -> dict[str, Any]:
    """requestContext.authorizer as API Gateway's JWT authorizer fills it."""
    return {"jwt": {"claims": gateway_claims(claims), "scopes": None}}
