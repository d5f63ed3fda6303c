"""The JSON API through the real app: registration, bad input, error shape, audited reads."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from hall.audit import AuditEntry
from hall.cases.tables import Case, Petitioner
from hall.queue.tables import Ticket
from tests.conftest import ClientFactory
from tests.support import registration, valid_id_number
from web import keys


async def count(server: TestServer, model: type[object]) -> int:
    async with server.app[keys.DB].reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_terminal_registers_a_visit_and_sees_its_place(client_as: ClientFactory) -> None:
    terminal = await client_as("village-zhangzhuang")
    data = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(data, dict)
    ticket = data["ticket"]
    assert (ticket["number"], ticket["position"], ticket["ahead"]) == ("C001", 1, 0)
    assert ticket["estimate_band"] == "即将轮到您"
    active = await terminal.get("/api/terminal/tickets")
    assert isinstance(active, list) and active[0]["number"] == "C001"
    second = await terminal.post(
        "/api/visit-requests",
        registration(id_number=valid_id_number("11010519900307001")),
        status=201,
    )
    assert isinstance(second, dict)
    assert (second["ticket"]["number"], second["ticket"]["position"]) == ("C002", 2)


async def test_invalid_registration_names_each_field_and_stores_nothing(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    data = await terminal.post(
        "/api/visit-requests",
        registration(id_number="110105194912310021", summary="", line="moon"),
        status=422,
    )
    assert isinstance(data, dict)
    error = data["error"]
    assert error["code"] == "invalid_input"
    assert error["fields"] == {
        "id_number": "身份证号校验位错误",
        "summary": "请填写反映事项",
        "line": "未知条线：moon",
    }
    for model in (Case, Petitioner, Ticket):
        assert await count(server, model) == 0


async def test_malformed_bodies_get_clear_errors(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    headers = {"X-CSRF-Token": desk.csrf, "Content-Type": "application/json"}
    resp = await desk.http.post("/api/visit-requests", data="{nope", headers=headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "bad_json"
    resp = await desk.http.post("/api/visit-requests", data="[1, 2]", headers=headers)
    assert resp.status == 400
    body = await desk.post("/api/visit-requests", registration(extra="x"), status=422)
    assert isinstance(body, dict) and "extra" in body["error"]["fields"]
    missing = registration()
    del missing["phone"]
    body = await desk.post("/api/visit-requests", missing, status=422)
    assert isinstance(body, dict) and "phone" in body["error"]["fields"]
    resp = await desk.http.post("/api/visit-requests", data="x" * 2_000_000, headers=headers)
    assert resp.status == 413


async def test_errors_share_one_shape(client_as: ClientFactory) -> None:
    officer = await client_as("officer-urban")
    terminal = await client_as("village-zhangzhuang")
    answers = [
        await officer.post("/api/queue/call-next", status=409),
        await officer.get("/api/cases/999", status=404),
        await officer.post("/api/visits/999/end", {"outcome": "answered"}, status=404),
        await terminal.post("/api/queue/call-next", status=403),
        await terminal.post("/api/visit-requests", {"name": 1}, status=422),
    ]
    codes = []
    for answer in answers:
        assert isinstance(answer, dict) and set(answer) == {"error"}
        assert {"code", "message"} <= set(answer["error"]) <= {"code", "message", "fields"}
        codes.append(answer["error"]["code"])
    assert codes == ["queue_empty", "not_found", "not_found", "forbidden", "invalid_input"]
    resp = await officer.http.get("/api/nothing-here")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_personal_data_is_masked_and_unmasking_is_audited(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    created = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(created, dict)
    officer = await client_as("officer-urban")
    case = await officer.get(f"/api/cases/{created['case_id']}")
    assert isinstance(case, dict)
    assert case["petitioner"]["id_number"] == "110***********002X"
    assert case["petitioner"]["phone"] == "138****8000"
    page = await officer.http.get(f"/cases/{created['case_id']}")
    html = await page.text()
    assert valid_id_number() not in html and "13800138000" not in html
    assert await count(server, AuditEntry) == 0
    full = await officer.get(f"/api/petitioners/{case['petitioner']['id']}")
    assert isinstance(full, dict) and full["id_number"] == valid_id_number()
    async with server.app[keys.DB].reader() as session:
        entry = (await session.scalars(select(AuditEntry))).one()
    assert (entry.action, entry.target_type) == ("read_personal", "petitioner")
    other_line = await client_as("officer-legal")
    await other_line.get(f"/api/cases/{created['case_id']}", status=403)
    await other_line.get(f"/api/petitioners/{case['petitioner']['id']}", status=403)
    await terminal.get(f"/api/petitioners/{case['petitioner']['id']}", status=403)


async def test_healthz(client_as: ClientFactory, server: TestServer) -> None:
    desk = await client_as("desk")
    resp = await desk.http.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
