"""GET /staff and GET /staff/assets/{file}: the staff console's page and files."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic.common.errors import NotFound
from clinic.common.http import install_error_handlers
from clinic.common.observability import keep_sdk_logs_quiet
from clinic.console.service import Asset, ConsoleSettings, asset, page, security_headers

logger = Logger()
app = APIGatewayHttpResolver()
install_error_handlers(app, logger)
keep_sdk_logs_quiet()


@cache
def settings() -> ConsoleSettings:
    return ConsoleSettings.from_environment()


def _answer(file: Asset) -> Response[str]:
    return Response(
        status_code=200, content_type=file.content_type, body=file.body, headers=security_headers(settings())
    )


@app.get("/staff")
def console_page() -> Response[str]:
    return _answer(page())


@app.get("/staff/assets/<file>")
def console_asset(file: str) -> Response[str]:
    found = asset(file, settings())
    if found is None:
        raise NotFound()
    return _answer(found)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    settings()  # a missing setting fails the cold start, not the first request
    return app.resolve(event, context)
