"""Bad input at the HTTP edge is a 400/404/422 in the one error shape, never a 5xx: ids no row can
have, nesting no parser survives, dates off the calendar, lone surrogates, broken uploads."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.conftest import ClientFactory
from tests.support import Client, registration

HUGE = str(2**63)  # one past the largest row id (signed 64-bit)
DIGITS = "9" * 5000
NESTED = "[" * 100_000
SURROGATE = "\ud800"


def _json(body: object) -> str:
    return json.dumps(body, ensure_ascii=True)


async def raw(client: Client, method: str, path: str, data: str | bytes | None = None) -> Any:
    """One request with a raw body; the status and the decoded JSON answer."""
    headers = {
        "X-CSRF-Token": client.csrf,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    resp = await client.http.request(method, path, data=data, headers=headers)
    return resp.status, await resp.json()


async def anonymous(server: TestServer, data: str) -> Any:
    """POST /api/public/query without a session (the public progress query)."""
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            server.make_url("/api/public/query"),
            data=data,
            headers={"Content-Type": "application/json"},
        )
        return resp.status, await resp.json()


def assert_error(answer: Any, status: int, code: str) -> dict[str, Any]:
    got_status, body = answer
    assert got_status == status, answer
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


async def test_a_path_id_no_row_can_have_is_404_not_found(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    for ident in (HUGE, DIGITS, "18446744073709551616"):
        assert_error(await raw(desk, "GET", f"/api/tickets/{ident}"), 404, "not_found")
        assert_error(await raw(desk, "GET", f"/api/cases/{ident}"), 404, "not_found")
        assert_error(await raw(desk, "GET", f"/cases/{ident}"), 404, "not_found")
        assert_error(await raw(desk, "POST", f"/api/tickets/{ident}/leave", "{}"), 404, "not_found")
    # The largest row id is still a row id: looked up, and not there.
    assert_error(await raw(desk, "GET", f"/api/tickets/{2**63 - 1}"), 404, "not_found")


async def test_a_body_id_out_of_range_is_422_naming_the_field(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    made = await desk.post("/api/visit-requests", registration(), status=201)
    assert isinstance(made, dict)
    body = registration(village_id=2**63, name="李四")
    error = assert_error(
        await raw(desk, "POST", "/api/visit-requests", _json(body)), 422, "invalid_input"
    )
    assert set(error["fields"]) == {"village_id"}
    officer = await client_as("officer-urban")
    merge = _json({"into": 2**64, "reason": "同一事项"})
    error = assert_error(
        await raw(officer, "POST", f"/api/cases/{made['case_id']}/merge", merge),
        422,
        "invalid_input",
    )
    assert set(error["fields"]) == {"into"}
    # 5,000 digits are beyond what the JSON parser takes at all.
    too_long = '{"into": ' + DIGITS + ', "reason": "x"}'
    answer = await raw(officer, "POST", f"/api/cases/{made['case_id']}/merge", too_long)
    assert_error(answer, 400, "bad_json")
    limit = f"/api/cases?owner={HUGE}"
    error = assert_error(await raw(desk, "GET", limit), 422, "invalid_input")
    assert set(error["fields"]) == {"owner"}


async def test_deeply_nested_json_is_400_bad_json(
    server: TestServer, client_as: ClientFactory
) -> None:
    desk = await client_as("desk")
    assert_error(await raw(desk, "POST", "/api/visit-requests", NESTED), 400, "bad_json")
    assert_error(await anonymous(server, NESTED), 400, "bad_json")


async def test_a_day_off_the_calendar_is_422(client_as: ClientFactory) -> None:
    supervisor = await client_as("supervisor")
    for day in ("9999-12-31", "0001-01-01"):
        error = assert_error(
            await raw(supervisor, "GET", f"/api/queue/stats?day={day}"), 422, "invalid_input"
        )
        assert set(error["fields"]) == {"day"}
        resp = await supervisor.http.get(f"/supervisor/queues?day={day}")
        assert resp.status == 422, await resp.text()
        error = assert_error(
            await raw(supervisor, "GET", f"/api/evaluations/stats?from={day}&to={day}"),
            422,
            "invalid_input",
        )
        assert set(error["fields"]) == {"from", "to"}


async def test_a_lone_surrogate_in_a_string_is_422_naming_the_field(
    server: TestServer, client_as: ClientFactory
) -> None:
    desk = await client_as("desk")
    body = _json(registration(name=SURROGATE, summary="事由" + SURROGATE))
    error = assert_error(await raw(desk, "POST", "/api/visit-requests", body), 422, "invalid_input")
    assert set(error["fields"]) == {"name", "summary"}
    person = {"name": "代表" + SURROGATE, "id_number": "x", "phone": "1"}
    body = _json(registration(collective=True, representatives=[person]))
    error = assert_error(await raw(desk, "POST", "/api/visit-requests", body), 422, "invalid_input")
    assert set(error["fields"]) == {"representatives.0.name"}
    admin = await client_as("admin")
    body = _json({"code": "x" + SURROGATE, "name": "某局", "region": SURROGATE})
    error = assert_error(
        await raw(admin, "POST", "/api/admin/departments", body), 422, "invalid_input"
    )
    assert set(error["fields"]) == {"code", "region"}
    query = _json({"number": SURROGATE, "query_code": "123456"})
    error = assert_error(await anonymous(server, query), 422, "invalid_input")
    assert set(error["fields"]) == {"number"}
    # Percent-encoded bytes that are no UTF-8 in a query parameter.
    error = assert_error(await raw(desk, "GET", "/api/cases?line=%ED%A0%80"), 422, "invalid_input")
    assert set(error["fields"]) == {"line"}


async def test_a_broken_upload_is_refused_in_the_error_shape(client_as: ClientFactory) -> None:
    terminal = await client_as("village-zhangzhuang")
    made = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(made, dict)
    path = f"/api/cases/{made['case_id']}/documents"

    async def post(content_type: str, data: bytes) -> Any:
        headers = {
            "X-CSRF-Token": terminal.csrf,
            "Accept": "application/json",
            "Content-Type": content_type,
        }
        resp = await terminal.http.post(path, data=data, headers=headers)
        return resp.status, await resp.json()

    error = assert_error(await post("multipart/form-data", b"--x\r\n"), 422, "invalid_input")
    assert set(error["fields"]) == {"file"}
    truncated = (
        b'--b\r\nContent-Disposition: form-data; name="visibility"\r\n\r\nstaff\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n"
    )
    for broken in (truncated, b"no boundary at all"):
        answer = await post("multipart/form-data; boundary=b", broken)
        assert set(assert_error(answer, 422, "invalid_input")["fields"]) == {"file"}
    headless = b"--b\r\n\r\nno headers\r\n--b--\r\n"
    assert_error(await post("multipart/form-data; boundary=b", headless), 422, "invalid_input")
