"""What AWS authorizes each recorded call against: IAM action, resource ARN, condition keys.

From AWS's Service Authorization Reference and each service's own documentation:
- DynamoDB: each item of TransactWriteItems is authorized as its own PutItem, UpdateItem,
  DeleteItem or ConditionCheckItem on its table (Developer Guide, "Using IAM with DynamoDB
  transactions"), with dynamodb:EnclosingOperation; Query on an index against the index ARN.
  On a table under a customer managed key, DynamoDB decrypts the table key with the caller's
  permission (kms:Decrypt, encryption context aws:dynamodb:tableName and subscriberId); the
  table key itself is made by DynamoDB's own grant, not the caller's (KMS Developer Guide,
  "How Amazon DynamoDB uses AWS KMS"). Scan, like Query, on the table or index it reads.
  Stream records are encrypted with the table's key.
- Secrets Manager: GetSecretValue decrypts with the caller's kms:Decrypt (context SecretARN).
- SNS and SQS: a publisher or producer to an encrypted topic or queue needs
  kms:GenerateDataKey and kms:Decrypt ("Configuring AWS KMS permissions" in both guides).
- SES v2 SendEmail: ses:SendEmail on the sender's identity, the configuration set, and in the
  sandbox each recipient's identity; condition keys ses:FromAddress, ses:FromDisplayName,
  ses:FeedbackAddress, ses:ApiVersion (ses:Recipients is multi-valued: see evaluator.py). Which
  identity covers an address (the address or its domain) is SES's choice, so both must pass.
- Lambda itself, with the function's role: CreateLogStream and PutLogEvents on the function's
  log group (LoggingConfig), xray:PutTraceSegments and PutTelemetryRecords (Tracing: Active),
  and for a DynamoDB stream mapping DescribeStream, GetRecords, GetShardIterator, ListStreams
  and sqs:SendMessage to its OnFailure destination (Lambda Developer Guide, "Using AWS Lambda
  with Amazon DynamoDB").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from clinic_infra.template import StackTemplate
from tests.iam.evaluator import Request, request

Call = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    action: str
    resource: str  # which of RESOURCES names the ARN
    keys: tuple[str, ...] = ()  # condition keys taken from the call's parameters
    kms: tuple[str, ...] = ()  # KMS actions the service makes with the caller's permission


_DYNAMODB_KEYS = ("dynamodb:ReturnValues", "dynamodb:Select", "dynamodb:ReturnConsumedCapacity")
_SES_KEYS = ("ses:FromAddress", "ses:FromDisplayName", "ses:FeedbackAddress")

# (botocore service, operation) -> how AWS authorizes it. A call missing here fails the check.
RULES: dict[tuple[str, str], Rule] = {
    ("s3", "GetObject"): Rule("s3:GetObject", "object"),
    ("dynamodb", "GetItem"): Rule("dynamodb:GetItem", "table", _DYNAMODB_KEYS, ("kms:Decrypt",)),
    ("dynamodb", "PutItem"): Rule("dynamodb:PutItem", "table", _DYNAMODB_KEYS, ("kms:Decrypt",)),
    ("dynamodb", "UpdateItem"): Rule("dynamodb:UpdateItem", "table", _DYNAMODB_KEYS, ("kms:Decrypt",)),
    ("dynamodb", "DeleteItem"): Rule("dynamodb:DeleteItem", "table", _DYNAMODB_KEYS, ("kms:Decrypt",)),
    ("dynamodb", "Query"): Rule("dynamodb:Query", "table-or-index", _DYNAMODB_KEYS, ("kms:Decrypt",)),
    ("dynamodb", "Scan"): Rule("dynamodb:Scan", "table-or-index", _DYNAMODB_KEYS, ("kms:Decrypt",)),
    ("dynamodbstreams", "DescribeStream"): Rule("dynamodb:DescribeStream", "stream"),
    ("dynamodbstreams", "GetShardIterator"): Rule("dynamodb:GetShardIterator", "stream"),
    ("dynamodbstreams", "GetRecords"): Rule("dynamodb:GetRecords", "stream", kms=("kms:Decrypt",)),
    ("dynamodbstreams", "ListStreams"): Rule("dynamodb:ListStreams", "any"),
    ("secretsmanager", "GetSecretValue"): Rule(
        "secretsmanager:GetSecretValue",
        "secret",
        ("secretsmanager:SecretId", "secretsmanager:VersionId", "secretsmanager:VersionStage"),
        ("kms:Decrypt",),
    ),
    ("sns", "Publish"): Rule("sns:Publish", "topic", kms=("kms:GenerateDataKey", "kms:Decrypt")),
    ("sqs", "SendMessage"): Rule("sqs:SendMessage", "queue", kms=("kms:GenerateDataKey", "kms:Decrypt")),
    ("sesv2", "SendEmail"): Rule("ses:SendEmail", "email", _SES_KEYS),
    ("logs", "CreateLogStream"): Rule("logs:CreateLogStream", "log-group"),
    ("logs", "PutLogEvents"): Rule("logs:PutLogEvents", "log-stream"),
    ("xray", "PutTraceSegments"): Rule("xray:PutTraceSegments", "any"),
    ("xray", "PutTelemetryRecords"): Rule("xray:PutTelemetryRecords", "any"),
}
TRANSACT_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
# Where a condition key's value is in the recorded parameters.
PARAMETER_OF = {
    "dynamodb:ReturnValues": "ReturnValues",
    "dynamodb:Select": "Select",
    "dynamodb:ReturnConsumedCapacity": "ReturnConsumedCapacity",
    "secretsmanager:SecretId": "SecretId",
    "secretsmanager:VersionId": "VersionId",
    "secretsmanager:VersionStage": "VersionStage",
    "ses:FromAddress": "FromEmailAddress",
    "ses:FromDisplayName": "FromDisplayName",
    "ses:FeedbackAddress": "FeedbackForwardingEmailAddress",
}
# The service a KMS request comes through, as kms:ViaService names it.
VIA = {"dynamodb": "dynamodb", "dynamodbstreams": "dynamodb", "secretsmanager": "secretsmanager"}


class UnmappedCall(Exception):
    """A recorded call this table does not say how AWS authorizes: add it, from AWS's docs."""


class Binding:
    """ARNs of the stack the calls were made in, and which key encrypts which resource."""

    def __init__(self, stack: StackTemplate) -> None:
        self.stack = stack
        self.region = stack.region
        self.account = stack.account_id
        self.keys: dict[str, str] = {}  # resource ARN -> KMS key ARN
        kinds = {
            "AWS::DynamoDB::Table": (self.table_arn, ("SSESpecification", "KMSMasterKeyId")),
            "AWS::SNS::Topic": (lambda ref: ref, ("KmsMasterKeyId",)),
            "AWS::SQS::Queue": (self.queue_arn, ("KmsMasterKeyId",)),
            "AWS::SecretsManager::Secret": (lambda ref: ref, ("KmsKeyId",)),
        }
        for kind, (arn_of, path) in kinds.items():
            for logical_id, resource in stack.of_type(kind).items():
                key: Any = stack.resolve(resource.get("Properties", {}))
                for part in path:
                    key = key.get(part) if isinstance(key, dict) else None
                if key:
                    self.keys[arn_of(str(stack.resolve({"Ref": logical_id})))] = self.key_arn(str(key))

    def arn(self, service: str, rest: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{rest}"

    def key_arn(self, key: str) -> str:
        return key if key.startswith("arn:") else self.arn("kms", f"key/{key}")

    def table_arn(self, name: str) -> str:
        return name if name.startswith("arn:") else self.arn("dynamodb", f"table/{name}")

    def queue_arn(self, url_or_arn: str) -> str:
        return (
            url_or_arn
            if url_or_arn.startswith("arn:")
            else self.arn("sqs", url_or_arn.rstrip("/").split("/")[-1])
        )

    def global_keys(self) -> dict[str, str]:
        return {
            "aws:RequestedRegion": self.region,
            "aws:SecureTransport": "true",
            "aws:PrincipalAccount": self.account,
        }


def _identities(address: str) -> list[str]:
    return [f"identity/{address}", f"identity/{address.rsplit('@', 1)[1]}"]


def _index_or_table(params: Mapping[str, Any], binding: Binding) -> list[str]:
    table = binding.table_arn(params["TableName"])
    return [f"{table}/index/{params['IndexName']}" if "IndexName" in params else table]


def _email(params: Mapping[str, Any], binding: Binding) -> list[str]:
    names = _identities(params["FromEmailAddress"])
    for recipient in params.get("Recipients", []):
        names += _identities(recipient)
    if "ConfigurationSetName" in params:
        names.append(f"configuration-set/{params['ConfigurationSetName']}")
    return [binding.arn("ses", name) for name in dict.fromkeys(names)]


def _log(params: Mapping[str, Any], binding: Binding, stream: bool) -> list[str]:
    group = f"log-group:{params['logGroupName']}"
    return [binding.arn("logs", f"{group}:log-stream:{params['logStreamName']}" if stream else group)]


# Rule.resource -> the ARNs a call is authorized against, from its parameters.
RESOURCES: dict[str, Callable[[Mapping[str, Any], Binding], list[str]]] = {
    "any": lambda params, binding: ["*"],
    "object": lambda params, binding: [f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"],
    "table": lambda params, binding: [binding.table_arn(params["TableName"])],
    "table-or-index": _index_or_table,
    "stream": lambda params, binding: [params["StreamArn"]],
    "secret": lambda params, binding: [params["SecretId"]],
    "topic": lambda params, binding: [params.get("TopicArn") or params["TargetArn"]],
    "queue": lambda params, binding: [binding.queue_arn(params["QueueUrl"])],
    "log-group": lambda params, binding: _log(params, binding, stream=False),
    "log-stream": lambda params, binding: _log(params, binding, stream=True),
    "email": _email,
}


def _kms(call: Call, rule: Rule, resource: str, binding: Binding, reason: str) -> Iterator[Request]:
    """The KMS requests the service makes with the caller's permission for this call."""
    service = call["service"]
    if service in ("dynamodb", "dynamodbstreams"):
        table = resource.split("/index/")[0].split("/stream/")[0]
        encrypted, name = table, table.split(":table/")[-1]
        context = {
            "kms:EncryptionContext:aws:dynamodb:tableName": name,
            "kms:EncryptionContext:aws:dynamodb:subscriberId": binding.account,
        }
    elif service == "secretsmanager":
        encrypted, context = resource, {"kms:EncryptionContext:SecretARN": resource}
    else:
        encrypted, context = resource, {}
    key = binding.keys.get(encrypted)
    if key is None:
        return  # not under a customer managed key: no KMS request with the caller's permission
    via = VIA.get(service, service)
    context |= {
        "kms:ViaService": f"{via}.{binding.region}.amazonaws.com",
        "kms:CallerAccount": binding.account,
        "aws:PrincipalAccount": binding.account,
    }
    for action in rule.kms:
        yield request(action, key, f"{reason}, through {via}", context)


def requests_for(call: Call, binding: Binding) -> list[Request]:
    """Every authorization AWS makes for one recorded call."""
    service, operation, params = call["service"], call["operation"], call["params"]
    reason = f"{call['function']}: {service} {operation}"
    if service == "dynamodb" and operation == "TransactWriteItems":
        found = []
        for item in params["Items"]:
            item_rule = Rule(TRANSACT_ITEMS[item["Kind"]], "table", _DYNAMODB_KEYS, ("kms:Decrypt",))
            item_call = {**call, "params": item}
            item_reason = f"{reason} ({item['Kind']} on {item['TableName']})"
            enclosing = {"dynamodb:EnclosingOperation": operation}
            found += _requests(item_call, item_rule, binding, item_reason, enclosing)
        return found
    rule = RULES.get((service, operation))
    if rule is None:
        raise UnmappedCall(f"{reason}: add how AWS authorizes {service} {operation} to RULES")
    return _requests(call, rule, binding, reason, {})


def _requests(call: Call, rule: Rule, binding: Binding, reason: str, extra: dict[str, str]) -> list[Request]:
    params = call["params"]
    context = binding.global_keys() | extra
    context |= {key: str(params[PARAMETER_OF[key]]) for key in rule.keys if PARAMETER_OF[key] in params}
    if rule.resource == "email":
        context["ses:ApiVersion"] = "2"
    found = []
    for resource in RESOURCES[rule.resource](params, binding):
        found.append(request(rule.action, resource, reason, context))
        found += _kms(call, rule, resource, binding, reason)
    return found


LOG_STREAM = "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef"


def lambda_calls(stack: StackTemplate) -> list[dict[str, Any]]:
    """The calls Lambda makes with each function's role, outside the function's code: from the
    template's LoggingConfig, Tracing and event source mappings."""
    calls: list[dict[str, Any]] = []

    def add(function: str, service: str, operation: str, **params: Any) -> None:
        calls.append({"function": function, "service": service, "operation": operation, "params": params})

    for name, spec in stack.functions().items():
        properties = stack.resolve(spec.properties)
        group = properties.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}")
        add(name, "logs", "CreateLogStream", logGroupName=group, logStreamName=LOG_STREAM)
        add(name, "logs", "PutLogEvents", logGroupName=group, logStreamName=LOG_STREAM)
        if properties.get("Tracing") == "Active":
            add(name, "xray", "PutTraceSegments")
            add(name, "xray", "PutTelemetryRecords")
        for event in properties.get("Events", {}).values():
            if event["Type"] != "DynamoDB":
                continue
            stream = event["Properties"]["Stream"]
            for operation in ("DescribeStream", "GetShardIterator", "GetRecords", "ListStreams"):
                add(name, "dynamodbstreams", operation, StreamArn=stream)
            failure = event["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
            if failure.get("Type", "SQS") == "SQS" and "Destination" in failure:
                add(name, "sqs", "SendMessage", QueueUrl=failure["Destination"])
    return calls


def requests_by_function(calls: Iterable[Call], binding: Binding) -> dict[str, set[Request]]:
    found: dict[str, set[Request]] = {}
    for call in calls:
        found.setdefault(call["function"], set()).update(requests_for(call, binding))
    return found
