"""``/``: what this service is; ``/docs``: Swagger UI served from the ``swagger-ui-bundle``
package, so the docs work without internet access."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from twap_api.models import Service

STATIC = "/static/swagger-ui"

router = APIRouter()


@router.get("/", response_model=Service, summary="What this service is, and where its docs are")
async def root(request: Request) -> Service:
    app = request.app
    return Service(
        name=app.title,
        description=app.summary or "",
        version=app.version,
        docs="/docs",
        openapi=app.openapi_url or "/openapi.json",
        health="/healthz",
    )


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
    )
