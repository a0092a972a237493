"""The embedded AWS: moto's threaded server, with DynamoDB requests taken one at a time.

DynamoDB applies a conditional write atomically and isolates a transaction from every
other write (TransactWriteItems is serializable). moto's server runs each request on its
own thread without either: two transactions can both pass a condition, and a cancelled
transaction restores a copy of its tables taken before it ran, erasing whatever other
requests wrote meanwhile. With several containers per function those races are real, so
the local stack serializes DynamoDB (and its streams) behind one lock: stricter than
DynamoDB, never looser. Other services keep moto's own threading.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

# The X-Amz-Target prefixes of DynamoDB's and DynamoDB Streams' JSON protocol.
SERIAL_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialDynamoDb:
    """WSGI middleware: a DynamoDB request runs alone, its whole answer inside the lock."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(SERIAL_TARGETS):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class EmbeddedAws(ThreadedMotoServer):
    """ThreadedMotoServer, serving its app through SerialDynamoDb, with Cognito checking TOTP codes
    as AWS does (moto accepts any code unless told otherwise; the setting is read per request)."""

    def start(self) -> None:
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
        super().start()

    def _server_entry(self) -> None:
        app = SerialDynamoDb(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
