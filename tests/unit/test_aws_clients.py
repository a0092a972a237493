"""The one way the functions make AWS clients: the one given, else made on first use and kept."""

from __future__ import annotations

import threading

from clinic.common.aws import LazyClient


def test_a_given_client_is_used_and_none_is_made() -> None:
    def never() -> object:
        raise AssertionError("a client was made although one was given")

    given = object()
    assert LazyClient(given, never)() is given


def test_a_client_is_made_on_the_first_call_only_and_then_kept() -> None:
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    client = LazyClient(None, make)
    assert made == []  # a cold start that never calls the service makes no client
    first = client()
    assert client() is first
    assert made == [first]


def test_threads_asking_at_once_share_one_client() -> None:
    started = threading.Barrier(8)
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    client = LazyClient(None, make)
    seen: list[object] = []

    def ask() -> None:
        started.wait()
        seen.append(client())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert seen == made * 8
