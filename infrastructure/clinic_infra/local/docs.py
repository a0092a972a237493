"""/docs (Swagger UI, served from the swagger-ui-py package, offline) and /openapi.json.

Local only: the deployed API has no such routes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import swagger_ui

from clinic_infra.local.gateway import LocalPage

_STATIC = Path(swagger_ui.__file__).parent / "static"
_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Clinic backend API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body>
</html>
"""


def _static(content: bytes, content_type: str) -> tuple[int, str, bytes]:
    return 200, content_type, content


def docs_pages(openapi_json: str) -> dict[str, LocalPage]:
    pages: dict[str, LocalPage] = {
        "/openapi.json": partial(_static, openapi_json.encode(), "application/json"),
        "/docs": partial(_static, _PAGE.encode(), "text/html; charset=utf-8"),
    }
    for name, content_type in _ASSETS.items():
        pages[f"/docs/{name}"] = partial(_static, (_STATIC / name).read_bytes(), content_type)
    return pages
