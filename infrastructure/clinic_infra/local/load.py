"""A bounded load test of POST /consultations through the local gateway (`make load`).

Patients are simulated from many loopback addresses (127.42.x.y): Linux routes all of
127.0.0.0/8 to loopback, and the gateway takes the TCP peer as the source IP, as API Gateway
does, so the rate limit counts per address as in AWS. Each address sends at most
`per_address` new requests, fewer than RateLimitPerHour's default of 5, so the stack runs
with the limit it deploys with. Of all requests, `repeat_share` are exact repeats of an
earlier one with its Idempotency-Key (half at the same moment as it, a double click; half
after its answer, a retry) and `conflict_share` reuse a key with another body. An attempt
the gateway answers 500 (a throttled or failed function) is sent again with the same key and
body, as a patient clicks again. Every new request carries a solved proof-of-work challenge,
as from the site's widget (solved before the clock starts), so that it reaches staff.

Then it waits, bounded, for the notifier, and checks what the clinic would notice: every new
request stored once under the id it was answered with, every repeat answered with that id,
every conflict 409, every lead's staff email sent once (the lead's marks and the outbox).
Count and time are bounded: requests not started within `deadline_seconds` are not sent
(and the run fails). Loopback only.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import socket
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from clinic_infra import proof_of_work
from clinic_infra.local.options import ROOT
from clinic_infra.local.stack import DevConfig, LocalStack

STAFF_SUBJECT = "New consultation request "
INTERNAL_ERROR = {"message": "Internal Server Error"}
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class LoadPlan:
    requests: int = 500
    repeat_share: float = 0.20
    conflict_share: float = 0.05
    per_address: int = 4
    clients: int = 8  # client threads sending at once
    deadline_seconds: float = 30.0
    settle_seconds: float = 90.0  # how long the notifier may take after the last request
    seed: int = 9


@dataclass(frozen=True)
class Visit:
    """One patient's form view: a new request, maybe repeated, maybe its key reused."""

    number: int
    address: str
    key: str
    email: str
    body: bytes
    double_click: bool  # an identical request sent at the same moment
    retry: bool  # an identical request sent after the first answer
    other_body: bytes | None  # the same key with another body, after the first answer


@dataclass(frozen=True)
class Answer:
    status: int
    lead_id: str | None
    seconds: float  # of the attempt that was answered


@dataclass
class VisitResult:
    first: list[Answer] = field(default_factory=list)  # two for a double click
    retry: Answer | None = None
    conflict: Answer | None = None


@dataclass
class LoadReport:
    plan: LoadPlan
    addresses: int
    concurrency: int
    sent: int
    resent: int
    seconds: float
    latencies: list[float]
    new_requests: int
    stored: int
    lost: int
    doubled: int
    repeats: int
    repeats_first_id: int
    double_clicks: int
    conflicts: int
    conflicts_409: int
    leads_emailed_once: int
    emails_settled_seconds: float
    throttles: int
    peak_concurrency: int
    problems: list[str]

    def percentile(self, share: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[share - 1]

    def figures(self) -> str:
        ms = {share: self.percentile(share) * 1000 for share in (50, 95, 99)}
        return "\n".join(
            [
                f"Load: {self.sent} consultation requests from {self.addresses} client addresses, "
                f"{self.plan.clients} client threads, up to {self.concurrency} containers per function",
                f"  duration          {self.seconds:.1f} s ({self.sent / self.seconds:.1f} requests/s); "
                f"{self.resent} attempts answered 500 and sent again "
                f"({self.throttles} throttles counted; peak {self.peak_concurrency} containers busy)",
                f"  latency           p50 {ms[50]:.0f} ms, p95 {ms[95]:.0f} ms, p99 {ms[99]:.0f} ms",
                f"  leads             {self.stored} stored for {self.new_requests} new requests: "
                f"{self.lost} lost, {self.doubled} doubled",
                f"  repeats           {self.repeats_first_id} of {self.repeats} answered with the first id "
                f"({self.double_clicks} concurrent double clicks)",
                f"  conflicts         {self.conflicts_409} of {self.conflicts} answered 409",
                f"  staff emails      {self.leads_emailed_once} of {self.stored} leads emailed exactly once "
                f"(marks and outbox), all sent {self.emails_settled_seconds:.1f} s after the last request",
                "  result            " + ("OK" if not self.problems else f"{len(self.problems)} problems"),
                *(f"    {problem}" for problem in self.problems[:20]),
            ]
        )


def client_address(index: int) -> str:
    """The index-th simulated patient's loopback address: 127.42.0.1, 127.42.0.2, …"""
    return f"127.42.{index // 250}.{index % 250 + 1}"


def _body(email: str, number: int, message: str, altcha: str | None = None) -> bytes:
    fields: dict[str, Any] = {
        "name": f"Load Patient {number}",
        "email": email,
        "preferred_contact": "email",
        "preferred_time": "any",
        "concerns": ["other"],
        "message": message,
        "consent": True,
    }
    if altcha:
        fields["altcha"] = altcha
    return json.dumps(fields).encode()


def plan_visits(plan: LoadPlan, run: str, solutions: Sequence[str] = ()) -> list[Visit]:
    """The requests to send, in a seeded random order; each new request carries the next of
    `solutions` (proof of work) while there are any."""
    repeats = round(plan.requests * plan.repeat_share)
    conflicts = round(plan.requests * plan.conflict_share)
    new = plan.requests - repeats - conflicts
    if new < max(repeats, conflicts):
        raise ValueError("too few new requests to repeat")
    rng = random.Random(plan.seed)  # noqa: S311  # nosec B311 - picks the request mix, no secret
    numbers = range(new)
    repeated = rng.sample(numbers, repeats)
    double_clicks = set(repeated[: repeats // 2])
    conflicted = set(rng.sample(numbers, conflicts))
    visits = []
    for number in numbers:
        email = f"load-{run}-{number}@example.org"
        altcha = solutions[number] if number < len(solutions) else None
        visits.append(
            Visit(
                number=number,
                address=client_address(number // plan.per_address),
                key=f"load-{run}-{number}",
                email=email,
                body=_body(email, number, f"Load test visit {number}.", altcha),
                double_click=number in double_clicks,
                retry=number in repeated and number not in double_clicks,
                other_body=_body(email, number, "Another message.", altcha) if number in conflicted else None,
            )
        )
    rng.shuffle(visits)
    return visits


class _Sender:
    """Sends each visit's requests from its own address; resends what the gateway answers 500."""

    def __init__(self, api_url: str, plan: LoadPlan) -> None:
        self._api_url = api_url
        self._plan = plan
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        self.resent = 0
        self.sent = 0
        self.latencies: list[float] = []

    def client(self, address: str) -> httpx.Client:
        with self._lock:
            if address not in self._clients:
                transport = httpx.HTTPTransport(local_address=address)
                self._clients[address] = httpx.Client(base_url=self._api_url, transport=transport, timeout=30)
            return self._clients[address]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def post(self, address: str, key: str, body: bytes) -> Answer:
        client = self.client(address)
        headers = {"content-type": "application/json", "idempotency-key": key}
        with self._lock:
            self.sent += 1
        for attempt in range(MAX_ATTEMPTS):
            started = time.monotonic()
            response = client.post("/consultations", content=body, headers=headers)
            seconds = time.monotonic() - started
            if response.status_code == 500 and response.json() == INTERNAL_ERROR:
                with self._lock:
                    self.resent += 1
                time.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311  # nosec B311
                continue
            with self._lock:
                self.latencies.append(seconds)
            lead_id = response.json().get("id") if response.status_code == 201 else None
            return Answer(response.status_code, lead_id, seconds)
        return Answer(500, None, 0.0)

    def double_click(self, visit: Visit) -> list[Answer]:
        """Two identical requests released together, as a double click past the button."""
        barrier = threading.Barrier(2)
        answers: list[Answer] = []

        def click() -> None:
            barrier.wait(timeout=10)
            answer = self.post(visit.address, visit.key, visit.body)
            with self._lock:
                answers.append(answer)

        second = threading.Thread(target=click)
        second.start()
        click()
        second.join()
        return answers

    def visit(self, visit: Visit, deadline: float) -> VisitResult | None:
        if time.monotonic() > deadline:
            return None
        result = VisitResult()
        if visit.double_click:
            result.first = self.double_click(visit)
        else:
            result.first = [self.post(visit.address, visit.key, visit.body)]
        if visit.retry:
            result.retry = self.post(visit.address, visit.key, visit.body)
        if visit.other_body is not None:
            result.conflict = self.post(visit.address, visit.key, visit.other_body)
        return result


def _leads_table(stack: LocalStack) -> str:
    if stack.template is None:
        raise RuntimeError("the local stack is not running")
    return str(stack.template.refs["LeadsTable"])


def _leads(stack: LocalStack) -> list[dict[str, Any]]:
    paginator = stack.client("dynamodb").get_paginator("scan")
    items = []
    for page in paginator.paginate(TableName=_leads_table(stack), ConsistentRead=True):
        for item in page["Items"]:
            items.append({name: next(iter(value.values())) for name, value in item.items()})
    return items


def _staff_emails(stack: LocalStack) -> Counter[str]:
    """Staff emails in the local outbox, counted by the lead reference in their subject."""
    outbox = httpx.get(f"{stack.api_url}/_local/outbox.json", timeout=30).json()
    return Counter(
        email["subject"].removeprefix(STAFF_SUBJECT)
        for email in outbox
        if email["subject"].startswith(STAFF_SUBJECT)
    )


def _pending(stack: LocalStack) -> int:
    """Leads still in the sparse PendingNotification index (a count: far cheaper than a scan)."""
    answer = stack.client("dynamodb").query(
        TableName=_leads_table(stack),
        IndexName="PendingNotification",
        KeyConditionExpression="notify_state = :pending",
        ExpressionAttributeValues={":pending": {"S": "pending"}},
        Select="COUNT",
    )
    return int(answer["Count"])


def _settle(stack: LocalStack, seconds: float) -> float:
    """Wait, at most `seconds`, until no lead is pending notification; the time it took."""
    started = time.monotonic()
    while _pending(stack) and time.monotonic() - started < seconds:
        time.sleep(1)
    return time.monotonic() - started


def _solutions(api_url: str, count: int, workers: int) -> list[str]:
    """`count` solved challenges from the API, as patients' browsers solve them while they type
    (so before the clock starts: the load is the API's, not the solving). Fetched one at a
    time, so that no fetch meets the function's concurrency ceiling."""
    with httpx.Client(base_url=api_url, timeout=30) as client:
        challenges = [client.get("/consultations/challenge").json() for _ in range(count)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="solve") as pool:
        return list(pool.map(proof_of_work.solve, challenges))


def run_load(stack: LocalStack, plan: LoadPlan) -> LoadReport:
    """Send the plan's requests through the stack's gateway and check every invariant."""
    repeats = round(plan.requests * plan.repeat_share) + round(plan.requests * plan.conflict_share)
    solutions = _solutions(stack.api_url, plan.requests - repeats, plan.clients)
    visits = plan_visits(plan, uuid.uuid4().hex[:8], solutions)
    sender = _Sender(stack.api_url, plan)
    started = time.monotonic()
    deadline = started + plan.deadline_seconds
    try:
        with ThreadPoolExecutor(max_workers=plan.clients, thread_name_prefix="load") as pool:
            results = list(pool.map(lambda visit: sender.visit(visit, deadline), visits))
    finally:
        sender.close()
    seconds = time.monotonic() - started
    settled = _settle(stack, plan.settle_seconds)
    leads = _leads(stack)
    consultations = stack.functions["ConsultationsFunction"]
    report = LoadReport(
        plan=plan,
        addresses=len({visit.address for visit in visits}),
        concurrency=consultations.concurrency,
        sent=sender.sent,
        resent=sender.resent,
        seconds=seconds,
        latencies=sender.latencies,
        new_requests=len(visits),
        stored=len(leads),
        lost=0,
        doubled=0,
        repeats=0,
        repeats_first_id=0,
        double_clicks=sum(visit.double_click for visit in visits),
        conflicts=0,
        conflicts_409=0,
        leads_emailed_once=0,
        emails_settled_seconds=settled,
        throttles=consultations.throttles,
        peak_concurrency=consultations.peak_concurrency,
        problems=[],
    )
    check(report, visits, results, leads, _staff_emails(stack))
    return report


def check(
    report: LoadReport,
    visits: list[Visit],
    results: list[VisitResult | None],
    leads: list[dict[str, Any]],
    staff_emails: Counter[str],
) -> None:
    """Fill in the report's counts and problems from the answers, the table and the outbox."""
    by_email: dict[str, list[dict[str, Any]]] = {}
    for lead in leads:
        by_email.setdefault(str(lead.get("email")), []).append(lead)
    for visit, result in zip(visits, results, strict=True):
        _check_visit(report, visit, result, by_email.pop(visit.email, []))
    report.doubled += sum(len(extra) for extra in by_email.values())  # leads no visit sent
    problems = report.problems
    if report.doubled:
        problems.append(f"{report.doubled} leads stored twice")
    if report.repeats_first_id != report.repeats:
        problems.append(f"{report.repeats - report.repeats_first_id} repeats not answered with the first id")
    if report.conflicts_409 != report.conflicts:
        problems.append(f"{report.conflicts - report.conflicts_409} conflicts not answered 409")
    for lead in leads:
        marked = "notified_at" in lead and "notification_staff_email_at" in lead
        sent = staff_emails[lead.get("reference", lead["id"])]  # the subject names the reference
        if marked and sent == 1:
            report.leads_emailed_once += 1
        else:
            problems.append(f"lead {lead['id']}: {sent} staff emails, marked notified: {marked}")


def _check_visit(
    report: LoadReport, visit: Visit, result: VisitResult | None, stored: list[dict[str, Any]]
) -> None:
    if result is None:
        report.problems.append(f"visit {visit.number} was not sent within {report.plan.deadline_seconds:g} s")
        return
    if not stored:
        report.lost += 1
        report.problems.append(f"visit {visit.number}: no lead stored (answered {result.first})")
    report.doubled += max(0, len(stored) - 1)
    lead_id = stored[0]["id"] if stored else None
    for answer in result.first:
        if answer.status != 201 or answer.lead_id != lead_id:
            report.problems.append(f"visit {visit.number}: first answer {answer}, stored {lead_id}")
    repeats = result.first[1:] + ([result.retry] if result.retry else [])
    report.repeats += len(repeats)
    report.repeats_first_id += sum(answer.status == 201 and answer.lead_id == lead_id for answer in repeats)
    if result.conflict is not None:
        report.conflicts += 1
        report.conflicts_409 += result.conflict.status == 409


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def load_stack(concurrency: int, log_file: Path | None = None) -> Iterator[LocalStack]:
    """A local stack of its own on free ports, with the template's default parameters."""
    config = DevConfig(
        aws_port=free_port(),
        api_port=free_port(),
        site_port=free_port(),
        log_file=log_file,
        concurrency=concurrency,
        stack_name="clinic-load",
    )
    stack = LocalStack(config, out=io.StringIO())
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clinic_infra.local.load", description=__doc__)
    defaults = LoadPlan()
    parser.add_argument("--requests", type=int, default=defaults.requests)
    parser.add_argument("--clients", type=int, default=defaults.clients, help="client threads")
    parser.add_argument("--concurrency", type=int, default=4, help="containers per function")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--log-file", type=Path, default=ROOT / "build" / "load-stack.log")
    args = parser.parse_args(argv)
    args.log_file.parent.mkdir(parents=True, exist_ok=True)
    args.log_file.write_text("")
    plan = LoadPlan(requests=args.requests, clients=args.clients, seed=args.seed)
    with load_stack(args.concurrency, args.log_file) as stack:
        report = run_load(stack, plan)
    print(report.figures())
    print(f"  stack log         {args.log_file}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
