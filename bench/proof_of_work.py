"""The proof of work's two costs: the server's check of a solution (part of every POST), and the
widget's solve in Chromium with the CPU throttled 4x (a patient on a slow phone).

The challenge is made at the template's default difficulty (ChallengeCost, ChallengeMaxNumber),
so that the figures are those of what deploys.
"""

from __future__ import annotations

import gc
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from clinic.consultations.proof_of_work import ChallengeIssuer, ChallengePolicy
from clinic_infra.proof_of_work import solve

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CPU_THROTTLE = 4  # CDP Emulation.setCPUThrottlingRate: a phone about four times slower than this machine


def default_policy() -> ChallengePolicy:
    """The template's defaults for the challenge."""
    from clinic_infra.template import StackTemplate

    parameters = StackTemplate().document["Parameters"]
    return ChallengePolicy(
        cost=int(parameters["ChallengeCost"]["Default"]),
        max_number=int(parameters["ChallengeMaxNumber"]["Default"]),
        expiry_seconds=int(parameters["ChallengeExpirySeconds"]["Default"]),
    )


def issuer(secret: str) -> ChallengeIssuer:
    return ChallengeIssuer(lambda: secret.encode(), default_policy())


def solved(secret: str) -> str:
    """An `altcha` field the handler reading `secret` accepts."""
    return solve(issuer(secret).issue())


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "max": max(samples)}


def server_costs(secret: str, calls: int) -> dict[str, dict[str, float]]:
    """Milliseconds per check of a valid solution and per challenge issued (the secret cached)."""
    challenges = issuer(secret)
    payload = solved(secret)
    assert challenges.check(payload).claim is not None
    figures = {}
    for name, call in (("verify", lambda: challenges.check(payload)), ("issue", challenges.issue)):
        for _ in range(min(200, calls)):
            call()
        samples = []
        gc.disable()
        try:
            for _ in range(calls):
                started = time.perf_counter_ns()
                call()
                samples.append((time.perf_counter_ns() - started) / 1e6)
        finally:
            gc.enable()
        figures[name] = _percentiles(samples)
    return figures


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script type="module" src="/vendor/altcha/altcha.min.js"></script></head>
<body><form><altcha-widget name="altcha" challenge="/challenge"></altcha-widget></form></body></html>"""


@contextmanager
def _site(secret: str) -> Iterator[str]:
    """The example site's vendored widget, a page holding it, and fresh challenges."""
    challenges = issuer(secret)

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/challenge":
                self._send(json.dumps(challenges.issue()), "application/json")
            elif self.path == "/":
                self._send(PAGE, "text/html; charset=utf-8")
            else:
                super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(ROOT / "site")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# One solve: a new challenge, solved with the widget's own code, its minimum duration (an
# artificial 500 ms the widget adds by default) turned off so that the work itself is timed.
SOLVE = """async () => {
  const widget = document.querySelector("altcha-widget");
  await customElements.whenDefined("altcha-widget");
  await widget.configure({ minDuration: 0 });
  widget.reset();
  const started = performance.now();
  const result = await widget.verify();
  if (!result || !result.payload) throw new Error("not solved");
  return performance.now() - started;
}"""


def widget_solve_ms(secret: str, runs: int, throttle: int = CPU_THROTTLE) -> dict[str, float]:
    """Milliseconds the vendored widget takes to fetch and solve a challenge in Chromium."""
    from playwright.sync_api import sync_playwright

    with _site(secret) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            page.evaluate(SOLVE)  # warm: the workers' code compiled
            samples = [float(page.evaluate(SOLVE)) for _ in range(runs)]
        finally:
            browser.close()
    return {**_percentiles(samples), "mean": statistics.fmean(samples), "runs": runs, "throttle": throttle}


if __name__ == "__main__":
    figures = {"server": server_costs("bench", 2000), "widget": widget_solve_ms("bench", 20)}
    print(json.dumps(figures, indent=2))
