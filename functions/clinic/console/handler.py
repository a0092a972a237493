"""GET /staff and GET /staff/assets/{file}: the staff console's page and files."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentSchema
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic.common.errors import NotFound
from clinic.common.http import documented_errors, install_error_handlers
from clinic.common.observability import keep_sdk_logs_quiet
from clinic.console.service import (
    ASSETS,
    CONFIG,
    CONFIG_TYPE,
    PAGE_TYPE,
    Asset,
    ConsoleSettings,
    asset,
    page,
    security_headers,
)

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


_TEXT: OpenAPIResponseContentSchema = {"schema": {"type": "string"}}
_CONFIG: OpenAPIResponseContentSchema = {
    "schema": {"type": "object", "description": "The console's settings: region, clientId, cognitoEndpoint."}
}
_PAGE: dict[int, OpenAPIResponse] = {
    200: {"description": "The console's page", "content": {PAGE_TYPE: _TEXT}}
}
_FILE: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The file",
        "content": {
            **{media_type: _TEXT for media_type in sorted(set(ASSETS.values()))},
            CONFIG_TYPE: _CONFIG,
        },
    }
}


ConsoleFile = Annotated[
    str,
    Path(
        description="One of the console's files: " + ", ".join([*ASSETS, CONFIG]), examples=[*ASSETS, CONFIG]
    ),
]


@app.get("/staff", responses={**_PAGE, **documented_errors()})
def console_page() -> Response[str]:
    return _answer(page())


@app.get(
    "/staff/assets/<file>",
    responses={**_FILE, **documented_errors(404)},
)
def console_asset(file: ConsoleFile) -> Response[str]:
    found = asset(file, settings())
    if found is None:
        raise NotFound()
    return _answer(found)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    settings()  # a missing setting fails the cold start, not the first request
    return app.resolve(event, context)
