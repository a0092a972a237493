"""Create the template's stateful resources in an AWS endpoint (moto, for tests and `make dev`).

Each resource is made from its own definition in template.yaml (keys, indexes, streams,
TTL, encryption), so the embedded AWS has the same shape as the deployed stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clinic_infra.aws import ClientFactory
from clinic_infra.template import StackTemplate

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeNameType

Creator = Callable[[StackTemplate, str, dict[str, Any], ClientFactory], None]


def _kms_key(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    key = client("kms").create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
    stack.refs[logical_id] = key["KeyId"]
    stack.attributes[(logical_id, "Arn")] = key["Arn"]
    stack.attributes[(logical_id, "KeyId")] = key["KeyId"]


def _bucket(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    s3 = client("s3")
    name = props.get("BucketName") or stack.physical_name(logical_id)
    s3.create_bucket(Bucket=name)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                # CloudFormation's property names differ from the API's here.
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                        "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                    }
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    stack.refs[logical_id] = name
    stack.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _table(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    dynamodb = client("dynamodb")
    name = props.get("TableName") or stack.physical_name(logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        request["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled", False)),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
            **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
        }
    if "DeletionProtectionEnabled" in props:
        request["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
    description = dynamodb.create_table(**request)["TableDescription"]
    if "TimeToLiveSpecification" in props:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    recovery = props.get("PointInTimeRecoverySpecification", {})
    if recovery.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    stack.refs[logical_id] = name
    stack.attributes[(logical_id, "Arn")] = description["TableArn"]
    if "LatestStreamArn" in description:
        stack.attributes[(logical_id, "StreamArn")] = description["LatestStreamArn"]


def _topic(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    attributes = {}
    if "KmsMasterKeyId" in props:
        attributes["KmsMasterKeyId"] = str(props["KmsMasterKeyId"])
    name = props.get("TopicName") or stack.physical_name(logical_id)
    arn = client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    stack.refs[logical_id] = arn
    stack.attributes[(logical_id, "TopicArn")] = arn
    stack.attributes[(logical_id, "TopicName")] = name


def _subscription(
    stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory
) -> None:
    arn = client("sns").subscribe(
        TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"]
    )["SubscriptionArn"]
    stack.refs[logical_id] = arn


def _queue(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    sqs = client("sqs")
    name = props.get("QueueName") or stack.physical_name(logical_id)
    names: tuple[QueueAttributeNameType, ...] = (
        "KmsMasterKeyId",
        "MessageRetentionPeriod",
        "VisibilityTimeout",
        "SqsManagedSseEnabled",
    )
    attributes = {key: str(props[key]) for key in names if key in props}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.refs[logical_id] = url
    stack.attributes.update(
        {(logical_id, "Arn"): arn, (logical_id, "QueueName"): name, (logical_id, "QueueUrl"): url}
    )


def _email_identity(
    stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory
) -> None:
    identity = props["EmailIdentity"]
    # SES v1's verify calls mark the identity verified in moto, as DKIM records resolving (a
    # domain) or clicking the link (an address) would in AWS.
    if "@" in identity:
        client("ses").verify_email_identity(EmailAddress=identity)
    else:
        client("ses").verify_domain_identity(Domain=identity)
    stack.refs[logical_id] = identity


def _configuration_set(
    stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory
) -> None:
    name = props.get("Name") or stack.physical_name(logical_id)
    options = {"DeliveryOptions": props["DeliveryOptions"]} if "DeliveryOptions" in props else {}
    client("sesv2").create_configuration_set(ConfigurationSetName=name, **options)
    stack.refs[logical_id] = name


def _alarm(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    name = props.get("AlarmName") or stack.physical_name(logical_id)
    # A threshold from a Number parameter resolves to its string, as CloudFormation coerces it.
    threshold = {"Threshold": float(props["Threshold"])} if "Threshold" in props else {}
    client("cloudwatch").put_metric_alarm(**{**props, **threshold, "AlarmName": name})  # the API's own names
    stack.refs[logical_id] = name


def _secret(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    secrets = client("secretsmanager")
    generate = props.get("GenerateSecretString", {})
    value = secrets.get_random_password(
        PasswordLength=int(generate.get("PasswordLength", 32)),
        ExcludePunctuation=bool(generate.get("ExcludePunctuation", False)),
    )["RandomPassword"]
    name = props.get("Name") or stack.physical_name(logical_id)
    extra = {"KmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}
    arn = secrets.create_secret(Name=name, SecretString=value, **extra)["ARN"]
    stack.refs[logical_id] = arn  # Ref of a secret is its ARN


def _user_pool(stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory) -> None:
    # CloudFormation's property names are the API's, except the pool's name and its MFA
    # methods, which the API sets with a call of their own.
    request = {key: value for key, value in props.items() if key not in ("UserPoolName", "EnabledMfas")}
    cognito = client("cognito-idp")
    pool = cognito.create_user_pool(
        PoolName=props.get("UserPoolName") or stack.physical_name(logical_id), **request
    )["UserPool"]
    if "SOFTWARE_TOKEN_MFA" in props.get("EnabledMfas", []):
        cognito.set_user_pool_mfa_config(
            UserPoolId=pool["Id"],
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=props.get("MfaConfiguration", "OFF"),
        )
    stack.refs[logical_id] = pool["Id"]
    issuer = f"cognito-idp.{stack.region}.amazonaws.com/{pool['Id']}"
    stack.attributes.update(
        {
            (logical_id, "Arn"): pool["Arn"],
            (logical_id, "UserPoolId"): pool["Id"],
            (logical_id, "ProviderName"): issuer,
            (logical_id, "ProviderURL"): f"https://{issuer}",
        }
    )


def _user_pool_group(
    stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory
) -> None:
    group = client("cognito-idp").create_group(**props)["Group"]
    stack.refs[logical_id] = group["GroupName"]


def _user_pool_client(
    stack: StackTemplate, logical_id: str, props: dict[str, Any], client: ClientFactory
) -> None:
    request = {"ClientName": stack.physical_name(logical_id), **props}
    app = client("cognito-idp").create_user_pool_client(**request)["UserPoolClient"]
    stack.refs[logical_id] = app["ClientId"]
    stack.attributes[(logical_id, "ClientId")] = app["ClientId"]


# Keys first (others are encrypted with them), subscriptions and alarms after their topics,
# identities after the configuration set they default to, a pool before its groups and clients.
CREATORS: dict[str, Creator] = {
    "AWS::KMS::Key": _kms_key,
    "AWS::S3::Bucket": _bucket,
    "AWS::DynamoDB::Table": _table,
    "AWS::SNS::Topic": _topic,
    "AWS::SQS::Queue": _queue,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SES::ConfigurationSet": _configuration_set,
    "AWS::SES::EmailIdentity": _email_identity,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
}


def provision(stack: StackTemplate, client: ClientFactory | None = None) -> StackTemplate:
    """Create every resource of the kinds above; the stack's refs then name the real ones.

    `client(service_name)` makes the boto3 clients: by default with boto3's configuration
    (moto's `mock_aws` in the tests), or bound to the local stack's endpoint.
    """
    client = client or ClientFactory()
    for resource_type, create in CREATORS.items():
        for logical_id, resource in stack.of_type(resource_type).items():
            create(stack, logical_id, stack.resolve(resource.get("Properties", {})), client)
    return stack
