"""Over HTTP: the legal channel (法定途径) required on not_accepted / redirected and shown on the
public query; the 检举控告 rule refused with `accused_unit`, the accused unit kept from departments
and the public."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import ClientFactory
from tests.support import HttpClient
from tests.web.test_case_transitions import FixedClock, file_case
from web.app import create_app
from web.config import Config

ACCUSED = "城关镇人民政府"
GROUND = "该事项属行政复议范围，已告知信访人"


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config, clock=FixedClock()))
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def anonymous(server: TestServer) -> AsyncIterator[HttpClient]:
    http = TestClient(server)
    await http.start_server()
    yield http
    await http.close()


async def test_not_accepted_needs_a_known_channel_and_shows_it_publicly(
    client_as: ClientFactory, config: Config, anonymous: HttpClient
) -> None:
    case = await file_case(await client_as("desk"), config)
    officer = await client_as("officer-urban")
    path = f"/api/cases/{case.id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": "分流"})
    step = {"to": "not_accepted", "reason": GROUND}
    for extra, field in (
        ({}, "legal_channel"),
        ({"legal_channel": "heaven"}, "legal_channel"),
        ({"legal_channel": "other"}, "legal_channel_note"),
        ({"legal_channel": 7}, "legal_channel"),
    ):
        bad = await officer.post(path, {**step, **extra}, status=422)
        assert isinstance(bad, dict) and bad["error"]["code"] == "invalid_input"
        assert field in bad["error"]["fields"], extra
    state = await officer.get(path)
    assert isinstance(state, dict) and (state["state"], state["legal_channel"]) == ("triaged", None)
    await (await client_as("desk")).post(
        path, {**step, "legal_channel": "reconsideration"}, status=403
    )
    done = await officer.post(path, {**step, "legal_channel": "reconsideration"})
    assert isinstance(done, dict)
    assert done["legal_channel"] == {"code": "reconsideration", "label": "行政复议"}
    resp = await anonymous.post(
        "/api/public/query", json={"number": case.number, "query_code": case.query_code}
    )
    public = await resp.json()
    assert (public["stage"], public["legal_channel"]) == ("不予受理", "行政复议")
    assert GROUND not in str(public)
    notice = await (await officer.http.get(f"/cases/{case.id}/notices/not_accepted")).text()
    assert '<span id="channel">行政复议</span>' in notice and GROUND in notice


async def test_an_accusation_is_refused_to_its_accused_unit_and_hidden_from_it(
    client_as: ClientFactory, config: Config, anonymous: HttpClient
) -> None:
    case = await file_case(await client_as("desk"), config)
    officer = await client_as("officer-urban")
    path = f"/api/cases/{case.id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": "分流"})
    assign = {"to": "assigned", "reason": "交办", "classification": "accusation"}
    missing = await officer.post(path, {**assign, "department": "renshe"}, status=422)
    assert isinstance(missing, dict) and "accused_department" in missing["error"]["fields"]
    refused = await officer.post(
        path, {**assign, "department": "zhujian", "accused_department": "zhujian"}, status=409
    )
    assert isinstance(refused, dict) and refused["error"]["code"] == "accused_unit"
    assert "县住房和城乡建设局" in refused["error"]["message"]
    state = await officer.get(path)
    assert isinstance(state, dict)
    assert (state["state"], state["classification"], state["accused"]) == ("triaged", None, None)
    done = await officer.post(path, {**assign, "department": "renshe", "accused_name": ACCUSED})
    assert isinstance(done, dict) and done["accused"] == {"department": None, "name": ACCUSED}
    staff_page = await (await officer.http.get(f"/cases/{case.id}")).text()
    assert ACCUSED in staff_page and 'id="case-accused"' in staff_page
    department = await client_as("dept-renshe")
    dept_page = await department.http.get(f"/cases/{case.id}")
    assert dept_page.status == 200
    assert ACCUSED not in await dept_page.text()
    panel = await department.get(f"/api/cases/{case.id}/department")
    assert ACCUSED not in str(panel)
    await department.get(path, status=403)
    resp = await anonymous.post(
        "/api/public/query", json={"number": case.number, "query_code": case.query_code}
    )
    assert resp.status == 200 and ACCUSED not in await resp.text()
