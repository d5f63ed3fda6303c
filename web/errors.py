"""The one place that turns exceptions into responses: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hall.errors import HallError, RateLimited

logger = logging.getLogger(__name__)

STATUS = {
    "invalid_input": 422,
    "too_many_representatives": 422,
    "duplicate_party": 422,
    "head_count_below_representatives": 422,
    "repeat_candidates": 409,
    "bad_json": 400,
    "not_found": 404,
    "conflict": 409,
    "queue_empty": 409,
    "accused_unit": 409,
    "calendar_unknown": 422,
    "calendar_covered": 409,
    "forbidden": 403,
    "csrf_failed": 403,
    "unauthenticated": 401,
    "rate_limited": 429,
    "too_large": 413,
    "file_too_large": 413,
    "unsupported_type": 415,
    "file_missing": 410,
    "meeting_ended": 409,
    "meeting_cancelled": 409,
    "removed_from_meeting": 403,
    "link_invalid": 404,
    "link_expired": 410,
    "link_revoked": 410,
    "link_in_use": 409,
    "internal_error": 500,
}


class CsrfFailed(HallError):
    """A state-changing request without the session's CSRF token."""

    code = "csrf_failed"


class BadJson(HallError):
    """A request body that is not the JSON object the endpoint expects."""

    code = "bad_json"


class TooLarge(HallError):
    """A request body over the size limit."""

    code = "too_large"


def error_body(
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical JSON error shape shared by every endpoint (`details` add members)."""
    error: dict[str, Any] = {**(details or {}), "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/ws")) or "application/json" in request.headers.get(
        "Accept", ""
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Translate domain errors and HTTP errors; log anything unexpected once."""
    try:
        return await handler(request)
    except HallError as exc:
        status = STATUS.get(exc.code, 400)
        if exc.code == "unauthenticated" and not _wants_json(request):
            raise web.HTTPSeeOther(f"/login?next={request.path_qs}") from None
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after_s)
        body = error_body(exc.code, exc.message, exc.fields, exc.details)
        return web.json_response(body, status=status, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400 or not _wants_json(request):
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        return web.json_response(error_body(code, exc.reason), status=exc.status)
    except Exception:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return web.json_response(error_body("internal_error", "服务器内部错误，已记录"), status=500)
