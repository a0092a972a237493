"""`clinic dev`: the whole product on this machine, built from template.yaml.

moto's server is the embedded AWS (inspect it with `aws --endpoint-url`), the template's
stateful resources are created in it, content/ is published into its bucket, and the
template's functions answer through the local gateway.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from clinic.articles.published import PUBLISHED_PREFIX
from clinic_infra.aws import ClientFactory
from clinic_infra.content import ContentError
from clinic_infra.local.authorizer import IssuerKeys, JwtAuthorizer
from clinic_infra.local.aws import EmbeddedAws
from clinic_infra.local.calls import CALL_LOG_ENV
from clinic_infra.local.console import metric_summary
from clinic_infra.local.docs import docs_pages
from clinic_infra.local.events import ScheduledInvoker, StreamEventSource, rate_seconds
from clinic_infra.local.functions import LocalFunction
from clinic_infra.local.gateway import CorsConfig, LocalGateway
from clinic_infra.local.options import DEFAULT_CONCURRENCY, ROOT
from clinic_infra.local.outbox import outbox_json, outbox_page
from clinic_infra.local.republish import ContentWatcher
from clinic_infra.local.site import SiteServer
from clinic_infra.local.ttl import TimeToLive
from clinic_infra.openapi import render_document
from clinic_infra.provision import provision
from clinic_infra.publish import publish
from clinic_infra.staff_users import ADMIN_GROUP, STAFF_GROUP, LocalAccount, add_local_account
from clinic_infra.template import StackTemplate

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # nosec B105


@dataclass
class DevConfig:
    host: str = "127.0.0.1"
    aws_port: int = 5000
    api_port: int = 3000
    site_port: int = 8000
    content_dir: Path = ROOT / "content"
    site_dir: Path = ROOT / "site"
    log_file: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    sweep_every: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    # Resources are named after it; stacks in one process share moto's backends.
    stack_name: str = "clinic-local"
    # The tests' least-privilege check: each function's AWS calls, recorded here (off if None).
    aws_call_log: Path | None = None
    # Republish content/ whenever a file under it changes.
    watch_content: bool = True
    # Print functions' metric lines raw instead of as one-line summaries.
    verbose: bool = False


class LocalStack:
    """Start, use and stop the local product; `make dev` and the end-to-end tests both use this."""

    def __init__(self, config: DevConfig, out: TextIO = sys.stdout) -> None:
        self.config = config
        self._out = out
        self._log_lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._log_file = config.log_file.open("a", encoding="utf-8") if config.log_file else None
        self.aws_url = f"http://{config.host}:{config.aws_port}"
        # `client("s3")` and so on: clients of the embedded AWS.
        self.client = ClientFactory(endpoint_url=self.aws_url, region_name=REGION, **CREDENTIALS)
        self.site_url = f"http://{config.host}:{config.site_port}"
        self.api_url = f"http://{config.host}:{config.api_port}"
        self.functions: dict[str, LocalFunction] = {}
        self.streams: dict[str, StreamEventSource] = {}
        self.schedules: dict[str, ScheduledInvoker] = {}
        self._stoppers: list[Callable[[], None]] = []
        self.template: StackTemplate | None = None
        self.staff_accounts: list[LocalAccount] = []

    # ------------------------------------------------------------ plumbing
    def log(self, source: str, line: str) -> None:
        """One line to the console (metric JSON summarized unless verbose) and, raw, to the log file."""
        shown = line if self.config.verbose else (metric_summary(line) or line)
        with self._log_lock:
            print(f"[{source}] {shown}", file=self._out, flush=True)
            if self._log_file:
                self._log_file.write(f"[{source}] {line}\n")
                self._log_file.flush()

    def function_environment(self) -> dict[str, str]:
        """What every local function container sees besides its template environment."""
        return {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # botocore would send DynamoDB calls to an account-specific host moto does not answer.
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "CLINIC_ACCOUNT_ID": ACCOUNT_ID,
            # The staff console signs in against the embedded AWS's Cognito, from the browser.
            "COGNITO_ENDPOINT": f"{self.aws_url}/",
            **({CALL_LOG_ENV: str(self.config.aws_call_log)} if self.config.aws_call_log else {}),
        }

    def site_origins(self) -> list[str]:
        """Every origin a browser on this machine may send for the example site. CORS matches
        origins exactly (as deployed), and a site opened at localhost sends `http://localhost:8000`,
        which is not `http://127.0.0.1:8000`: both spellings are allowed, nothing wider."""
        port = self.config.site_port
        spellings = [self.site_url, f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        return list(dict.fromkeys(spellings))

    def local_parameters(self) -> dict[str, Any]:
        """Template parameters for a stack whose site is the example site on this machine."""
        return {
            "AllowedOrigins": ",".join(self.site_origins()),
            "SiteBaseUrl": self.site_url,
            "ApiBaseUrl": self.api_url,
            # The staff email links each lead to the console this stack serves.
            "ConsoleUrl": f"{self.api_url}/staff",
            "ThankYouUrl": f"{self.site_url}/thank-you.html",
            # An editor's change must show at once: no warm function keeps published JSON, and
            # browsers revalidate each answer (its ETag makes that a 304 while nothing changed).
            "ArticleCacheTtlSeconds": "0",
            "ArticleCacheControl": "no-cache",
            "ConsultationFormUrl": f"{self.site_url}/consult.html",
            **self.config.parameters,
        }

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """As API Gateway invokes: synchronously, so a function at its concurrency is throttled."""
        result = self.functions[function].invoke(event, throttle=True)
        if isinstance(result, dict) and result.get("statusCode") == 429:
            self.log("dev", self._rate_limit_hint())
        return result

    def _rate_limit_hint(self) -> str:
        # Every local request comes from 127.0.0.1, so the whole machine is one client.
        limit = self.template.parameters.get("RateLimitPerHour") if self.template else None
        return (
            f"429: the consultation rate limit ({limit} an hour per client address) was reached; every"
            " local request comes from 127.0.0.1. Raise it: clinic dev --parameter RateLimitPerHour=50"
            " (make dev DEV_ARGS='--parameter RateLimitPerHour=50')"
        )

    def concurrency_of(self, reserved: int | None) -> int:
        """Containers a function may run: --concurrency, or less when it reserves less."""
        return self.config.concurrency if reserved is None else min(reserved, self.config.concurrency)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
        moto = EmbeddedAws(ip_address=self.config.host, port=self.config.aws_port, verbose=False)
        moto.start()
        self._stoppers.append(moto.stop)

        template = StackTemplate(
            self.local_parameters(), stack_name=self.config.stack_name, region=REGION, account_id=ACCOUNT_ID
        )
        provision(template, self.client)
        self.template = template
        self._add_staff_accounts(template)
        # moto keeps expired items for ever; DynamoDB's TTL deletes them.
        ttl = TimeToLive(self.client("dynamodb"), partial(self.log, "ttl"))
        ttl.start()
        self._stoppers.append(ttl.stop)

        if self.config.watch_content:
            watcher = ContentWatcher(self.config.content_dir, self.republish)
            watcher.start()  # before the first publish, so that no edit falls between the two
            self._stoppers.append(watcher.stop)
        self.publish_content()

        environment = self.function_environment()
        for name, spec in template.functions().items():
            concurrency = self.concurrency_of(spec.reserved_concurrency)
            self.functions[name] = LocalFunction(spec, environment, self.log, concurrency)
            self._stoppers.append(self.functions[name].stop)

        self._start_event_sources(template)

        gateway = LocalGateway(
            template.http_routes(),
            self.invoke,
            CorsConfig.from_template(template.http_api()),
            host=self.config.host,
            port=self.config.api_port,
            account_id=ACCOUNT_ID,
            local_pages={
                "/_local/outbox": partial(outbox_page, ACCOUNT_ID, REGION),
                "/_local/outbox.json": partial(outbox_json, ACCOUNT_ID, REGION),
                "/_local/stack.json": self._status_page,
                **docs_pages(render_document()),
            },
            log=partial(self.log, "api"),
            authorizers=self.authorizers(template),
        )
        gateway.start()
        self._stoppers.append(gateway.stop)

        if self.config.site_dir.is_dir():
            site = SiteServer(
                self.config.site_dir, self.api_url, host=self.config.host, port=self.config.site_port
            )
            site.start()
            self._stoppers.append(site.stop)

    def publish_content(self) -> bool:
        """Publish content/ as `clinic publish` does (only what changed is uploaded). A bad
        article is reported, file, field and problem, and the bucket keeps what it had."""
        if self.template is None:
            raise RuntimeError("the local stack is not provisioned")
        say = partial(self.log, "publish")
        with self._publish_lock:
            try:
                publish(
                    self.config.content_dir,
                    self.template.refs["ContentBucket"],
                    s3_client=self.client("s3"),
                    say=say,
                )
            except ContentError as error:
                say("Nothing was published: fix these first (the site keeps what it had).")
                for problem in error.problems:
                    say(f"  {problem}")
                return False
            except Exception as error:  # an unreadable file, S3 trouble: keep the stack running
                say(f"Nothing was published: {type(error).__name__}: {error}")
                return False
        return True

    def republish(self, changed: list[Path]) -> None:
        """The content watcher's call: republish after an edit."""
        names = ", ".join(_relative(path, self.config.content_dir) for path in changed)
        self.log("publish", f"changed: {names}; republishing")
        self.publish_content()

    def _add_staff_accounts(self, template: StackTemplate) -> None:
        """One staff and one admin account in the local pool, ready to sign in (password, TOTP)."""
        pool, client = template.refs["StaffUserPool"], template.refs["StaffConsoleClient"]
        cognito = self.client("cognito-idp")
        self.staff_accounts = [
            add_local_account(cognito, pool, client, "staff@clinic.test", (STAFF_GROUP,)),
            add_local_account(cognito, pool, client, "admin@clinic.test", (STAFF_GROUP, ADMIN_GROUP)),
        ]

    def authorizers(self, template: StackTemplate) -> dict[str, JwtAuthorizer]:
        """The HttpApi's JWT authorizers, checking tokens against the embedded Cognito's keys.
        An ID token passes them, as in AWS; the routes' scopes refuse it."""
        keys = IssuerKeys(self.aws_url)
        specs = template.http_api().get("Auth", {}).get("Authorizers", {})
        return {
            name: JwtAuthorizer.from_template(name, spec, keys, token_use=None)
            for name, spec in specs.items()
        }

    def _start_event_sources(self, template: StackTemplate) -> None:
        """The template's stream mappings and schedules, delivered as Lambda would."""
        for name, spec in template.functions().items():
            for event_name, event in spec.events.items():
                properties = template.resolve(event.get("Properties", {}))
                log = partial(self.log, f"{event['Type'].lower()}:{event_name}")
                if event["Type"] == "DynamoDB":
                    streams, sqs = self.client("dynamodbstreams"), self.client("sqs")
                    stream = StreamEventSource(
                        streams, sqs, properties["Stream"], self.functions[name], properties, log
                    )
                    self.streams[name] = stream
                    stream.start()
                    self._stoppers.append(stream.stop)
                elif event["Type"] == "Schedule":
                    period = self.config.sweep_every or rate_seconds(properties["Schedule"])
                    schedule = ScheduledInvoker(self.functions[name], period, log)
                    self.schedules[name] = schedule
                    schedule.start()
                    self._stoppers.append(schedule.stop)

    def status(self) -> dict[str, Any]:
        """The running stack as CloudFormation and Lambda describe a deployed one: its parameters,
        resources, functions' configuration, stream mappings and schedules (for `clinic doctor`)."""
        if self.template is None:
            raise RuntimeError("the local stack is not running")
        template = self.template
        declared = template.document["Resources"]
        resources = [
            {
                "LogicalResourceId": name,
                "ResourceType": declared[name]["Type"],
                "PhysicalResourceId": str(ref),
            }
            for name, ref in template.refs.items()
        ] + [
            {"LogicalResourceId": name, "ResourceType": "AWS::Lambda::Function", "PhysicalResourceId": name}
            for name in self.functions
        ]
        functions, schedules = {}, []
        for name, spec in template.functions().items():
            functions[name] = {
                "FunctionName": name,
                "Environment": {"Variables": spec.environment},
                "Layers": [{"Arn": arn} for arn in template.resolve(spec.properties.get("Layers", []))],
            }
            for event in spec.events.values():
                if event["Type"] == "Schedule" and name in self.schedules:
                    schedule = self.schedules[name]
                    schedules.append(
                        {
                            "FunctionName": name,
                            "ScheduleExpression": template.resolve(event["Properties"]["Schedule"]),
                            "PeriodSeconds": schedule.period_seconds,
                            "State": "ENABLED" if schedule.running else "DISABLED",
                        }
                    )
        parameters = [
            {"ParameterKey": key, "ParameterValue": ",".join(value) if isinstance(value, list) else value}
            for key, value in template.parameters.items()
        ]
        return {
            "StackName": template.stack_name,
            "Parameters": parameters,
            "StackResources": resources,
            "Functions": functions,
            "EventSourceMappings": [source.describe() for source in self.streams.values()],
            "Schedules": schedules,
        }

    def _status_page(self) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(self.status(), indent=1).encode()

    def stop(self) -> None:
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception as error:  # keep stopping the rest
                self.log("dev", f"while stopping: {type(error).__name__}: {error}")
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def describe(self) -> str:
        if self.template is None:
            return "The local stack is not running."
        refs = self.template.refs
        aws = f"aws --endpoint-url {self.aws_url}"
        sweep = ", ".join(f"{name} every {source_period(source)}" for name, source in self.schedules.items())
        return "\n".join(
            [
                "",
                "The clinic backend is running locally:",
                f"  Example site     {self.site_url}",
                f"  HTTP API         {self.api_url}  (try {self.api_url}/articles)",
                f"  Staff emails     {self.api_url}/_local/outbox  (JSON: {self.api_url}/_local/outbox.json)",
                f"  API docs         {self.api_url}/docs  (OpenAPI: {self.api_url}/openapi.json)",
                f"  Stack status     {self.api_url}/_local/stack.json  (check it: clinic doctor --local)",
                f"  Embedded AWS     {self.aws_url}  (moto; any credentials work with --endpoint-url)",
                f"    {aws} s3 ls s3://{refs['ContentBucket']}/{PUBLISHED_PREFIX} --recursive",
                f"    {aws} dynamodb scan --table-name {refs['LeadsTable']}",
                f"  Schedules        {sweep or 'none'}",
                f"  Content          {self.config.content_dir}"
                + ("  (republished when a file in it changes)" if self.config.watch_content else ""),
                f"  Staff console    {self.api_url}/staff  (sign in as below; the code comes from an",
                "                   authenticator app given the TOTP secret, or: clinic staff code SECRET)",
                f"  Staff sign-in    pool {refs['StaffUserPool']}, app client {refs['StaffConsoleClient']}",
                *[
                    f"    {account.username} / {account.password} ({', '.join(account.groups)}); TOTP secret "
                    f"{account.totp_secret}: {account.otpauth_uri('clinic-local')}"
                    for account in self.staff_accounts
                ],
                f"  Concurrency      up to {self.config.concurrency} containers per function"
                " (beyond that the API answers as Lambda throttles: 500)",
                "Stop with Ctrl-C.",
                "",
            ]
        )


def _relative(path: Path, directory: Path) -> str:
    try:
        return str(path.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(path)


def source_period(source: ScheduledInvoker) -> str:
    seconds = source.period_seconds
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"--parameter needs NAME=VALUE, got {pair!r}")
        parameters[name] = value
    return parameters


def dev_config(args: argparse.Namespace) -> DevConfig:
    """`clinic dev`'s options as the stack's configuration."""
    return DevConfig(
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.api_port,
        site_port=args.site_port,
        content_dir=args.content_dir,
        site_dir=args.site_dir,
        log_file=args.log_file,
        parameters=_parameters(args.parameter),
        sweep_every=args.sweep_every,
        concurrency=args.concurrency,
        verbose=args.verbose,
    )


def run_dev(args: argparse.Namespace) -> int:
    stack = LocalStack(dev_config(args))
    stopped = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        print(stack.describe(), flush=True)
        stopped.wait()
    finally:
        print("Stopping the local stack...", flush=True)
        stack.stop()
    return 0
