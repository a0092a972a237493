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
import json
import logging
import os
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

from bench import baselines

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
    "CONTENT_BUCKET": "bench-content",
    "SITE_BASE_URL": "https://www.example-clinic.com",
    "CACHE_TTL_SECONDS": "60",
    "LEADS_TABLE": "bench-leads",
    "GUARD_TABLE": "bench-guard",
    "CLIENT_HASH_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
    "RATE_LIMIT_PER_WINDOW": "10000",
    "CONSENT_VERSION": "bench",
    "THANK_YOU_URL": "https://www.example-clinic.com/thank-you/",
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

    def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
        if service not in self.clients:
            client = boto3.session.Session().client(service, region_name="us-east-1", **kwargs)
            client.meta.events.register("before-parameter-build", self._count)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1

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


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


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
        aws.stub("secretsmanager", "get_secret_value", {"SecretString": "bench-secret", "Name": "bench"})
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
    from clinic.articles.service import ArticleCatalog, PublishedContent, SiteLinks

    aws = StubbedAws()
    stub_content(aws, objects, ["index.json"] * (requests if ttl_expired else 1))
    content = PublishedContent("bench", "published/", 0 if ttl_expired else 60, s3_client=aws.client("s3"))
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


RESULTS: dict[str, Any] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000, help="warm calls per route and handler")
    parser.add_argument("--import-runs", type=int, default=15, help="processes per module for cold imports")
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
    cache_ok, one_read_ok = report_calls(routes, objects)
    report_costs(routes)

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
