"""Departments over HTTP: a department sees and handles only its own cases; the bureau's
supervision and a leader's ownership; the petitioner's public evaluation; role checks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import ClientFactory
from tests.document_fixtures import png, upload, upload_form
from tests.support import Client, HttpClient, ready_recording, valid_id_number
from tests.web.test_case_transitions import NOTE, PHONE, Filed, FixedClock, file_case
from web.app import create_app
from web.config import Config


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


async def assigned_case(client_as: ClientFactory, config: Config, n: int = 1) -> Filed:
    case = await file_case(await client_as("desk"), config, n)
    officer = await client_as("officer-urban")
    path = f"/api/cases/{case.id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": "分流"})
    refused = await officer.post(path, {"to": "assigned", "reason": "交办"}, status=422)
    assert isinstance(refused, dict) and "department" in refused["error"]["fields"]
    await officer.post(
        path,
        {
            "to": "assigned",
            "reason": "交办住建局",
            "department": "zhujian",
            "classification": "suggestion",
        },
    )
    return case


async def public(
    http: HttpClient, path: str, body: Mapping[str, object], status: int = 200
) -> object:
    resp = await http.post(path, json=body)
    data = await resp.json()
    assert resp.status == status, (resp.status, data)
    return data


async def test_a_department_sees_and_handles_only_its_cases(
    client_as: ClientFactory, config: Config
) -> None:
    case = await assigned_case(client_as, config)
    mine = await client_as("dept-zhujian")
    other = await client_as("dept-renshe")
    listing = await (await mine.http.get("/cases")).text()
    assert case.number in listing
    assert case.number not in await (await other.http.get("/cases")).text()
    assert (await mine.http.get(f"/cases/{case.id}")).status == 200
    assert (await other.http.get(f"/cases/{case.id}")).status == 403
    base = f"/api/cases/{case.id}"
    status = await mine.get(f"{base}/department")
    assert isinstance(status, dict)
    assert status["department"] == {"code": "zhujian", "name": "县住房和城乡建设局"}
    assert (status["acknowledged"], status["object_due"], status["may_object"]) == (
        False,
        "2026-03-09",
        True,
    )
    await other.get(f"{base}/department", status=403)
    await other.post(f"{base}/acknowledgement", status=403)
    await other.post(f"{base}/objection", {"ground": "不属本单位"}, status=403)
    await mine.post(f"{base}/acknowledgement")
    await mine.post(f"{base}/acknowledgement", status=409)
    # The bureau classified the case (建议意见): a department's reply cannot reclassify it, and
    # never as 检举控告; a refused reply writes nothing.
    explain = {"outcome": "explain", "text": "已向信访人解释政策"}
    for classification in ("claim", "accusation"):
        refused = await mine.post(
            f"{base}/reply", {**explain, "classification": classification}, status=409
        )
        assert isinstance(refused, dict) and refused["error"]["code"] == "conflict"
    done = await mine.post(f"{base}/reply", explain)
    assert done == {"case_id": case.id, "state": "responded", "outcome": "explain"}
    # Department accounts do not use the bureau's routes.
    await mine.get("/api/departments", status=403)
    await mine.get(f"{base}/transitions", status=403)
    await mine.get(f"/api/petitioners/{1}", status=403)


async def test_bureau_roles_on_department_routes(client_as: ClientFactory, config: Config) -> None:
    case = await assigned_case(client_as, config)
    base = f"/api/cases/{case.id}"
    officer = await client_as("officer-urban")
    listed = await officer.get("/api/departments")
    assert isinstance(listed, dict)
    assert [d["code"] for d in listed["departments"]] == ["renshe", "zhujian"]
    status = await officer.get(f"{base}/department")
    assert isinstance(status, dict) and status["handles"] is False
    for route, body in (
        ("acknowledgement", None),
        ("objection", {"ground": "不属本单位"}),
        ("reply", {"outcome": "support", "text": "已解决"}),
    ):
        await officer.post(f"{base}/{route}", body, status=403)
    await officer.post(
        f"{base}/supervisions", {"reason": "督办", "feedback_due": "2026-03-06"}, status=403
    )
    await officer.post(f"{base}/ownership", status=403)
    supervisor = await client_as("supervisor")
    opened = await supervisor.post(
        f"{base}/supervisions", {"reason": "请加快办理", "feedback_due": "2026-03-06"}, status=201
    )
    assert isinstance(opened, dict)
    await (await client_as("dept-renshe")).post(
        f"/api/supervisions/{opened['id']}/feedback", {"feedback": "已办理"}, status=403
    )
    mine = await client_as("dept-zhujian")
    status = await mine.get(f"{base}/department")
    assert isinstance(status, dict) and status["overlays"] == ["supervised"]
    fed = await mine.post(f"/api/supervisions/{opened['id']}/feedback", {"feedback": "正在核实"})
    assert isinstance(fed, dict) and fed["feedback"] == "正在核实"
    leader = await client_as("leader")
    owned = await leader.post(f"{base}/ownership")
    assert isinstance(owned, dict) and owned["leader_id"]
    status = await mine.get(f"{base}/department")
    assert isinstance(status, dict) and status["overlays"] == ["leader_owned"]


async def test_the_petitioner_evaluates_once_through_the_public_routes(
    client_as: ClientFactory, config: Config, anonymous: HttpClient
) -> None:
    case = await assigned_case(client_as, config)
    key = {"number": case.number, "query_code": case.query_code}
    status = await public(anonymous, "/api/public/evaluation/status", key)
    assert isinstance(status, dict) and status["state"] == "not_open"
    mine: Client = await client_as("dept-zhujian")
    await mine.post(f"/api/cases/{case.id}/acknowledgement")
    await mine.post(f"/api/cases/{case.id}/reply", {"outcome": "support", "text": "已发放补偿款"})
    query = await public(anonymous, "/api/public/query", key)
    assert isinstance(query, dict)
    assert (query["stage"], query["unit"]) == ("已答复", "县住房和城乡建设局")
    assert "责任单位签收" in [e["label"] for e in query["events"]]
    wrong = {**key, "query_code": "WRONG1", "grade": "satisfied"}
    await public(anonymous, "/api/public/evaluation", wrong, status=404)
    done = await public(
        anonymous, "/api/public/evaluation", {**key, "grade": "satisfied", "comment": "谢谢"}
    )
    assert isinstance(done, dict)
    assert (done["state"], done["grade"], done["grade_label"]) == ("evaluated", "satisfied", "满意")
    again = await public(
        anonymous, "/api/public/evaluation", {**key, "grade": "dissatisfied"}, status=409
    )
    assert isinstance(again, dict) and again["error"]["code"] == "conflict"
    resp = await anonymous.post("/api/public/evaluation", data={**key, "grade": "satisfied"})
    assert resp.status == 400  # a form post (cross-site) is refused
    query = await public(anonymous, "/api/public/query", key)
    assert isinstance(query, dict)
    assert "满意度评价" in [e["label"] for e in query["events"]]
    assert "谢谢" not in str(query)


async def assign(officer: Client, case_id: int) -> None:
    """Triage the case and assign it to 县住建局 (a 申诉求决 of sub-type 1)."""
    path = f"/api/cases/{case_id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": "分流"})
    await officer.post(
        path,
        {
            "to": "assigned",
            "reason": "交办",
            "department": "zhujian",
            "classification": "claim",
            "claim_type": 1,
        },
    )


ID_NUMBER_7 = valid_id_number("41010219800101007")  # the petitioner of file_case(..., 7)


async def visited_case(client_as: ClientFactory, config: Config) -> tuple[Filed, int, str]:
    """A walk-in case with an ended visit whose notes name the petitioner's identity number and
    phone, assigned to 县住建局; returns the case, its visit and the notes."""
    case = await file_case(await client_as("desk"), config, 7)
    officer = await client_as("officer-urban")
    called = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(called, dict) and called["case"]["id"] == case.id
    notes = f"内部研判：来访人身份证号 {ID_NUMBER_7}，电话 {PHONE}，情绪激动需重点关注"
    await officer.post(
        f"/api/visits/{called['visit_id']}/end", {"outcome": "transferred", "notes": notes}
    )
    await assign(officer, case.id)
    return case, int(called["visit_id"]), notes


async def test_a_department_never_reads_the_bureaus_visit_notes(
    client_as: ClientFactory, config: Config
) -> None:
    case, _, notes = await visited_case(client_as, config)
    secrets = (notes, ID_NUMBER_7, PHONE, "接谈记录", NOTE)
    officer = await client_as("officer-urban")
    staff_page = await (await officer.http.get(f"/cases/{case.id}")).text()
    assert notes in staff_page and "接谈记录" in staff_page
    staff_json = await officer.get(f"/api/cases/{case.id}")
    assert isinstance(staff_json, dict)
    assert "note" in [e["kind"] for e in staff_json["events"]]
    mine = await client_as("dept-zhujian")
    resp = await mine.http.get(f"/cases/{case.id}")
    assert resp.status == 200
    page = await resp.text()
    assert case.number in page
    for secret in secrets:
        assert secret not in page, secret
    # The JSON a department reads of its case; the staff case JSON is not for it.
    await mine.get(f"/api/cases/{case.id}", status=403)
    for path in (f"/api/cases/{case.id}/department", f"/api/cases/{case.id}/documents"):
        resp = await mine.http.get(path)
        assert resp.status == 200, path
        body = await resp.text()
        for secret in secrets:
            assert secret not in body, (path, secret)


async def test_the_case_page_links_only_what_its_reader_may_open(
    client_as: ClientFactory, config: Config
) -> None:
    """A department (and the desk, which plays no recording) is shown no link that answers 403:
    no recording, no merged case it may not read; its shared documents stay."""
    case, visit_id, _ = await visited_case(client_as, config)
    await ready_recording(
        config.hall.resolved_database_url(),
        config.recording.directory,
        case_id=case.id,
        visit_id=visit_id,
    )
    desk = await client_as("desk")
    form = upload_form(png(), "photo.png", visibility="petitioner")
    shared = await upload(desk, case.id, form)
    other = await file_case(desk, config, 8)
    officer = await client_as("officer-urban")
    await officer.post(f"/api/cases/{other.id}/merge", {"into": case.number, "reason": "同一事项"})
    staff_page = await (await officer.http.get(f"/cases/{case.id}")).text()
    assert "/recordings/" in staff_page and f'href="/cases/{other.id}"' in staff_page
    for username in ("dept-zhujian", "desk"):
        reader = desk if username == "desk" else await client_as(username)
        page = await (await reader.http.get(f"/cases/{case.id}")).text()
        assert other.number in page  # the merged case is named
        assert f"/documents/{shared['id']}/file" in page
        assert "/recordings/" not in page, username
        links = set(re.findall(r'(?:href|src)="(/[^"]*)"', page)) - {"/static/css/hall.css"}
        assert links, username
        for link in sorted(links):
            resp = await reader.http.get(link, allow_redirects=False)
            assert resp.status < 400, (username, link, resp.status)
