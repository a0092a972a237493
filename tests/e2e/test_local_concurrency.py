"""Several containers per function, as Lambda runs them, behind the local gateway."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clinic_infra.local.functions import LocalFunction
from clinic_infra.local.gateway import CorsConfig, LocalGateway
from clinic_infra.local.stack import DevConfig, LocalStack
from clinic_infra.template import FunctionSpec, StackTemplate
from tests.e2e.conftest import free_port
from tests.e2e.test_gateway import request

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 2


@pytest.fixture
def echo() -> Iterator[LocalFunction]:
    spec = FunctionSpec("EchoFunction", "tests.support.echo_handler.lambda_handler", 20, 128, {}, {}, {})
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    function = LocalFunction(spec, environment, lambda *_: None, concurrency=CONCURRENCY)
    yield function
    function.stop()


@pytest.fixture
def gateway(echo: LocalFunction) -> Iterator[LocalGateway]:
    template = StackTemplate()
    gateway = LocalGateway(
        [route for route in template.http_routes() if not route.authorizer],  # the public routes
        lambda _function, event: echo.invoke(event, throttle=True),  # as LocalStack.invoke does
        CorsConfig.from_template(template.http_api()),
        port=free_port(),
        log=lambda _: None,
    )
    gateway.start()
    yield gateway
    gateway.stop()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 60  # a bound on a slow machine, not a measurement
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def _hold_every_container(gateway: LocalGateway, hold: Path) -> list[threading.Thread]:
    """Requests that keep all containers busy until `hold/release` exists; their answers land in hold/."""

    def held_request(slot: int) -> None:
        status, headers, _ = request(gateway, "GET", "/articles", headers={"x-echo-hold": str(hold)})
        (hold / f"answer-{slot}.json").write_text(json.dumps([status, headers["x-worker-pid"]]))

    threads = [threading.Thread(target=held_request, args=(slot,)) for slot in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len([path for path in hold.iterdir() if path.name.isdigit()]) == CONCURRENCY, "holds")
    return threads


def test_requests_run_side_by_side_up_to_the_concurrency_and_beyond_it_are_throttled(
    gateway: LocalGateway, echo: LocalFunction, tmp_path: Path
) -> None:
    threads = _hold_every_container(gateway, tmp_path)

    status, _, body = request(gateway, "GET", "/articles")  # every container is busy

    (tmp_path / "release").touch()
    for thread in threads:
        thread.join()
    answers = [json.loads((tmp_path / f"answer-{slot}.json").read_text()) for slot in range(CONCURRENCY)]
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert [answer[0] for answer in answers] == [200] * CONCURRENCY
    assert len({answer[1] for answer in answers}) == CONCURRENCY  # one worker process each
    assert (echo.throttles, echo.peak_concurrency) == (1, CONCURRENCY)


def test_warm_containers_are_reused_and_never_more_than_the_concurrency_start(
    gateway: LocalGateway, echo: LocalFunction, tmp_path: Path
) -> None:
    threads = _hold_every_container(gateway, tmp_path)
    held_pids = {path.name for path in tmp_path.iterdir() if path.name.isdigit()}
    (tmp_path / "release").touch()
    for thread in threads:
        thread.join()

    later = {request(gateway, "GET", "/articles")[1]["x-worker-pid"] for _ in range(5)}

    assert later <= held_pids


def test_a_poller_waits_for_a_container_instead_of_being_throttled(
    gateway: LocalGateway, echo: LocalFunction, tmp_path: Path
) -> None:
    threads = _hold_every_container(gateway, tmp_path)
    release = threading.Timer(0.5, (tmp_path / "release").touch)
    release.start()

    answer = echo.invoke({"headers": {}})  # every container is busy until the release

    release.join()
    for thread in threads:
        thread.join()
    assert answer["statusCode"] == 200
    assert echo.throttles == 0


@pytest.mark.parametrize(("reserved", "containers"), [(None, 4), (2, 2), (8, 4)])
def test_reserved_concurrency_lowers_the_local_ceiling(reserved: int | None, containers: int) -> None:
    stack = LocalStack(DevConfig(concurrency=4))
    assert stack.concurrency_of(reserved) == containers


def test_the_template_reservation_reaches_the_function_spec() -> None:
    functions = StackTemplate({"ConsultationsReservedConcurrency": "3"}).functions()
    assert functions["ConsultationsFunction"].reserved_concurrency == 3
    assert StackTemplate().functions()["ConsultationsFunction"].reserved_concurrency is None
