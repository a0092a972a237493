"""The HTTP API's JWT authorizer, locally: what API Gateway checks before a protected route runs.

As API Gateway documents it for HTTP APIs: the token comes from the identity source (the
Authorization header, with or without "Bearer "); its signature must verify with a key of the
issuer's JWKS (RSA only); `iss` must be the configured issuer; `aud`, or `client_id` when the
token has no `aud`, must be one of the configured audiences; `exp` must be in the future and
`nbf` and `iat` in the past. Any failure is a 401 `{"message":"Unauthorized"}` and the function
never runs. The claims reach the function in requestContext.authorizer.jwt.claims, every value
a string and an array as one bracketed string ("[admin staff]").

A Cognito ID token carries the console's client id as `aud`, so it passes these checks; the
staff routes' AuthorizationScopes turn it away (the gateway checks a route's scopes, 403), and
the function refuses any token_use but `access` as well.
The token checks are joserfc's (a JOSE library), not ours.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BEARER = "bearer "
KeySets = Callable[[str], KeySet]


class TokenRefused(Exception):
    """The token is missing or fails a check; the message says which (for the local log)."""


def claim_string(value: Any) -> str:
    """A claim as API Gateway passes it on: a string; an array as "[a b]"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: claim_string(value) for name, value in claims.items()}


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    header: str  # lower case, from `$request.header.<Name>`
    issuer: str
    audience: tuple[str, ...]
    key_sets: KeySets
    token_use: str | None = None

    @classmethod
    def from_template(
        cls, name: str, spec: Mapping[str, Any], key_sets: KeySets, token_use: str | None
    ) -> JwtAuthorizer:
        """From one of the HttpApi's Auth.Authorizers (intrinsics resolved)."""
        source = str(spec.get("IdentitySource", "$request.header.Authorization"))
        if not source.startswith("$request.header."):
            raise ValueError(f"authorizer {name}: only a header identity source is supported, not {source}")
        config = spec["JwtConfiguration"]
        return cls(
            name=name,
            header=source.removeprefix("$request.header.").lower(),
            issuer=str(config["issuer"]),
            audience=tuple(str(item) for item in config.get("audience", [])),
            key_sets=key_sets,
            token_use=token_use,
        )

    def claims(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The token's claims, or TokenRefused."""
        value = (headers.get(self.header) or "").strip()
        if value.lower().startswith(BEARER):
            value = value[len(BEARER) :].strip()
        if not value:
            raise TokenRefused("no token")
        try:
            token = jwt.decode(value, self.key_sets(self.issuer), algorithms=["RS256", "RS384", "RS512"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer}, exp={"essential": True}
            ).validate(token.claims)
        except (JoseError, ValueError, TypeError) as error:
            raise TokenRefused(f"{type(error).__name__}: {error}") from None
        claims = token.claims
        audiences = claims["aud"] if "aud" in claims else claims.get("client_id")
        if not set(audiences if isinstance(audiences, list) else [audiences]) & set(self.audience):
            raise TokenRefused("audience (aud or client_id) not accepted")
        if self.token_use is not None and claims.get("token_use") != self.token_use:
            raise TokenRefused(f"token_use must be {self.token_use}")
        return claims


class IssuerKeys:
    """The JWKS of each issuer, fetched once: a Cognito issuer's from the embedded AWS (moto serves
    `<endpoint>/<pool id>/.well-known/jwks.json`), as API Gateway fetches it from Cognito."""

    def __init__(self, aws_url: str) -> None:
        self._aws_url = aws_url.rstrip("/")
        self._sets: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def __call__(self, issuer: str) -> KeySet:
        with self._lock:
            if issuer not in self._sets:
                pool_id = issuer.rstrip("/").rsplit("/", 1)[-1]
                url = f"{self._aws_url}/{pool_id}/.well-known/jwks.json"
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  # nosec B310 - the local endpoint
                    self._sets[issuer] = KeySet.import_key_set(json.loads(response.read()))
            return self._sets[issuer]
