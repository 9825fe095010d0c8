"""SecurityHeaders: a Content-Security-Policy and the other browser protections, on every
response (pages, scripts, styles, JSON, errors, streams).

Pages get a policy with no inline script: scripts and styles only from this server, data
only to this server, never framed (frame-ancestors 'none'). A page's own inline <style>
blocks are allowed by their hash, computed from the page as it is sent, so a page can
keep its styles without 'unsafe-inline'. The OpenAPI pages (/docs, /redoc) are built by
FastAPI with an inline script and assets from wherever it is configured to load them:
their policy also allows those, by hash and by origin, read from the page itself.

The widget script and its stylesheet stay loadable from any portal (the portal's own
policy governs the page they run in; the API calls are allowed by CORS).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
# ReDoc draws with styled-components, which inserts <style> elements at run time (no hash
# can name them), and runs its search in a Web Worker made from a blob: URL. That page
# alone gets `style-src 'self' 'unsafe-inline'` and `worker-src blob:`; scripts stay 'self'.
DYNAMIC_STYLE_PATHS = frozenset({"/redoc"})
# Scripts and styles portals load from us: say so to browsers that isolate origins.
CROSS_ORIGIN_PATHS = frozenset({"/widget.js", "/static/widget.css"})
# widget.js hides its host element with a style attribute until its stylesheet has
# loaded (`style="display:none"`); allowed here by its hash alone ('unsafe-hashes' covers
# exactly this attribute value, nothing else). To go when the widget uses CSSOM instead.
WIDGET_STYLE_ATTRIBUTES = ("display:none",)

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# JSON, streams and errors are never documents to render or frame.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

_INLINE_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script\s*>", re.I | re.S)
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=[\"']([^\"']+)[\"']", re.IGNORECASE)
_LINK_HREF = re.compile(r"<link\b[^>]*\bhref=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _origins(urls: list[str]) -> list[str]:
    out = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.netloc:
            out.append(f"https://{parts.netloc}")
    return sorted(set(out))


def page_policy(html: str, docs: bool = False, dynamic_styles: bool = False) -> str:
    """The Content-Security-Policy of one HTML page, as it is about to be sent.
    `dynamic_styles`: the page's script inserts styles (ReDoc); browsers ignore
    'unsafe-inline' next to hashes, so that page's style-src has no hashes."""
    styles = [_hash(block) for block in _INLINE_STYLE.findall(html)]
    attributes = [_hash(value) for value in WIDGET_STYLE_ATTRIBUTES]
    script_src = ["'self'"]
    style_src = ["'self'", *dict.fromkeys(styles), "'unsafe-hashes'", *attributes]
    img_src = ["'self'", "data:"]
    if docs:
        script_src += [_hash(block) for block in _INLINE_SCRIPT.findall(html)]
        script_src += _origins(_SCRIPT_SRC.findall(html))
        linked = _origins(_LINK_HREF.findall(html))
        style_src += linked
        img_src += linked
    if dynamic_styles:
        style_src = ["'self'", "'unsafe-inline'"]
    directives = {
        "default-src": ["'self'"],
        "script-src": script_src,
        "style-src": style_src,
        "img-src": img_src,
        "font-src": ["'self'", *(_origins(_LINK_HREF.findall(html)) if docs else [])],
        "connect-src": ["'self'"],
        **({"worker-src": ["'self'", "blob:"]} if dynamic_styles else {}),
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        held: Message | None = None
        chunks: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON_HEADERS.items():
                    headers.setdefault(name, value)
                if path in CROSS_ORIGIN_PATHS:
                    headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in PAGE_HEADERS.items():
                        headers.setdefault(name, value)
                    if "content-security-policy" not in headers:
                        held = message  # the policy depends on the page: wait for it
                        return
                headers.setdefault("Content-Security-Policy", API_POLICY)
                await send(message)
                return
            if message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                html = body.decode("utf-8", errors="replace")
                MutableHeaders(scope=held)["Content-Security-Policy"] = page_policy(
                    html, docs=path in DOCS_PATHS, dynamic_styles=path in DYNAMIC_STYLE_PATHS
                )
                start, held = held, None
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)
