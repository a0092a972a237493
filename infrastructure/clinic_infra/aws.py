"""How the tools make AWS clients: one factory, typed per service.

`provision`, the local stack and `clinic doctor` make their clients with a `ClientFactory`; calling it with a
service's name gives that service's typed client, so mypy checks every call the tools make.
(`publish` takes an S3 client, or makes one with boto3's configuration.) The type stubs are
a development dependency, read by the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import boto3

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


ServiceName = Literal[
    "cloudformation",
    "cloudwatch",
    "cognito-idp",
    "dynamodb",
    "dynamodbstreams",
    "events",
    "kms",
    "lambda",
    "s3",
    "secretsmanager",
    "ses",
    "sesv2",
    "sns",
    "sqs",
]


class ClientFactory:
    """`clients("s3")` is an S3 client, and so on for each service the tools call.

    Without arguments, clients use boto3's own configuration (moto's `mock_aws` in the tests,
    the operator's profile for `clinic publish`); the local stack binds them to its endpoint.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region_name = region_name
        self._access_key_id = aws_access_key_id
        self._secret_access_key = aws_secret_access_key

    @overload
    def __call__(self, service_name: Literal["cloudformation"]) -> CloudFormationClient: ...
    @overload
    def __call__(self, service_name: Literal["cloudwatch"]) -> CloudWatchClient: ...
    @overload
    def __call__(self, service_name: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
    @overload
    def __call__(self, service_name: Literal["dynamodb"]) -> DynamoDBClient: ...
    @overload
    def __call__(self, service_name: Literal["dynamodbstreams"]) -> DynamoDBStreamsClient: ...
    @overload
    def __call__(self, service_name: Literal["events"]) -> EventBridgeClient: ...
    @overload
    def __call__(self, service_name: Literal["kms"]) -> KMSClient: ...
    @overload
    def __call__(self, service_name: Literal["lambda"]) -> LambdaClient: ...
    @overload
    def __call__(self, service_name: Literal["s3"]) -> S3Client: ...
    @overload
    def __call__(self, service_name: Literal["secretsmanager"]) -> SecretsManagerClient: ...
    @overload
    def __call__(self, service_name: Literal["ses"]) -> SESClient: ...
    @overload
    def __call__(self, service_name: Literal["sesv2"]) -> SESV2Client: ...
    @overload
    def __call__(self, service_name: Literal["sns"]) -> SNSClient: ...
    @overload
    def __call__(self, service_name: Literal["sqs"]) -> SQSClient: ...
    def __call__(self, service_name: ServiceName) -> BaseClient:
        return boto3.client(
            service_name,
            endpoint_url=self.endpoint_url,
            region_name=self.region_name,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
        )
