"""Record the AWS calls the template's handlers make, and check each against the function's role.

In this process (the integration tests, under moto), a call belongs to a function when the
handler the template names for it is on the call stack: the tests' own set-up and reads are
not the function's. The local stack's workers record their calls to a file instead
(clinic_infra.local.calls). Either way a call is checked as soon as the test that caused it
ends, so any subset of the tests checks the calls it makes: a call the role does not allow
fails that test.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from clinic_infra.local.calls import recording_hook
from clinic_infra.template import StackTemplate
from tests.iam.authorization import Binding, UnmappedCall, lambda_calls, requests_for
from tests.iam.evaluator import Request, policy_allows
from tests.iam.roles import Statements, bound_roles, translated_template

Call = Mapping[str, Any]


class HandlerCalls:
    """Calls made in this process while one of the template's handlers runs."""

    def __init__(self, stack: StackTemplate) -> None:
        self.calls: list[Call] = []
        self._handlers = {}
        for name, spec in stack.functions().items():
            module, _, function = spec.handler.rpartition(".")
            self._handlers[(module, function)] = name

    def function(self) -> str | None:
        frame = inspect.currentframe()
        while frame is not None:
            name = self._handlers.get((str(frame.f_globals.get("__name__")), frame.f_code.co_name))
            if name is not None:
                return name
            frame = frame.f_back
        return None


def unauthorized(
    calls: Iterable[Call], stack: StackTemplate, roles: Mapping[str, Statements] | None = None
) -> list[str]:
    """What of `calls` the functions' roles (as deployed, bound to `stack`) do not allow."""
    binding = Binding(stack)
    roles = bound_roles(translated_template(), stack) if roles is None else roles
    problems = []
    seen: set[tuple[str, Request]] = set()
    for call in calls:
        try:
            requests = requests_for(call, binding)
        except UnmappedCall as error:
            problems.append(str(error))
            continue
        for req in requests:
            if (call["function"], req) in seen:
                continue
            seen.add((call["function"], req))
            if not policy_allows(roles[call["function"]], req):
                problems.append(f"{call['function']}'s role does not allow {req}")
    return problems


def all_calls(recorded: Iterable[Call], stack: StackTemplate) -> list[Call]:
    """The recorded calls and those Lambda makes for each function (logs, traces, the mapping)."""
    return [*recorded, *lambda_calls(stack)]


@contextmanager
def checked_handler_calls(stack: StackTemplate) -> Iterator[HandlerCalls]:
    """Record the handlers' calls while the block runs (clients made from boto3's default session
    after it starts), then fail if a role does not allow one."""
    recorder = HandlerCalls(stack)
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    hook = recording_hook(recorder.function, recorder.calls.append, os.environ)
    session.events.register("before-parameter-build", hook)
    try:
        yield recorder
    finally:
        session.events.unregister("before-parameter-build", hook)
    problems = unauthorized(recorder.calls, stack)
    if problems:
        pytest.fail("AWS would refuse calls this test made:\n" + "\n".join(problems), pytrace=False)
