"""`clinic dev` options (kept apart so that `clinic --help` needs no local-stack imports)."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Containers per function: the concurrency quota a new AWS account starts with, so a burst a
# fresh account would throttle is throttled here too (locally the ceiling is per function).
DEFAULT_CONCURRENCY = 10


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_dev_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address every server listens on")
    parser.add_argument("--aws-port", type=int, default=5000, help="embedded AWS (moto) port")
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port")
    parser.add_argument("--site-port", type=int, default=8000, help="example site port")
    parser.add_argument("--content-dir", type=Path, default=ROOT / "content")
    parser.add_argument("--site-dir", type=Path, default=ROOT / "site")
    parser.add_argument(
        "--log-file", type=Path, default=None, help="also write every log line here (metric lines raw)"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the functions' metric lines raw (embedded metric format JSON), not summarized",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. --parameter NotificationDetail=full (repeatable)",
    )
    parser.add_argument(
        "--sweep-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run the sweeper this often instead of the template's schedule (15 minutes)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="containers (worker processes) each function may run at once, as Lambda's concurrency;"
        f" a request beyond them is throttled (default {DEFAULT_CONCURRENCY})",
    )
