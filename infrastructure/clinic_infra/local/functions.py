"""The template's functions as local worker processes, one event at a time each."""

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


class LocalFunction:
    """A warm Lambda container: started on first use, reused, restarted after a crash or timeout."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: LogSink) -> None:
        self.spec = spec
        self._environment = {
            **environment,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "CLINIC_FUNCTION_TIMEOUT": str(spec.timeout),
        }
        self._log = log
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._results: IO[str] | None = None

    @property
    def name(self) -> str:
        return self.spec.logical_id

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

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one event to completion, as Lambda would in this container."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            stdin = self._process.stdin if self._process else None
            if stdin is None:
                raise InvocationError(f"{self.name} is not running")
            try:
                stdin.write(json.dumps(event) + "\n")
                stdin.flush()
            except BrokenPipeError:
                self.stop()
                raise InvocationError(f"{self.name} exited") from None
            reply = self._read_reply(timeout=self.spec.timeout)
        if "error" in reply:
            raise InvocationError(f"{self.name} raised {reply['error']}")
        return reply["result"]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        if self._results is not None:
            self._results.close()
            self._results = None
