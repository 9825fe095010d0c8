"""The web front end: staff search page, embeddable widget and a demo portal page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "web" / "static"

router = APIRouter(include_in_schema=False)

# Short cache: portals embed /widget.js directly, and a fix should reach them soon.
_CACHE = {"Cache-Control": "public, max-age=300"}
# HEAD too, so `curl -I` shows a page's headers (its Content-Security-Policy among them).
_GET_HEAD = ["GET", "HEAD"]


@router.api_route("/", methods=_GET_HEAD)
def staff_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_CACHE)


@router.api_route("/demo", methods=_GET_HEAD)
def demo_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "demo.html", media_type="text/html", headers=_CACHE)


@router.api_route("/widget.js", methods=_GET_HEAD)
def widget() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "widget.js", media_type="text/javascript; charset=utf-8", headers=_CACHE
    )
