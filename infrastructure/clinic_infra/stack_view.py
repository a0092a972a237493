"""What `clinic doctor` reads about a stack, deployed or local, in the shapes AWS answers with.

A deployed stack is described by CloudFormation (parameters, outputs, resources) and by
Lambda and EventBridge (each function's configuration, its stream mappings, its schedule).
The local stack describes itself in the same shapes at `/_local/stack.json`, because its
stream mapping and schedule are its own threads, not moto's.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

import boto3
from botocore.exceptions import ClientError

ClientFactory = Callable[[str], Any]


class StackLookupError(Exception):
    """The stack, or a resource the doctor needs, could not be found."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Message
    body: bytes


def http_call(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> HttpAnswer:
    """One HTTP request; any status is an answer (only a failure to connect raises)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310: http(s) only
            return HttpAnswer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.headers, error.read())


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    resource_type: str
    physical_id: str


class StackView:
    """A stack's name, API, parameters and resources, and clients for the AWS it runs in."""

    local = False

    def __init__(
        self,
        name: str,
        api_url: str,
        parameters: Mapping[str, str],
        resources: list[StackResource],
        client: ClientFactory,
    ) -> None:
        self.name = name
        self.api_url = api_url.rstrip("/")
        self.parameters = dict(parameters)
        self.resources = {resource.logical_id: resource for resource in resources}
        self.client = client

    def physical_id(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise StackLookupError(f"stack {self.name} has no resource {logical_id}")
        return self.resources[logical_id].physical_id

    def of_type(self, resource_type: str) -> list[StackResource]:
        return [resource for resource in self.resources.values() if resource.resource_type == resource_type]

    def parameter_list(self, name: str) -> list[str]:
        """A CommaDelimitedList parameter's items."""
        if name not in self.parameters:
            raise StackLookupError(f"stack {self.name} has no parameter {name}")
        return [item.strip() for item in self.parameters[name].split(",") if item.strip()]

    def function_configuration(self, logical_id: str) -> dict[str, Any]:
        """Lambda's GetFunctionConfiguration answer for one of the stack's functions."""
        answer: dict[str, Any] = self.client("lambda").get_function_configuration(
            FunctionName=self.physical_id(logical_id)
        )
        return answer

    def environment(self, logical_id: str) -> dict[str, str]:
        variables: dict[str, str] = (
            self.function_configuration(logical_id).get("Environment", {}).get("Variables", {})
        )
        return variables

    def stream_mappings(self, logical_id: str) -> list[dict[str, Any]]:
        """Lambda's ListEventSourceMappings entries for the function."""
        paginator = self.client("lambda").get_paginator("list_event_source_mappings")
        pages = paginator.paginate(FunctionName=self.physical_id(logical_id))
        return [mapping for page in pages for mapping in page.get("EventSourceMappings", [])]

    def schedules(self, logical_id: str) -> list[dict[str, Any]]:
        """The stack's EventBridge rules that target the function (DescribeRule answers)."""
        events = self.client("events")
        function_arn = self.function_configuration(logical_id)["FunctionArn"]
        rules = []
        for rule in self.of_type("AWS::Events::Rule"):
            targets = events.list_targets_by_rule(Rule=rule.physical_id).get("Targets", [])
            if any(target.get("Arn") == function_arn for target in targets):
                rules.append(events.describe_rule(Name=rule.physical_id))
        return rules


def deployed_stack(
    stack_name: str, client: ClientFactory = boto3.client, api_url: str | None = None
) -> StackView:
    """A deployed stack as CloudFormation describes it (boto3's own credentials and region)."""
    cloudformation = client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        raise StackLookupError(f"CloudFormation has no stack {stack_name}: {error}") from None
    parameters = {
        item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])
    }
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    resources = [
        StackResource(item["LogicalResourceId"], item["ResourceType"], item.get("PhysicalResourceId", ""))
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        for item in page["StackResourceSummaries"]
    ]
    if api_url is None:
        if "ApiUrl" not in outputs:
            raise StackLookupError(f"stack {stack_name} has no ApiUrl output; pass --api-url")
        api_url = outputs["ApiUrl"]
    return StackView(stack_name, api_url, parameters, resources, client)


class LocalStackView(StackView):
    """The local stack (`make dev`), as it describes itself at /_local/stack.json."""

    local = True

    def __init__(self, status: Mapping[str, Any], api_url: str, client: ClientFactory) -> None:
        super().__init__(
            status["StackName"],
            api_url,
            {item["ParameterKey"]: item["ParameterValue"] for item in status["Parameters"]},
            [
                StackResource(item["LogicalResourceId"], item["ResourceType"], item["PhysicalResourceId"])
                for item in status["StackResources"]
            ],
            client,
        )
        self._status = status

    def function_configuration(self, logical_id: str) -> dict[str, Any]:
        if logical_id not in self._status["Functions"]:
            raise StackLookupError(f"the local stack runs no function {logical_id}")
        configuration: dict[str, Any] = self._status["Functions"][logical_id]
        return configuration

    def stream_mappings(self, logical_id: str) -> list[dict[str, Any]]:
        return [item for item in self._status["EventSourceMappings"] if item["FunctionName"] == logical_id]

    def schedules(self, logical_id: str) -> list[dict[str, Any]]:
        return [item for item in self._status["Schedules"] if item["FunctionName"] == logical_id]


def local_stack(api_url: str, aws_url: str) -> LocalStackView:
    """The local stack whose gateway answers on `api_url` and whose embedded AWS is `aws_url`."""
    from clinic_infra.local.stack import CREDENTIALS, REGION  # the local stack needs the dev extra

    try:
        answer = http_call("GET", f"{api_url.rstrip('/')}/_local/stack.json")
    except OSError as error:
        raise StackLookupError(f"no local stack answers on {api_url} ({error}); start it: make dev") from None
    if answer.status != 200:
        raise StackLookupError(
            f"{api_url}/_local/stack.json answered {answer.status}: is it the local stack?"
        )

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=aws_url, region_name=REGION, **CREDENTIALS)

    return LocalStackView(json.loads(answer.body), api_url, client)
