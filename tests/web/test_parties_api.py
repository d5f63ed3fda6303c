"""Parties, repeat detection and merge/split through the real app: the 409 `repeat_candidates`
flow and its two answers, the collective visit's own error codes, and merge/split errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from hall.audit import AuditEntry
from hall.cases.tables import Case, CaseParty, Petitioner
from hall.queue.tables import Ticket
from tests.conftest import ClientFactory
from tests.support import Client, registration, valid_id_number
from web import keys

AGAIN = "宅基地确权纠纷，请求尽快协调解决"  # near-identical to registration()'s summary


def rep(n: int) -> dict[str, str]:
    return {
        "name": f"代表{n}",
        "id_number": valid_id_number(f"32010219750505{n:03d}"),
        "phone": "13700137000",
    }


async def count(server: TestServer, model: type[object]) -> int:
    async with server.app[keys.DB].reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def file_and_leave(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    """Register, then give up the place so that the same person may register again."""
    done = await client.post("/api/visit-requests", body, status=201)
    assert isinstance(done, dict)
    await client.post(f"/api/tickets/{done['ticket']['id']}/leave")
    return done


async def test_repeat_is_refused_with_candidates_then_linked(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    first = await file_and_leave(terminal, registration())
    again = registration(summary=AGAIN)
    refused = await terminal.post("/api/visit-requests", again, status=409)
    assert isinstance(refused, dict)
    error = refused["error"]
    assert error["code"] == "repeat_candidates"
    [candidate] = error["candidates"]
    assert candidate["case_id"] == first["case_id"]
    assert candidate["number"] == first["case_number"]
    assert (candidate["line"], candidate["state"], candidate["state_label"]) == (
        "urban",
        "registered",
        "已登记",
    )
    assert candidate["summary"] == "宅基地确权纠纷，请求协调"
    assert candidate["linkable"] is True
    assert str(registration()["id_number"]) not in str(refused)  # no personal data in the answer
    assert (await count(server, Case), await count(server, Ticket)) == (1, 1)
    async with server.app[keys.DB].reader() as session:  # the disclosure itself is audited
        entries = list(await session.scalars(select(AuditEntry)))
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [
        ("repeat_candidates", "case", str(first["case_id"]))
    ]

    linked = await terminal.post(
        "/api/visit-requests",
        again | {"repeat_decision": {"link": first["case_id"]}},
        status=201,
    )
    assert isinstance(linked, dict)
    assert (linked["case_id"], linked["case_number"], linked["linked"]) == (
        first["case_id"],
        first["case_number"],
        True,
    )
    officer = await client_as("officer-urban")
    case = await officer.get(f"/api/cases/{first['case_id']}")
    assert isinstance(case, dict)
    assert [t["number"] for t in case["tickets"]] == ["C001", "C002"]
    assert [p["role"] for p in case["parties"]] == ["petitioner", "proxy_agent"]
    assert case["events"][-1]["kind"] == "repeat_linked"


async def test_confirming_a_new_matter_must_name_the_candidates_seen(
    server: TestServer, client_as: ClientFactory
) -> None:
    desk = await client_as("desk")
    first = await file_and_leave(desk, registration())
    again = registration(summary=AGAIN)
    stale = await desk.post(
        "/api/visit-requests", again | {"repeat_decision": {"new": True, "seen": []}}, status=409
    )
    assert isinstance(stale, dict) and stale["error"]["code"] == "repeat_candidates"
    done = await desk.post(
        "/api/visit-requests",
        again | {"repeat_decision": {"new": True, "seen": [first["case_id"]]}},
        status=201,
    )
    assert isinstance(done, dict)
    assert done["case_id"] != first["case_id"] and done["linked"] is False
    case = await desk.get(f"/api/cases/{done['case_id']}")
    assert isinstance(case, dict)
    assert [e["kind"] for e in case["events"]] == ["registered", "repeat_overridden"]


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        ({}, "repeat_decision"),
        ({"link": 1, "new": True}, "repeat_decision"),
        ({"new": False}, "repeat_decision"),
        ({"link": 1, "seen": [1]}, "repeat_decision"),
        ({"link": 999}, "repeat_decision.link"),
        ({"new": True, "seen": "all"}, "repeat_decision.seen"),
    ],
)
async def test_bad_repeat_decisions_are_invalid_input(
    server: TestServer, client_as: ClientFactory, decision: dict[str, Any], field: str
) -> None:
    desk = await client_as("desk")
    await file_and_leave(desk, registration())
    data = await desk.post(
        "/api/visit-requests",
        registration(summary=AGAIN) | {"repeat_decision": decision},
        status=422,
    )
    assert isinstance(data, dict)
    assert data["error"]["code"] == "invalid_input"
    assert field in data["error"]["fields"], data
    assert await count(server, Case) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"representatives": [rep(n) for n in range(1, 7)]}, "too_many_representatives"),
        ({"representatives": [rep(1), rep(1)]}, "duplicate_party"),
        (
            {"representatives": [rep(1) | {"id_number": registration()["id_number"]}]},
            "duplicate_party",
        ),
        ({"head_count": 2}, "head_count_below_representatives"),
        ({"collective": False}, "invalid_input"),
        ({"representatives": [rep(1)] * 21}, "invalid_input"),
        ({"representatives": [rep(1) | {"id_number": "110105194912310021"}]}, "invalid_input"),
    ],
)
async def test_collective_visit_errors_have_their_code_and_store_nothing(
    server: TestServer, client_as: ClientFactory, change: dict[str, Any], code: str
) -> None:
    terminal = await client_as("village-zhangzhuang")
    body = registration(collective=True, head_count=20, representatives=[rep(1), rep(2)])
    data = await terminal.post("/api/visit-requests", body | change, status=422)
    assert isinstance(data, dict)
    assert data["error"]["code"] == code, data
    assert data["error"]["fields"]
    for model in (Case, CaseParty, Petitioner, Ticket):
        assert await count(server, model) == 0


async def test_collective_parties_are_masked_and_each_reveal_audited(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    body = registration(collective=True, head_count=20, representatives=[rep(1), rep(2)])
    done = await terminal.post("/api/visit-requests", body, status=201)
    assert isinstance(done, dict)
    officer = await client_as("officer-urban")
    case = await officer.get(f"/api/cases/{done['case_id']}")
    assert isinstance(case, dict)
    assert case["collective"] is True
    reps = [p for p in case["parties"] if p["role"] == "representative"]
    assert [(p["name"], p["id_number"], p["phone"]) for p in reps] == [
        ("代表1", rep(1)["id_number"][:3] + "*" * 11 + rep(1)["id_number"][-4:], "137****7000"),
        ("代表2", rep(2)["id_number"][:3] + "*" * 11 + rep(2)["id_number"][-4:], "137****7000"),
    ]
    full = await officer.get(f"/api/petitioners/{reps[1]['petitioner_id']}")
    assert isinstance(full, dict) and full["id_number"] == rep(2)["id_number"]
    async with server.app[keys.DB].reader() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry is not None
    assert (entry.action, entry.target_id) == ("read_personal", str(reps[1]["petitioner_id"]))
    # Another line's officer may not reveal them.
    await (await client_as("officer-legal")).get(
        f"/api/petitioners/{reps[1]['petitioner_id']}", status=403
    )


async def test_merge_and_split_errors_over_http(
    server: TestServer, client_as: ClientFactory
) -> None:
    desk = await client_as("desk")
    a = await desk.post("/api/visit-requests", registration(), status=201)
    b = await desk.post(
        "/api/visit-requests",
        registration(id_number=valid_id_number("11010519900307001"), summary="另一个人的事项"),
        status=201,
    )
    assert isinstance(a, dict) and isinstance(b, dict)
    officer = await client_as("officer-urban")
    path = f"/api/cases/{b['case_id']}"
    self_merge = await officer.post(
        f"{path}/merge", {"into": b["case_id"], "reason": "合并"}, status=409
    )
    assert isinstance(self_merge, dict) and self_merge["error"]["code"] == "conflict"
    await officer.post(f"{path}/merge", {"into": "JF000", "reason": "合并"}, status=404)
    await officer.post(f"{path}/merge", {"into": a["case_number"], "reason": "x"}, status=422)
    await desk.post(f"{path}/merge", {"into": a["case_id"], "reason": "合并"}, status=403)
    await (await client_as("officer-legal")).post(
        f"{path}/merge", {"into": a["case_id"], "reason": "合并"}, status=403
    )
    no_csrf = await officer.http.post(
        f"{path}/merge", json={"into": a["case_id"], "reason": "合并"}
    )
    assert no_csrf.status == 403
    merged = await officer.post(f"{path}/merge", {"into": a["case_number"], "reason": "同一事项"})
    assert isinstance(merged, dict)
    assert (merged["state"], merged["merged_into_id"]) == ("merged", a["case_id"])
    view = await officer.get(f"/api/cases/{a['case_id']}")
    assert isinstance(view, dict)
    assert view["merged_cases"] == [
        {"id": b["case_id"], "number": b["case_number"], "state": "merged"}
    ]
    # B's waiting ticket moved to A with the merge, and comes back with the undo.
    assert [t["case_number"] for t in view["tickets"]] == [a["case_number"], a["case_number"]]
    await officer.post(f"{path}/undo-merge", {"reason": "误合并"})
    view = await officer.get(path)
    assert isinstance(view, dict)
    assert [t["id"] for t in view["tickets"]] == [b["ticket"]["id"]]
    again = await officer.post(f"{path}/undo-merge", {"reason": "误合并"}, status=409)
    assert isinstance(again, dict) and "当前状态为 registered" in again["error"]["message"]
    bad = await officer.post(f"{path}/split", {"summary": "新事项", "reason": "拆分"}, status=422)
    assert isinstance(bad, dict) and "item" in bad["error"]["fields"]
    split = await officer.post(
        f"{path}/split",
        {"ticket_id": b["ticket"]["id"], "summary": "新事项", "reason": "拆分"},
        status=201,
    )
    assert isinstance(split, dict) and split["split_from_id"] == b["case_id"]
    await officer.post(f"/api/cases/{split['id']}/undo-split", {"reason": "撤销拆分"})
    twice = await officer.post(
        f"/api/cases/{split['id']}/undo-split", {"reason": "撤销拆分"}, status=409
    )
    assert isinstance(twice, dict) and "当前状态为 merged" in twice["error"]["message"]
