"""`clinic dev` options (kept apart so that `clinic --help` needs no local-stack imports)."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def add_dev_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address every server listens on")
    parser.add_argument("--aws-port", type=int, default=5000, help="embedded AWS (moto) port")
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port")
    parser.add_argument("--site-port", type=int, default=8000, help="example site port")
    parser.add_argument("--content-dir", type=Path, default=ROOT / "content")
    parser.add_argument("--site-dir", type=Path, default=ROOT / "site")
    parser.add_argument("--log-file", type=Path, default=None, help="also write every log line here")
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
