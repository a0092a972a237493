"""template.yaml as data: parameters, intrinsic functions and the functions it defines.

The local stack and the tests read the one template that deploys, so their tables, bucket,
routes and environment cannot drift from what AWS gets. CloudFormation's YAML tags are
decoded by cfn-lint's loader; this module resolves the intrinsics the template uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
_NO_VALUE = object()
# Parameters a deploy must be given (no default in the template). A stack on this machine (the
# tests, `make dev`) gets these values unless it passes its own; a deploy gets no such help.
LOCAL_REQUIRED_PARAMETERS = {"OpsAlarmEmail": "ops@example-clinic.test"}


class TemplateError(Exception):
    """The template uses something this reader does not understand."""


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function: str
    authorizer: str | None = None  # the HttpApi's Auth.Authorizers entry that guards the route
    scopes: tuple[str, ...] = ()  # AuthorizationScopes: the token must carry one of them

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function with Globals applied and intrinsics resolved."""

    logical_id: str
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    events: dict[str, dict[str, Any]]
    properties: dict[str, Any] = field(repr=False)
    # ReservedConcurrentExecutions: the most containers Lambda runs at once; None when unset.
    reserved_concurrency: int | None = None


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template, matches = decode(str(path))
    if template is None:
        raise TemplateError(f"{path} could not be read: {matches}")
    document: dict[str, Any] = _plain(template)
    return document


def _plain(value: Any) -> Any:
    # cfn-lint's node classes carry line marks; plain dicts and lists are easier to reason about.
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _check_parameter(name: str, spec: dict[str, Any], value: str) -> None:
    """The constraints CloudFormation applies to a parameter value before it deploys anything."""
    problems = []
    if "AllowedValues" in spec and value not in [str(allowed) for allowed in spec["AllowedValues"]]:
        problems.append(f"must be one of {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        problems.append(f"must match {spec['AllowedPattern']}")
    if spec["Type"] == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"must be at least {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"must be at most {spec['MaxValue']}")
    if problems:
        raise TemplateError(f"parameter {name}={value!r} " + " and ".join(problems))


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


class StackTemplate:
    """The template bound to parameter values and to the physical ids of a (local) stack."""

    def __init__(
        self,
        parameters: Mapping[str, Any] | None = None,
        *,
        path: Path = TEMPLATE_PATH,
        stack_name: str = "clinic-local",
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.document = load_template(path)
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = self._parameter_values({**LOCAL_REQUIRED_PARAMETERS, **(parameters or {})})
        self.refs: dict[str, Any] = {}
        self.attributes: dict[tuple[str, str], Any] = {}

    # ------------------------------------------------------------ parameters
    def _parameter_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        declared = self.document.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"unknown parameters: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            value = overrides.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no default and no value")
            if spec["Type"] == "CommaDelimitedList":
                items = [item.strip() for item in value.split(",")] if isinstance(value, str) else value
                values[name] = [str(item) for item in items]
                for item in values[name]:
                    _check_parameter(name, spec, item)
            else:
                values[name] = str(value)
                _check_parameter(name, spec, values[name])
        return values

    # ------------------------------------------------------------ resources
    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.document["Resources"].items()
            if self.condition(resource.get("Condition"))
        }

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: res for key, res in self.resources.items() if res["Type"] == resource_type}

    def physical_name(self, logical_id: str) -> str:
        """The name the local stack gives a resource (CloudFormation would generate one)."""
        return f"{self.stack_name}-{logical_id}".lower()

    def condition(self, name: str | None) -> bool:
        if name is None:
            return True
        return bool(self._evaluate_condition(self.document.get("Conditions", {})[name]))

    def _evaluate_condition(self, expression: Any) -> Any:
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._evaluate_condition(argument[0])
            if function == "Fn::And":
                return all(self._evaluate_condition(item) for item in argument)
            if function == "Fn::Or":
                return any(self._evaluate_condition(item) for item in argument)
            if function == "Condition":
                return self.condition(argument)
        return self.resolve(expression)

    # ------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in `value`; AWS::NoValue removes the key or item."""
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.document["Resources"]:
            return self.physical_name(name)
        raise TemplateError(f"Ref to unknown name {name}")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        if logical_id not in self.document["Resources"]:
            raise TemplateError(f"GetAtt of unknown resource {logical_id}")
        # Resources the local stack does not create still need a plausible value.
        kind = self.document["Resources"][logical_id]["Type"].split("::")[1].lower()
        return f"arn:aws:{kind}:{self.region}:{self.account_id}:{self.physical_name(logical_id)}"

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(parts[0], parts[1])
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self._resolve(items))
        if name == "Fn::Select":
            index, items = argument
            return self._resolve(items)[int(self._resolve(index))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self._resolve(text)).split(separator)
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self._resolve(when_true if self.condition(condition) else when_false)
        if name in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"}:
            return self._evaluate_condition({name: argument})
        raise TemplateError(f"{name} is not supported by the local template reader")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self._resolve(value) for key, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    # ------------------------------------------------------------ functions
    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = self.document.get("Globals", {}).get("Function", {})
        specs = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            properties = _merge(globals_, resource.get("Properties", {}))
            variables = self.resolve(properties.get("Environment", {}).get("Variables", {}))
            reserved = self.resolve(properties.get("ReservedConcurrentExecutions"))
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                handler=properties["Handler"],
                timeout=int(self.resolve(properties.get("Timeout", 3))),
                memory_size=int(self.resolve(properties.get("MemorySize", 128))),
                environment={key: str(value) for key, value in variables.items()},
                events=properties.get("Events", {}),
                properties=properties,
                reserved_concurrency=None if reserved is None else int(reserved),
            )
        return specs

    def http_routes(self) -> list[HttpRoute]:
        apis = self.of_type("AWS::Serverless::HttpApi")
        default = None
        if len(apis) == 1:
            default = next(iter(apis.values()))["Properties"].get("Auth", {}).get("DefaultAuthorizer")
        routes = []
        for spec in self.functions().values():
            for event in spec.events.values():
                if event["Type"] == "HttpApi":
                    props = event["Properties"]
                    auth = props.get("Auth", {})
                    authorizer = auth.get("Authorizer", default)
                    routes.append(
                        HttpRoute(
                            props["Method"].upper(),
                            props["Path"],
                            spec.logical_id,
                            None if authorizer in (None, "NONE") else authorizer,
                            tuple(auth.get("AuthorizationScopes", ())),
                        )
                    )
        return routes

    def http_api(self) -> dict[str, Any]:
        """The resolved properties of the one AWS::Serverless::HttpApi."""
        apis = self.of_type("AWS::Serverless::HttpApi")
        if len(apis) != 1:
            raise TemplateError(f"expected one HttpApi, found {len(apis)}")
        return dict(self.resolve(next(iter(apis.values()))["Properties"]))


def translate(document: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """The SAM transform, run offline: what CloudFormation will deploy from `document`.

    Only the template's own policies are allowed (no managed-policy names to look up),
    so no AWS call is needed.
    """
    import copy

    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    packaged = copy.deepcopy(document)
    # `sam package` replaces local code paths with S3 locations before the transform runs.
    packaged.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://packaged-code/functions.zip"
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    # Resource metadata passes through, so checkov's skips (with their reasons) reach the
    # translated resources as they reach the deployed ones.
    return translator.translate(  # type: ignore[no-any-return]
        packaged, parameter_values={}, get_managed_policy_map=lambda: {}, passthrough_metadata=True
    )
