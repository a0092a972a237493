"""The template's functions as local worker processes: Lambda's execution environments.

A function has up to `concurrency` containers (worker processes), each running one event at
a time. An invocation takes an idle warm container, or starts a new one while fewer than
`concurrency` exist. With all of them busy, a synchronous caller (API Gateway) is throttled
at once, as Lambda answers it TooManyRequestsException; a poller or a schedule waits for a
container instead, as Lambda's event source mappings and its asynchronous queue retry a
throttled event until it runs.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess  # nosec B404 - starts this interpreter on our own worker module
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from clinic_infra.template import FunctionSpec

LogSink = Callable[[str, str], None]


class InvocationError(Exception):
    """The function failed: it raised, timed out, or could not start."""


class FunctionThrottled(InvocationError):
    """Every container the function may have is busy (Lambda's TooManyRequestsException)."""


class _Container:
    """One warm Lambda container: started on first use, reused, restarted after a crash or timeout."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: LogSink) -> None:
        self.spec = spec
        self._environment = environment
        self._log = log
        self._process: subprocess.Popen[str] | None = None
        self._results: IO[str] | None = None

    @property
    def name(self) -> str:
        return self.spec.logical_id

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        env = {**self._environment, "CLINIC_WORKER_RESULT_FD": str(write_fd)}
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603 - our interpreter, our module
            [sys.executable, "-m", "clinic_infra.local.worker", self.spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "r", encoding="utf-8")
        threading.Thread(target=self._forward_logs, args=(self._process.stdout,), daemon=True).start()
        ready = self._read_reply(timeout=60)
        if "ready" not in ready:
            self.stop()
            raise InvocationError(f"{self.name} failed to start: {ready.get('init_error')}")

    def _forward_logs(self, output: IO[str] | None) -> None:
        for line in output or ():
            self._log(self.name, line.rstrip("\n"))

    def _read_reply(self, timeout: float) -> dict[str, Any]:
        results = self._results
        if results is None:
            raise InvocationError(f"{self.name} is not running")
        with selectors.DefaultSelector() as selector:
            selector.register(results, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                raise InvocationError(f"{self.name} timed out after {timeout:.0f} seconds")
        line = results.readline()
        if not line:
            self.stop()
            raise InvocationError(f"{self.name} exited")
        return json.loads(line)  # type: ignore[no-any-return]

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run one event to completion in this container; the worker's reply."""
        if not self.alive:
            self._start()
        stdin = self._process.stdin if self._process else None
        if stdin is None:
            raise InvocationError(f"{self.name} is not running")
        try:
            stdin.write(json.dumps(event) + "\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: stopped meanwhile, the pipe is closed
            self.stop()
            raise InvocationError(f"{self.name} exited") from None
        return self._read_reply(timeout=self.spec.timeout)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        if self._results is not None:
            self._results.close()
            self._results = None


class LocalFunction:
    """A Lambda function: up to `concurrency` containers, each one event at a time."""

    def __init__(
        self, spec: FunctionSpec, environment: dict[str, str], log: LogSink, concurrency: int = 1
    ) -> None:
        if concurrency < 1:
            raise ValueError("a function needs at least one container")
        self.spec = spec
        self.concurrency = concurrency
        self._environment = {
            **environment,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "CLINIC_FUNCTION_TIMEOUT": str(spec.timeout),
        }
        self._log = log
        self._slots = threading.Condition()
        self._idle: list[_Container] = []
        self._busy: set[_Container] = set()
        # What Lambda's metrics would show: Throttles, and the most concurrent executions.
        self.throttles = 0
        self.peak_concurrency = 0

    @property
    def name(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: dict[str, Any], *, throttle: bool = False) -> Any:
        """Run one event in a free container. With every container busy, `throttle` raises
        FunctionThrottled at once (a synchronous caller); otherwise the call waits for one."""
        container = self._acquire(throttle)
        try:
            reply = container.run(event)
        finally:
            self._release(container)
        if "error" in reply:
            raise InvocationError(f"{self.name} raised {reply['error']}")
        return reply["result"]

    def _acquire(self, throttle: bool) -> _Container:
        with self._slots:
            while True:
                if self._idle:
                    container = self._idle.pop()  # the most recently used: warmest, as Lambda reuses
                elif len(self._busy) < self.concurrency:
                    container = _Container(self.spec, self._environment, self._log)
                elif throttle:
                    self.throttles += 1
                    raise FunctionThrottled(f"{self.name}: all {self.concurrency} containers are busy")
                else:
                    self._slots.wait()
                    continue
                self._busy.add(container)
                self.peak_concurrency = max(self.peak_concurrency, len(self._busy))
                return container

    def _release(self, container: _Container) -> None:
        with self._slots:
            self._busy.discard(container)
            if container.alive:
                self._idle.append(container)
            self._slots.notify()

    def stop(self) -> None:
        with self._slots:
            containers = [*self._idle, *self._busy]
            self._idle.clear()
        for container in containers:
            container.stop()
