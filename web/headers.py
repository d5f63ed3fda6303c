"""Security headers on every response: content security policy, no type sniffing, referrer and
permissions policies, no caching of anything but static assets, no server version.

Set in `on_response_prepare` rather than a middleware: that hook also sees the responses no
middleware returns (an `HTTPException` raised past them, a redirect, a 404 of an unknown path,
static files, the WebSocket handshake). A header a handler already set wins, so evidence
downloads keep their stricter `sandbox` policy (web/document_api.py).
"""

from __future__ import annotations

from aiohttp import hdrs, web

# No inline script or style anywhere: every script and style sheet is a file under /static.
# `connect-src 'self'` covers the page's own ws:/wss: origin (CSP Level 3, Chromium ≥ 59).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Powerful features no page uses, denied everywhere.
_DENIED = ("geolocation", "payment", "usb", "serial", "hid", "display-capture")
# Only the pages that open the camera and microphone (call.js) may ask for them.
MEDIA_PAGES = frozenset({"/terminal", "/console"})
_MEDIA = ("camera", "microphone")


def _permissions(granted: str) -> str:
    return ", ".join([f"{f}={granted}" for f in _MEDIA] + [f"{f}=()" for f in _DENIED])


MEDIA_PAGE_PERMISSIONS = _permissions("(self)")
PERMISSIONS = _permissions("()")
STATIC_PREFIX = "/static/"
# Assets carry no personal data: a browser may keep them, revalidating each time (their names
# carry no version, so a new release must not be hidden behind a stale copy).
ASSET_CACHING = "no-cache"
# Everything else may show a person: never stored by the browser or a proxy.
NO_STORE = "no-store"


def _is_asset(path: str) -> bool:
    return path.startswith(STATIC_PREFIX) or path == "/favicon.ico"


async def add_security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Set the hall's security headers on `response` unless its handler set them already."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    granted = request.path in MEDIA_PAGES
    headers.setdefault("Permissions-Policy", MEDIA_PAGE_PERMISSIONS if granted else PERMISSIONS)
    if _is_asset(request.path):
        headers.setdefault(hdrs.CACHE_CONTROL, ASSET_CACHING)
    elif NO_STORE not in headers.get(hdrs.CACHE_CONTROL, ""):
        headers[hdrs.CACHE_CONTROL] = NO_STORE
    # aiohttp names itself and its version ("Python/3.11 aiohttp/3.x"): no help to a client.
    headers.popall(hdrs.SERVER, None)


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
