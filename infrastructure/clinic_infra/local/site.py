"""Serves the example site, pointed at the local API instead of the production one."""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_API_BASE = re.compile(r"""apiBase:\s*["']([^"']+)["']""")


def configured_api_base(site_dir: Path) -> str | None:
    """The one setting of the site: `apiBase` in site/config.js."""
    config = site_dir / "config.js"
    found = _API_BASE.search(config.read_text(encoding="utf-8")) if config.is_file() else None
    return found.group(1).rstrip("/") if found else None


class SiteServer:
    """Static files from site/, except that the production API base becomes the local one:
    /config.js names the local API, and HTML pages (the no-JavaScript form's action) use it.
    """

    def __init__(self, directory: Path, api_url: str, *, host: str = "127.0.0.1", port: int = 8000) -> None:
        config_js = f"window.CLINIC_CONFIG = {json.dumps({'apiBase': api_url})};\n".encode()
        production_base = configured_api_base(directory)

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.send_header("cache-control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/config.js":
                    self._send(config_js, "text/javascript; charset=utf-8")
                    return
                page = Path(self.translate_path(path))
                if page.is_dir():
                    page = page / "index.html"
                if production_base and page.suffix == ".html" and page.is_file():
                    html = page.read_text(encoding="utf-8").replace(production_base, api_url)
                    self._send(html.encode(), "text/html; charset=utf-8")
                    return
                super().do_GET()

        self._server = ThreadingHTTPServer((host, port), partial(Handler, directory=str(directory)))
        self._server.daemon_threads = True

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
