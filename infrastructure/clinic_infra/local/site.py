"""Serves the example site, with its API base pointed at the local gateway."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class SiteServer:
    """Static files from site/, except /config.js, which names the local API."""

    def __init__(self, directory: Path, api_url: str, *, host: str = "127.0.0.1", port: int = 8000) -> None:
        config_js = f"window.CLINIC_CONFIG = {json.dumps({'apiBase': api_url})};\n".encode()

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] == "/config.js":
                    self.send_response(200)
                    self.send_header("content-type", "text/javascript; charset=utf-8")
                    self.send_header("content-length", str(len(config_js)))
                    self.send_header("cache-control", "no-store")
                    self.end_headers()
                    self.wfile.write(config_js)
                    return
                super().do_GET()

        self._server = ThreadingHTTPServer((host, port), partial(Handler, directory=str(directory)))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
