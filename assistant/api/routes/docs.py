"""/docs (Swagger UI) and /redoc (ReDoc) served from this machine, never from a CDN.

The Swagger UI and ReDoc bundles come from the PyPI package fastapi-offline (its static
folder; Swagger UI is Apache-2.0, ReDoc MIT, the package MIT). The pages are our own
files with no inline script or style. Swagger UI runs under `default-src 'self'`; ReDoc
draws with styled-components, which inserts <style> elements, so /redoc gets
`style-src 'self' 'unsafe-inline'` and `worker-src blob:` in its Content-Security-Policy
(that page only: assistant/api/security_headers.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from assistant.api.errors import CatalanHTTPException
from assistant.api.routes.pages import STATIC_DIR

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
# The bundles change only with the package version: cache them for a day.
_CACHE = {"Cache-Control": "public, max-age=86400"}
# ReDoc 2 always draws its maker's logo from a CDN (an <img> that hides itself when it
# fails to load); an empty data: URL keeps the page from reaching out to the internet.
_REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui() -> FileResponse:
    return FileResponse(STATIC_DIR / "docs.html", media_type="text/html")


@router.get("/redoc")
def redoc() -> FileResponse:
    return FileResponse(STATIC_DIR / "redoc.html", media_type="text/html")


@cache
def _redoc_bundle() -> bytes:
    return (ASSETS_DIR / "redoc.standalone.js").read_bytes().replace(_REDOC_CDN_LOGO, b"data:,")


@router.get("/docs/assets/{name}", response_model=None)
def asset(name: str) -> FileResponse | Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise CatalanHTTPException(status_code=404, detail="No s'ha trobat aquest fitxer.")
    if name == "redoc.standalone.js":
        return Response(_redoc_bundle(), media_type=media_type, headers=_CACHE)
    return FileResponse(ASSETS_DIR / name, media_type=media_type, headers=_CACHE)
