"""HMAC keys kept in Secrets Manager (the client hash's, the proof of work's), read when a
request first needs one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from clinic.common.aws import API_CLIENT_CONFIG, LazyClient
from clinic.common.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = Logger(child=True)

SECRET_MAX_AGE_SECONDS = 3600
RETRY_AFTER_SECONDS = 5


class SecretKey:
    """`key()` is an HMAC key held in a secret. Powertools keeps the secret in the container for
    an hour (a rotated secret is picked up); a failed read is a 503, not a 500."""

    purpose = "secret"  # named in the warning when the secret cannot be read

    def __init__(self, secret_arn: str, secrets_client: SecretsManagerClient | None = None) -> None:
        self._secret_arn = secret_arn
        self._provider = LazyClient(
            None,
            lambda: parameters.SecretsProvider(
                boto3_client=secrets_client or boto3.client("secretsmanager", config=API_CLIENT_CONFIG)
            ),
        )

    def __call__(self) -> bytes:
        try:
            secret = self._provider().get(self._secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError:
            logger.warning(f"The {self.purpose} secret could not be read")
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
        return str(secret).encode()


class ClientHashKey(SecretKey):
    """The HMAC key for clients' addresses and patients' contact hashes."""

    purpose = "client-hash"


class ChallengeKey(SecretKey):
    """The HMAC key that signs proof-of-work challenges."""

    purpose = "challenge"
