"""The console's files and the security headers they are served with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pydantic import Field

from clinic.common.settings import EnvironmentSettings

# Every file the console has, by the name in its URL, with its content type.
ASSETS = {
    "console.js": "text/javascript; charset=utf-8",
    "cognito.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
PAGE, PAGE_TYPE = "index.html", "text/html; charset=utf-8"
CONFIG, CONFIG_TYPE = "config.json", "application/json"  # made from the settings, not a file


class ConsoleSettings(EnvironmentSettings):
    aws_region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    user_pool_client_id: str = Field(min_length=1, max_length=128)
    # Cognito's public endpoint; the local stack points it at the embedded AWS.
    cognito_endpoint: str = Field(default="", pattern=r"^(https?://[^\s'\";]+)?$")

    @property
    def cognito_url(self) -> str:
        return self.cognito_endpoint or f"https://cognito-idp.{self.aws_region}.amazonaws.com/"


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str


@cache
def _file(name: str) -> str:
    return resources.files("clinic.console").joinpath("assets", name).read_text(encoding="utf-8")


def page() -> Asset:
    return Asset(_file(PAGE), PAGE_TYPE)


def asset(name: str, settings: ConsoleSettings) -> Asset | None:
    """A console file by its URL name, or None: only the files in ASSETS (and config.json) exist."""
    if name == CONFIG:
        config = {
            "region": settings.aws_region,
            "clientId": settings.user_pool_client_id,
            "cognitoEndpoint": settings.cognito_url,
        }
        return Asset(json.dumps(config), CONFIG_TYPE)
    content_type = ASSETS.get(name)
    return Asset(_file(name), content_type) if content_type else None


def security_headers(settings: ConsoleSettings) -> dict[str, str]:
    """Headers for every console answer: the page runs only its own files and talks only to
    its own origin and Cognito; nobody may frame it; tokens never leave in a Referer."""
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {settings.cognito_url.rstrip('/')}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        # The console changes with each deploy; a browser asks again rather than run an old copy.
        "Cache-Control": "no-cache",
    }
