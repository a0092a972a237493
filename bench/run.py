"""`make bench`: cold imports, warm latency, AWS calls per request and cost, in one run.

Every figure is a ratio or a count measured here, now, on this machine; absolute times are
printed for context only. Budgets (the BUDGET_* constants) are checked at the end and the exit status
says whether they were met. Run: `.venv/bin/python -m bench.run [--calls N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import logging
import math
import os
import re
import statistics
import subprocess
import sys
import time
import tomllib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from bench import baselines, proof_of_work
from bench.bill import Invocations, LineItem, Stack, cpu_scaled_ms, load_toml, monthly_bill, monthly_usage
from bench.cold import LambdaContext as Context

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ["clinic.articles.handler", "clinic.consultations.handler", "clinic.notifications.handler"]
MEMORY_SIZES = (128, 256, 512)
FULL_CPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB; less memory, a share of it
# Most visitors of a small clinic's site meet a cold function: budgets against the floor, boto3.
BUDGET_IMPORT = {
    "clinic.articles.handler": 1.5,
    "clinic.consultations.handler": 1.8,
    "clinic.notifications.handler": 1.5,
}
BUDGET_COLD_ANSWER = 1.5
BUDGET_P99 = 1.5
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml's Globals set it
    "CONTENT_BUCKET": "bench-content",
    "SITE_BASE_URL": "https://www.example-clinic.com",
    "API_BASE_URL": "https://api.example-clinic.com",
    "CACHE_TTL_SECONDS": "60",
    "LEADS_TABLE": "bench-leads",
    "GUARD_TABLE": "bench-guard",
    "CLIENT_HASH_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
    "CHALLENGE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-challenge",
    "RATE_LIMIT_PER_WINDOW": "10000",
    "CONSENT_VERSION": "bench",
    "THANK_YOU_URL": "https://www.example-clinic.com/thank-you/",
    "CONSULTATION_FORM_URL": "https://www.example-clinic.com/consultation/",
    "STAFF_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-staff",
    "SENDER_ADDRESS": "no-reply@example-clinic.com",
    "STAFF_ADDRESSES": "staff@example-clinic.com",
    "CLINIC_NAME": "Bench Clinic",
    "CLINIC_CONTACT_LINE": "call us.",
    "SES_CONFIGURATION_SET": "bench-tls-required",
    "STAFF_CONSOLE_URL": "https://api.example-clinic.com/staff",  # the notifier's link to the lead
}
CONSULTATION = {
    "name": "Bench Patient",
    "email": "bench.patient@example.org",
    "phone": "(415) 555-0100",
    "preferred_contact": "phone",
    "concerns": ["anxiety"],
    "message": "A message of ordinary length for a consultation request.",
    "consent": True,
}
# Solved as the widget would, with the secret Stubber answers: each POST pays the server's check
# (Stubber's writes never refuse it as used, so the one solution serves every call).
SECRET = "bench-secret"  # noqa: S105  # nosec B105: what Stubber answers, not a credential
CONSULTATION["altcha"] = proof_of_work.solved(SECRET)


# ---------------------------------------------------------------- (a) cold imports


def cold_import_seconds(module: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        command = [sys.executable, "-c", f"import {module}"]
        subprocess.run(command, check=True, env={**os.environ, **ENVIRONMENT})  # noqa: S603
        times.append(time.perf_counter() - started)
    return times


def measure_cold_imports(runs: int) -> dict[str, float]:
    """Median seconds of a whole `python -c "import X"` process, interleaved to share drift."""
    samples: dict[str, list[float]] = {name: [] for name in ["boto3", *HANDLERS]}
    for _ in range(runs):
        for name in samples:
            samples[name] += cold_import_seconds(name, 1)
    return {name: statistics.median(values) for name, values in samples.items()}


# ---------------------------------------------------------------- stubbed AWS


def _body(data: bytes) -> StreamingBody:
    import io

    return StreamingBody(io.BytesIO(data), len(data))


@dataclass
class StubbedAws:
    """One botocore Stubber per service, handed out by boto3.client while active."""

    clients: dict[str, Any] = field(default_factory=dict)
    stubbers: dict[str, Stubber] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    keep_params: bool = False
    params: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # what each call sent

    def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
        if service not in self.clients:
            client = boto3.session.Session().client(service, region_name="us-east-1", **kwargs)
            client.meta.events.register("before-parameter-build", self._count)
            client.meta.events.register("provide-client-params", self._keep)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1

    def _keep(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.keep_params:
            self.params.setdefault(model.name, []).append(params)

    def total(self) -> dict[str, int]:
        return dict(self.calls)

    def stub(self, service: str, operation: str, response: dict[str, Any], times: int = 1) -> None:
        self.client(service)
        for _ in range(times):
            self.stubbers[service].add_response(operation, response)

    @contextlib.contextmanager
    def active(self) -> Iterator[StubbedAws]:
        with mock.patch("boto3.client", self.client):
            yield self


def published_objects(article_count: int) -> dict[str, bytes]:
    """What `clinic publish` writes for `article_count` articles (built by the real publisher)."""
    from clinic_infra.content import build_objects, load_site

    content = ROOT / "content"
    if article_count <= 5:
        return build_objects(load_site(content), datetime.now(UTC))
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "articles").mkdir()
        (root / "disclaimer.md").write_text((content / "disclaimer.md").read_text())
        (root / "tags.yaml").write_text((content / "tags.yaml").read_text())
        template = (content / "articles" / "ketamine-for-chronic-pain.md").read_text()
        for number in range(article_count):
            slug = f"article-{number:04d}"
            published = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=number)).isoformat()
            text = template.replace("slug: ketamine-for-chronic-pain", f"slug: {slug}")
            text = text.replace("published_at: 2026-09-30T09:00:00Z", f"published_at: {published}")
            text = text.replace("updated_at: 2026-09-30T09:00:00Z", f"updated_at: {published}")
            (root / "articles" / f"{slug}.md").write_text(text)
        return build_objects(load_site(root), datetime.now(UTC))


def stub_content(aws: StubbedAws, objects: dict[str, bytes], keys: list[str]) -> None:
    for key in keys:
        aws.stub("s3", "get_object", {"Body": _body(objects[key])})


# ---------------------------------------------------------------- (b) warm latency


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    route: str
    reads: tuple[str, ...] = ()  # the S3 objects one uncached request reads, in order
    body: str | None = None


ROUTES = [
    Route("GET /articles", "GET", "/articles", "/articles", ("index.json",)),
    Route("GET /articles/{slug}", "GET", "/articles/ketamine-for-chronic-pain", "/articles/{slug}",
          ("index.json", "articles/ketamine-for-chronic-pain.json")),
    Route("GET /tags", "GET", "/tags", "/tags", ("index.json",)),
    Route("GET /feed.json", "GET", "/feed.json", "/feed.json", ("feed.json",)),
    Route("GET /sitemap.xml", "GET", "/sitemap.xml", "/sitemap.xml", ("index.json",)),
    Route("POST /consultations", "POST", "/consultations", "/consultations", body=json.dumps(CONSULTATION)),
]  # fmt: skip


def http_event(route: Route) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.route}",
        "rawPath": route.path,
        "rawQueryString": "",
        "headers": {"host": "api.example", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "api.example",
            "domainPrefix": "api",
            "http": {
                "method": route.method,
                "path": route.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "bench",
            },
            "requestId": "bench",
            "routeKey": f"{route.method} {route.route}",
            "stage": "$default",
            "time": "27/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795780800000,
        },
        "isBase64Encoded": False,
    }
    if route.route == "/articles/{slug}":
        event["pathParameters"] = {"slug": route.path.rsplit("/", 1)[1]}
    if route.body is not None:
        event["body"] = route.body
    return event


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


WARM_UP = 200


def time_pair(
    first: Callable[[], Any], second: Callable[[], Any], calls: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per call of each, alternating calls so that both meet the same machine noise.

    The garbage collector is off while timing, as `timeit` does, so that a collection paid by
    whichever call happens to trigger it does not decide the p99.
    """
    for _ in range(WARM_UP):  # caches filled, code paths hot
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    gc.collect()
    gc.disable()
    try:
        for _ in range(calls):
            for call, timings in ((first, samples[0]), (second, samples[1])):
                started = time.perf_counter_ns()
                call()
                timings.append((time.perf_counter_ns() - started) / 1e6)
    finally:
        gc.enable()
    return samples


def _fresh(module_name: str) -> Any:
    """The handler module imported afresh, as in a new container, with ENVIRONMENT."""
    return importlib.reload(importlib.import_module(module_name))


@dataclass
class RouteFigures:
    route: str
    p50: float
    p99: float
    base_p50: float
    base_p99: float
    calls_per_request: dict[str, float]
    cached_p50: float | None = None
    cached_base_p50: float | None = None

    @property
    def ratio_p99(self) -> float:
        return self.p99 / self.base_p99


def _stub_requests(aws: StubbedAws, route: Route, objects: dict[str, bytes], requests: int) -> None:
    if route.reads:
        stub_content(aws, objects, list(route.reads) * requests)
    else:
        # The client-hash key and the challenge key, each read once per container.
        aws.stub("secretsmanager", "get_secret_value", {"SecretString": SECRET, "Name": "bench"}, times=2)
        aws.stub("dynamodb", "transact_write_items", {}, times=requests)


def _run_pair(
    route: Route, objects: dict[str, bytes], calls: int, ttl: str
) -> tuple[list[float], list[float], dict[str, float]]:
    """The real handler and the baseline, each `calls` times, every AWS call through Stubber."""
    consultation = not route.reads
    os.environ["CACHE_TTL_SECONDS"] = ttl
    aws = StubbedAws()
    requests = 2 * (calls + WARM_UP) + 1 if ttl == "0" or consultation else 2
    _stub_requests(aws, route, objects, requests)
    event = http_event(route)
    with aws.active():
        handler = _fresh("clinic.consultations.handler" if consultation else "clinic.articles.handler")
        handler.lambda_handler(event, Context())  # the cold start: settings, clients, secret
        before = aws.total()

        def real() -> Any:
            return handler.lambda_handler(event, Context())

        def baseline() -> Any:
            if consultation:
                return baselines.consultations_handler(event, handler.service())
            return baselines.articles_handler(event, handler.catalog())

        real_ms, baseline_ms = time_pair(real, baseline, calls)
        made = 2 * (calls + WARM_UP)  # both handlers make the same calls
        per_request = {op: (count - before.get(op, 0)) / made for op, count in aws.total().items()}
    return real_ms, baseline_ms, {op: count for op, count in per_request.items() if count}


def measure_route(route: Route, objects: dict[str, bytes], calls: int) -> RouteFigures:
    # Every request reads what it needs through Stubber (cache period 0), as on a cache miss.
    real, baseline, per_request = _run_pair(route, objects, calls, ttl="0")
    p50, p99 = _percentiles(real)
    base_p50, base_p99 = _percentiles(baseline)
    figures = RouteFigures(route.name, p50, p99, base_p50, base_p99, per_request)
    if route.reads:  # and from the warm container's cache, for context
        cached, cached_baseline, _ = _run_pair(route, objects, calls, ttl="60")
        figures.cached_p50 = _percentiles(cached)[0]
        figures.cached_base_p50 = _percentiles(cached_baseline)[0]
    return figures


# ---------------------------------------------------------------- (c) calls per request


def list_reads(objects: dict[str, bytes], requests: int, ttl_expired: bool) -> int:
    """S3 reads made by `requests` list requests, in one warm container."""
    from clinic.articles.published import PUBLISHED_PREFIX
    from clinic.articles.service import ArticleCatalog, PublishedContent, SiteLinks

    aws = StubbedAws()
    stub_content(aws, objects, ["index.json"] * (requests if ttl_expired else 1))
    content = PublishedContent(
        "bench", PUBLISHED_PREFIX, 0 if ttl_expired else 60, s3_client=aws.client("s3")
    )
    catalog = ArticleCatalog(content, SiteLinks("https://www.example-clinic.com", "/articles/{slug}/", "x"))
    for _ in range(requests):
        catalog.page(now=datetime.now(UTC), limit=10, cursor=None, tag=None)
    return aws.calls.get("GetObject", 0)


# ---------------------------------------------------------------- (d) cost


def load_prices() -> dict[str, dict[str, Any]]:
    with (Path(__file__).parent / "prices.toml").open("rb") as prices:
        return tomllib.load(prices)


def cost_per_million(figures: RouteFigures, memory_mb: int, prices: dict[str, dict[str, Any]]) -> float:
    """USD per million requests: API Gateway, Lambda (requests and GB-seconds), S3, DynamoDB.

    Uncached, as measured in (b): every article request reads S3 (a warm cache makes that
    rarer, so this is the upper bound). Duration: the warm p50 measured here, scaled by the
    CPU share Lambda gives at this memory size (a full vCPU at 1,769 MB), plus 10 ms for each
    AWS call a request makes (network time, which the Stubber does not have).
    """
    cpu_ms = figures.p50 * max(1.0, FULL_CPU_MB / memory_mb)
    duration_ms = max(1.0, cpu_ms + 10 * sum(figures.calls_per_request.values()))
    price = {name: entry["price"] for name, entry in prices.items()}
    per_request = (
        price["http_api_request"]
        + price["lambda_request"]
        + duration_ms / 1000 * memory_mb / 1024 * price["lambda_arm64_gb_second"]
    )
    per_request += figures.calls_per_request.get("GetObject", 0) * price["s3_get"]
    # A transaction writes two items (the rate window and the lead), at twice the unit price.
    per_request += (
        figures.calls_per_request.get("TransactWriteItems", 0) * 2 * 2 * price["dynamodb_write_request_unit"]
    )
    return per_request * 1_000_000


# ---------------------------------------------------------------- (e) the monthly bill


@dataclass
class Observed:
    """What one invocation of a kind did, as measured here: AWS calls, time, logs, metrics."""

    calls: dict[str, float]
    p50_ms: float
    log_bytes: float
    metrics: frozenset[str]
    response_bytes: float = 0.0
    params: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _metric_names(output: str) -> set[str]:
    """The custom metrics (namespace, name, dimensions) in the EMF lines a handler printed."""
    names = set()
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                labels = ",".join(f"{name}={document[name]}" for name in dimensions)
                names |= {
                    f"{directive['Namespace']}/{metric['Name']}[{labels}]" for metric in directive["Metrics"]
                }
    return names


@contextlib.contextmanager
def _deployed_logging(service: str, stream: io.StringIO) -> Iterator[None]:
    """The function's service name and the template's LogLevel (INFO), its log lines into `stream`.

    Powertools keeps one handler per service logger from the first import on, so it is pointed
    at `stream` (and given the level) here, and put back afterwards.
    """
    saved = {name: os.environ[name] for name in ("POWERTOOLS_LOG_LEVEL", "POWERTOOLS_SERVICE_NAME")}
    os.environ.update(POWERTOOLS_LOG_LEVEL="INFO", POWERTOOLS_SERVICE_NAME=service)
    logging.disable(logging.NOTSET)
    service_logger = logging.getLogger(service)
    level = service_logger.level
    try:
        yield
    finally:
        os.environ.update(saved)
        logging.disable(logging.WARNING)
        service_logger.setLevel(level)
        for handler in service_logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stdout)


def _observe(
    module: str,
    handler_name: str,
    event: dict[str, Any],
    stub: Callable[[StubbedAws, int], None],
    runs: int,
) -> Observed:
    """A handler, imported afresh as deployed (INFO logs), called `runs` times on stubbed AWS."""
    service = module.split(".")[1]  # clinic.<service>.handler, as POWERTOOLS_SERVICE_NAME in the template
    aws = StubbedAws(keep_params=True)
    stub(aws, runs)
    output = io.StringIO()
    timings = []
    responses: list[Any] = []
    with _deployed_logging(service, output), aws.active(), contextlib.redirect_stdout(output):
        handler = getattr(_fresh(module), handler_name)
        service_logger = logging.getLogger(service)
        service_logger.setLevel(logging.INFO)
        for log_handler in service_logger.handlers:
            if isinstance(log_handler, logging.StreamHandler):
                log_handler.setStream(output)
        for _ in range(runs):
            started = time.perf_counter_ns()
            responses.append(handler(event, Context()))
            timings.append((time.perf_counter_ns() - started) / 1e6)
    bodies = [len(str(response.get("body", ""))) for response in responses if isinstance(response, dict)]
    return Observed(
        calls={operation: count / runs for operation, count in aws.total().items()},
        p50_ms=statistics.median(timings[1:]),  # the first call pays the cold start
        log_bytes=len(output.getvalue().encode()) / runs,
        metrics=frozenset(_metric_names(output.getvalue())),
        response_bytes=statistics.mean(bodies) if bodies else 0.0,
        params=aws.params,
    )


def _item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names and values, plus 100 bytes of overhead."""
    return len(json.dumps(item, separators=(",", ":")).encode()) + 100


def _stream_event(lead_id: str) -> dict[str, Any]:
    return {"Records": [{
        "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench-leads/stream/2026",
        "dynamodb": {"Keys": {"id": {"S": lead_id}}, "SequenceNumber": "1", "SizeBytes": 30,
                     "StreamViewType": "KEYS_ONLY"},
    }]}  # fmt: skip


def observe_invocations(objects: dict[str, bytes], runs: int = 50) -> dict[str, Observed]:
    """Each HTTP route, the notifier on one new lead, and a sweep that finds nothing."""
    observed = {}
    os.environ["CACHE_TTL_SECONDS"] = "0"
    for route in ROUTES:
        module = "clinic.consultations.handler" if not route.reads else "clinic.articles.handler"
        observed[route.name] = _observe(
            module, "lambda_handler", http_event(route),
            lambda aws, n, route=route: _stub_requests(aws, route, objects, n), runs,
        )  # fmt: skip
    # The lead the consultations function stored, as the notifier's claim reads it back.
    transaction = observed["POST /consultations"].params["TransactWriteItems"][0]["TransactItems"]
    leads_table = ENVIRONMENT["LEADS_TABLE"]
    [put] = [entry["Put"] for entry in transaction if entry.get("Put", {}).get("TableName") == leads_table]
    lead = {**put["Item"], "notification_claimed_until": {"N": str(int(time.time()) + 45)}}

    def notifier_stubs(aws: StubbedAws, n: int) -> None:
        for _ in range(n):
            # Claim (reading the lead back), mark each of the three steps, mark it notified.
            aws.stub("dynamodb", "update_item", {"Attributes": lead})
            aws.stub("dynamodb", "update_item", {}, times=4)
            aws.stub("sesv2", "send_email", {"MessageId": "bench"}, times=2)  # staff, confirmation
            aws.stub("sns", "publish", {"MessageId": "bench"})

    observed["notifier"] = _observe(
        "clinic.notifications.handler", "lambda_handler", _stream_event(lead["id"]["S"]), notifier_stubs, runs
    )
    nothing_pending = {"Items": [], "Count": 0, "ScannedCount": 0}
    observed["sweeper"] = _observe(
        "clinic.notifications.handler", "sweep_handler", {},
        lambda aws, n: aws.stub("dynamodb", "query", nothing_pending, times=n), runs,
    )  # fmt: skip
    return observed


def stored_items(observed: dict[str, Observed]) -> dict[str, int]:
    """Bytes of each item one consultation request stores, by table."""
    [transaction] = observed["POST /consultations"].params["TransactWriteItems"][:1]
    sizes: dict[str, int] = {}
    for entry in transaction["TransactItems"]:
        for action in entry.values():
            # A put stores its item; an update (a rate-limit window) its key and the values it sets.
            item = action.get("Item") or {**action["Key"], **action.get("ExpressionAttributeValues", {})}
            sizes[action["TableName"]] = sizes.get(action["TableName"], 0) + _item_bytes(item)
    return sizes


ACCESS_LOG_EXAMPLE = {  # a typical value of each field of the template's access-log format
    "requestId": "J8YuGjQXoAMEVgw=", "routeKey": "GET /articles/{slug}", "status": "200",
    "responseLength": "4821", "responseLatency": "43", "integrationErrorMessage": "-",
    "requestTime": "01/Dec/2026:20:00:00 +0000",
}  # fmt: skip


def stack_facts(
    template: dict[str, Any], items: dict[str, int], workload: dict[str, Any]
) -> tuple[Stack, int, int]:
    """The template's fixed resources and settings the bill depends on; memory and sweeps a month."""
    resources = template["Resources"]

    def count(resource_type: str) -> int:
        return sum(1 for resource in resources.values() if resource["Type"] == resource_type)

    def default(name: str) -> int:
        return int(template["Parameters"][name]["Default"])

    leads_per_month = workload["consultation_requests"]
    lead_bytes = items[ENVIRONMENT["LEADS_TABLE"]]
    guard_bytes = items.get(ENVIRONMENT["GUARD_TABLE"], 0)
    # Steady state: a year of leads (LeadRetentionDays), a day of guard records (their TTL).
    table_bytes = (
        leads_per_month * default("LeadRetentionDays") / 30 * lead_bytes + leads_per_month / 30 * guard_bytes
    )
    with_pitr = [
        name for name, resource in resources.items() if resource["Type"] == "AWS::DynamoDB::Table"
        and resource["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    ]  # fmt: skip
    assert len(with_pitr) == count("AWS::DynamoDB::Table"), "PITR is priced for every table"
    access_format = resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    access_line = re.sub(r"\$context\.(\w+)", lambda match: ACCESS_LOG_EXAMPLE[match.group(1)], access_format)
    globals_ = template["Globals"]["Function"]
    schedules = [
        event["Properties"]["Schedule"]
        for resource in resources.values() if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values() if event["Type"] == "Schedule"
    ]  # fmt: skip
    [rate] = schedules
    minutes = int(re.fullmatch(r"rate\((\d+) minutes?\)", rate).group(1))  # type: ignore[union-attr]
    stack = Stack(
        kms_keys=count("AWS::KMS::Key"),
        secrets=count("AWS::SecretsManager::Secret"),
        alarms=count("AWS::CloudWatch::Alarm"),
        pitr_tables_bytes=table_bytes,
        table_bytes=table_bytes,
        log_retention_days=default("LogRetentionDays"),
        platform_log_bytes=workload["assumptions"]["platform_log_bytes"],
        access_log_bytes=len(access_line) + 1,
        xray_traced=globals_.get("Tracing") == "Active",
    )
    return stack, int(globals_["MemorySize"]), 30 * 24 * 60 // minutes


def _kms_requests(calls: dict[str, float]) -> float:
    """An upper bound: one KMS request per call on data under the stack's key (services cache
    data keys, DynamoDB for up to five minutes, so the real count is lower)."""
    encrypted = {"TransactWriteItems", "GetItem", "UpdateItem", "Query", "Publish", "GetSecretValue"}
    return sum(count for operation, count in calls.items() if operation in encrypted)


def bill_invocations(
    observed: dict[str, Observed],
    imports: dict[str, float],
    workload: dict[str, Any],
    memory_mb: int,
    sweeps: int,
) -> list[Invocations]:
    """Each kind of invocation in the month, with what one uses, from what was measured."""
    assumptions = workload["assumptions"]
    cold = assumptions["cold_share"]

    def duration(seen: Observed) -> float:
        # As in (d): CPU time at this memory size's CPU share, plus 10 ms per AWS call.
        return cpu_scaled_ms(seen.p50_ms, memory_mb) + 10 * sum(seen.calls.values())

    def init(module: str) -> float:
        return cpu_scaled_ms(imports[module] * 1000, memory_mb)

    kinds = []
    for route in ROUTES:
        seen = observed[route.name]
        article = bool(route.reads)
        share = workload["article_mix"][route.name] * workload["article_requests"] if article else None
        if article:
            usage = {"s3_get": seen.calls.get("GetObject", 0.0)}
        else:
            writes = sum(2 * math.ceil(size / 1024) for size in stored_items(observed).values())
            usage = {
                "dynamodb_write_request_unit": seen.calls.get("TransactWriteItems", 0.0) * writes,
                "dynamodb_read_request_unit": seen.calls.get("GetItem", 0.0) * 0.5,
                # The client-hash key is read once per execution environment.
                "secrets_manager_api_call": cold["consultations"],
                "kms_request": _kms_requests(seen.calls) + cold["consultations"],
            }
        module = "clinic.articles.handler" if article else "clinic.consultations.handler"
        kinds.append(Invocations(
            name=route.name, per_month=share if share is not None else workload["consultation_requests"],
            duration_ms=duration(seen), memory_mb=memory_mb,
            cold_share=cold["articles" if article else "consultations"], init_ms=init(module),
            log_bytes=seen.log_bytes, usage=usage, metrics=seen.metrics, http_api=True,
            response_bytes=seen.response_bytes,
        ))  # fmt: skip
    notifier, sweeper = observed["notifier"], observed["sweeper"]
    lead_kb = math.ceil(stored_items(observed)[ENVIRONMENT["LEADS_TABLE"]] / 1024)
    assert notifier.calls.get("SendEmail") == 2, "the bench lead gets a staff email and a confirmation"
    kinds.append(Invocations(
        name="notifier", per_month=workload["consultation_requests"], duration_ms=duration(notifier),
        memory_mb=memory_mb, cold_share=cold["notifier"], init_ms=init("clinic.notifications.handler"),
        log_bytes=notifier.log_bytes, metrics=notifier.metrics,
        usage={
            # An update is billed on the larger of the item before and after it.
            "dynamodb_write_request_unit": notifier.calls.get("UpdateItem", 0.0) * lead_kb,
            "ses_email": assumptions["staff_recipients"] + assumptions["confirmation_share"],
            "sns_publish": notifier.calls.get("Publish", 0.0),
            "kms_request": _kms_requests(notifier.calls),
            "dynamodb_stream_read": 1,
        },
    ))  # fmt: skip
    kinds.append(Invocations(
        name="sweeper", per_month=sweeps, duration_ms=duration(sweeper), memory_mb=memory_mb,
        cold_share=cold["sweeper"], init_ms=init("clinic.notifications.handler"),
        log_bytes=sweeper.log_bytes, metrics=sweeper.metrics,
        usage={
            "dynamodb_read_request_unit": sweeper.calls.get("Query", 0.0) * 0.5,  # eventually consistent
            "kms_request": _kms_requests(sweeper.calls),
            "eventbridge_scheduled_invocation": 1,
        },
    ))  # fmt: skip
    return kinds


# ---------------------------------------------------------------- report


def report_imports(runs: int) -> bool:
    imports = measure_cold_imports(runs)
    print(f"(a) Cold import, whole process, median of {runs}")
    print(f"    {'import boto3':<36} {imports['boto3'] * 1000:7.1f} ms   1.00x")
    ratios = {module: imports[module] / imports["boto3"] for module in HANDLERS}
    for module, ratio in ratios.items():
        seconds, budget = imports[module], BUDGET_IMPORT[module]
        print(f"    {'import ' + module:<36} {seconds * 1000:7.1f} ms   {ratio:.2f}x  (budget {budget}x)")
    RESULTS["imports_seconds"] = imports
    return all(ratio <= BUDGET_IMPORT[module] for module, ratio in ratios.items())


def report_cold_answers(objects: dict[str, bytes], runs: int) -> bool:
    from bench.cold import measure_cold_answers

    figures = measure_cold_answers(ENVIRONMENT, objects["index.json"], runs)
    print("\n(a2) Cold first answer: a new process imports the handler and answers one event (AWS")
    print(f"     through Stubber), beside a bare boto3 handler making the same calls; median of {runs}")
    print(f"     (budget: at most {BUDGET_COLD_ANSWER}x the bare handler)")
    for case, figure in figures.items():
        print(
            f"    {case:<16} {figure['real'] * 1000:7.1f} ms  bare {figure['bare'] * 1000:7.1f} ms"
            f"   {figure['ratio']:.2f}x"
        )
    RESULTS["cold_first_answer_seconds"] = figures
    return all(figure["ratio"] <= BUDGET_COLD_ANSWER for figure in figures.values())


def report_latency(routes: list[RouteFigures], calls: int) -> bool:
    print(f"\n(b) Warm latency over {calls} calls, every AWS call through botocore's Stubber")
    print(
        f"    budget: p99 at most {BUDGET_P99}x a hand-written handler doing the same work without Powertools"
    )
    print(f"    {'route':<24} {'p50 ms':>8} {'p99 ms':>8} {'base p50':>9} {'base p99':>9} {'p99 ratio':>10}")
    for figures in routes:
        print(
            f"    {figures.route:<24} {figures.p50:8.3f} {figures.p99:8.3f} {figures.base_p50:9.3f} "
            f"{figures.base_p99:9.3f} {figures.ratio_p99:9.2f}x"
        )
    print("    Served from the warm cache instead (no AWS call), p50 ms, for context:")
    for figures in routes:
        if figures.cached_p50 is not None and figures.cached_base_p50 is not None:
            cached, base = figures.cached_p50, figures.cached_base_p50
            print(f"      {figures.route:<22} {cached:8.3f} vs baseline {base:.3f}")
    RESULTS["routes"] = [figures.__dict__ | {"ratio_p99": figures.ratio_p99} for figures in routes]
    return all(figures.ratio_p99 <= BUDGET_P99 for figures in routes)


def report_proof_of_work(calls: int, solves: int) -> None:
    costs = proof_of_work.server_costs(SECRET, calls)
    policy = proof_of_work.default_policy()
    print(
        f"\n(b2) Proof of work at the template's default difficulty (ChallengeCost {policy.cost}, "
        f"ChallengeMaxNumber {policy.max_number})"
    )
    print("    Server, ms per call (included in POST /consultations above; the key cached):")
    for name, label in (("verify", "check a solution"), ("issue", "issue a challenge (GET)")):
        figures = costs[name]
        print(f"      {label:<28} p50 {figures['p50']:7.3f}   p99 {figures['p99']:7.3f}")
    RESULTS["proof_of_work_server_ms"] = costs
    try:
        widget = proof_of_work.widget_solve_ms(SECRET, solves)
    except Exception as error:  # no Chromium here: the server's figures still stand
        print(f"    Widget in Chromium: not measured ({type(error).__name__}: {error})")
        return
    print(
        f"    Widget in Chromium, CPU throttled {widget['throttle']}x, fetch and solve, {solves} runs: "
        f"p50 {widget['p50']:.0f} ms, p99 {widget['p99']:.0f} ms, max {widget['max']:.0f} ms"
    )
    print("      (it starts when the form gets focus, so a patient rarely waits for it at all)")
    RESULTS["proof_of_work_widget_ms"] = widget


def report_calls(routes: list[RouteFigures], objects: dict[str, bytes]) -> tuple[bool, bool]:
    print("\n(c) AWS calls per request (uncached; from a warm cache, article reads make none)")
    for figures in routes:
        calls = ", ".join(f"{op} {count:g}" for op, count in sorted(figures.calls_per_request.items()))
        print(f"    {figures.route:<24} {calls}")
    many = published_objects(500)
    reads = {
        "5 articles, 100 list requests in one cache period": list_reads(objects, 100, ttl_expired=False),
        "500 articles, 100 list requests in one cache period": list_reads(many, 100, ttl_expired=False),
        "500 articles, 100 list requests, cache expired each time": list_reads(many, 100, ttl_expired=True),
    }
    for label, count in reads.items():
        print(f"    {label:<58} S3 reads: {count}")
    RESULTS["list_reads"] = reads
    cached = reads["5 articles, 100 list requests in one cache period"] == 1
    one_read_each = reads["500 articles, 100 list requests, cache expired each time"] == 100
    return cached, one_read_each


def report_costs(routes: list[RouteFigures]) -> None:
    prices = load_prices()
    print("\n(d) Cost per million requests, arm64, us-east-1 (bench/prices.toml: prices with their dates)")
    print(f"    {'route':<24} " + " ".join(f"{size:>4} MB" for size in MEMORY_SIZES))
    costs = {}
    for figures in routes:
        costs[figures.route] = {size: cost_per_million(figures, size, prices) for size in MEMORY_SIZES}
        print(
            f"    {figures.route:<24} "
            + " ".join(f"${value:6.2f}" for value in costs[figures.route].values())
        )
    RESULTS["cost_per_million_usd"] = costs


FIXED = (
    "kms_key_month",
    "secret_month",
    "cloudwatch_alarm_month",
    "dynamodb_pitr_gb_month",
    "dynamodb_storage_gb_month",
)
UNITS = {  # what the quantity column counts, for each priced unit
    "kms_key_month": "key-month", "secret_month": "secret-month", "cloudwatch_alarm_month": "alarm-month",
    "dynamodb_pitr_gb_month": "GB-month", "dynamodb_storage_gb_month": "GB-month",
    "lambda_arm64_gb_second": "GB-s", "lambda_request": "requests", "http_api_request": "requests",
    "s3_get": "requests", "dynamodb_write_request_unit": "WRU", "dynamodb_read_request_unit": "RRU",
    "kms_request": "requests", "secrets_manager_api_call": "calls", "cloudwatch_metric_month": "metric-month",
    "cloudwatch_logs_ingested_gb": "GB", "cloudwatch_logs_stored_gb_month": "GB-month",
    "dynamodb_stream_read": "batches", "ses_email": "emails", "sns_publish": "publishes",
    "eventbridge_scheduled_invocation": "runs", "xray_trace_recorded": "traces", "data_transfer_out_gb": "GB",
}  # fmt: skip


def _quantity(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.4f}"


def report_bill(objects: dict[str, bytes]) -> list[LineItem]:
    from clinic_infra.template import load_template

    workload, prices = load_toml("workload.toml"), load_prices()
    assert abs(sum(workload["article_mix"].values()) - 1) < 1e-9, "article_mix shares must add up to 1"
    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
        observed = observe_invocations(objects)
    stack, memory_mb, sweeps = stack_facts(load_template(), stored_items(observed), workload)
    kinds = bill_invocations(observed, RESULTS["imports_seconds"], workload, memory_mb, sweeps)
    lines = monthly_bill(monthly_usage(kinds, stack), prices)
    lines.sort(key=lambda line: (line.key not in FIXED, -line.cost))
    print(
        f"\n(e) Monthly bill, us-east-1, for {workload['article_requests']:,} article and "
        f"{workload['consultation_requests']:,} consultation requests a month (bench/workload.toml)"
    )
    print(
        "    list prices (bench/prices.toml); 'after free' deducts AWS's always-free allowance (per account)"
    )
    print(f"    {'':<55} {'quantity':>14} {'':<13} {'$ a month':>9} {'after free':>10}")
    for fixed in (True, False):
        print(f"    {'fixed, whatever the traffic' if fixed else 'by use'}")
        for line in (line for line in lines if (line.key in FIXED) == fixed):
            print(
                f"      {line.label:<53} {_quantity(line.quantity):>14} {UNITS[line.key]:<13} "
                f"{line.cost:>9.2f} {line.cost_after_free_tier:>10.2f}"
            )
    total = sum(line.cost for line in lines)
    after_free = sum(line.cost_after_free_tier for line in lines)
    print(f"    {'Total':<55} {'':>14} {'':<13} {total:>9.2f} {after_free:>10.2f}")
    cold = ", ".join(f"{name} {share:.0%}" for name, share in workload["assumptions"]["cold_share"].items())
    print(f"    Assumed: {memory_mb} MB functions (template.yaml); cold starts: {cold}; {sweeps:,} sweeps.")
    print(
        "    Upper bounds: every article request reads S3 (no warm cache); logs stored uncompressed for "
        f"{stack.log_retention_days} days; one KMS request per call on encrypted data."
    )
    RESULTS["monthly_bill"] = {
        "workload": workload,
        "lines": [line.__dict__ for line in lines],
        "total_usd": total,
        "total_after_free_tier_usd": after_free,
        "per_invocation": {kind.name: {"per_month": kind.per_month, "duration_ms": kind.duration_ms,
                                       "init_ms": kind.init_ms, "log_bytes": kind.log_bytes,
                                       "metrics": sorted(kind.metrics), "usage": dict(kind.usage)}
                           for kind in kinds},
    }  # fmt: skip
    return lines


RESULTS: dict[str, Any] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000, help="warm calls per route and handler")
    parser.add_argument("--import-runs", type=int, default=15, help="processes per module for cold imports")
    parser.add_argument("--widget-runs", type=int, default=30, help="widget solves in Chromium")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json", help="write figures here")
    args = parser.parse_args(argv)
    os.environ.update(ENVIRONMENT)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)

    python = sys.version.split()[0]
    print(f"Benchmark: {os.cpu_count()} CPUs, Python {python}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    import_ok = report_imports(args.import_runs)
    objects = published_objects(5)
    cold_answer_ok = report_cold_answers(objects, args.import_runs)
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # the handlers' log lines
        routes = [measure_route(route, objects, args.calls) for route in ROUTES]
    latency_ok = report_latency(routes, args.calls)
    report_proof_of_work(min(args.calls, 5000), args.widget_runs)
    cache_ok, one_read_ok = report_calls(routes, objects)
    report_costs(routes)
    report_bill(objects)

    budgets = {
        "cold import at most 1.5x import boto3 (consultations 1.8x)": import_ok,
        f"cold first answer at most {BUDGET_COLD_ANSWER}x a bare boto3 handler": cold_answer_ok,
        f"warm p99 at most {BUDGET_P99}x the hand-written baseline": latency_ok,
        "warm cache: zero S3 reads until the TTL passes": cache_ok,
        "one S3 read per uncached list request, whatever the number of articles": one_read_ok,
    }
    print("\nBudgets")
    for label, ok in budgets.items():
        print(f"    {'met   ' if ok else 'MISSED'} {label}")
    RESULTS["budgets"] = budgets
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(RESULTS, indent=2))
    return 0 if all(budgets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
