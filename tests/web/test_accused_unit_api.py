"""Over HTTP: a 检举控告 is refused to its accused unit however the unit is spelled (`409
accused_unit`), a supervisor's override with a reason lets it through (an officer's is `403`),
and the department register lists and edits the aliases (简称) the rule matches."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hall.audit import AuditEntry
from hall.db import Database
from tests.conftest import ClientFactory
from tests.support import Client
from tests.web.test_admin_api import as_dict
from tests.web.test_case_channels_api import server
from tests.web.test_case_transitions import file_case
from web.config import Config

__all__ = ["server"]  # the app on the fixed March clock of the case tests
ZHUJIAN = "县住房和城乡建设局"
OVERRIDE = "经局务会研究，由住建局自查"


async def triaged_case(client_as: ClientFactory, config: Config, n: int = 1) -> str:
    case = await file_case(await client_as("desk"), config, n)
    path = f"/api/cases/{case.id}/transitions"
    await (await client_as("officer-urban")).post(path, {"to": "triaged", "reason": "分流"})
    return path


def accusation(accused: str, department: str, **extra: str) -> dict[str, str]:
    return {
        "to": "assigned",
        "reason": "交办",
        "classification": "accusation",
        "accused_name": accused,
        "department": department,
        **extra,
    }


@pytest.mark.parametrize(
    "spelling", [ZHUJIAN, "住建局", "縣住建局", "县住建局\u200b", " 县 住 建 局 ", "县住建局\u3000"]
)
async def test_each_spelling_is_refused_with_409_accused_unit(
    client_as: ClientFactory, config: Config, spelling: str
) -> None:
    path = await triaged_case(client_as, config)
    officer = await client_as("officer-urban")
    refused = as_dict(await officer.post(path, accusation(spelling, "zhujian"), status=409))
    assert set(refused) == {"error"}
    assert refused["error"]["code"] == "accused_unit"
    assert f"被检举控告单位为{ZHUJIAN}" in refused["error"]["message"]
    state = as_dict(await officer.get(path))
    assert (state["state"], state["accused"]) == ("triaged", None)
    done = as_dict(await officer.post(path, accusation(spelling, "renshe")))
    assert done["accused"] == {"department": "zhujian", "name": ZHUJIAN}


async def test_only_a_supervisor_overrides_and_the_override_is_audited(
    client_as: ClientFactory, config: Config
) -> None:
    path = await triaged_case(client_as, config)
    officer, supervisor = await client_as("officer-urban"), await client_as("supervisor")
    step = accusation("住建局", "zhujian", accused_override=OVERRIDE)
    denied = as_dict(await officer.post(path, step, status=403))
    assert denied["error"]["code"] == "forbidden"
    short = as_dict(await supervisor.post(path, {**step, "accused_override": "x"}, status=422))
    assert list(short["error"]["fields"]) == ["accused_override"]
    done = as_dict(await supervisor.post(path, step))
    assert done["state"] == "assigned"
    case_id = int(path.split("/")[3])
    page = await (await officer.http.get(f"/cases/{case_id}")).text()
    assert "检举控告回避例外" in page and OVERRIDE in page
    dept_page = await (await (await client_as("dept-zhujian")).http.get(f"/cases/{case_id}")).text()
    assert OVERRIDE not in dept_page and "回避例外" not in dept_page
    db = Database(config.hall.resolved_database_url())
    try:
        async with db.reader() as session:
            audit = list(
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "accused_unit_overridden")
                )
            )
    finally:
        await db.close()
    assert [(a.target_type, a.target_id, a.detail["reason"]) for a in audit] == [
        ("case", str(case_id), OVERRIDE)
    ]


async def test_a_merge_into_a_case_of_the_accused_unit_is_refused_then_overridden(
    client_as: ClientFactory, config: Config
) -> None:
    officer, supervisor = await client_as("officer-urban"), await client_as("supervisor")
    into = await triaged_case(client_as, config, 1)
    await officer.post(into, {"to": "assigned", "reason": "交办", "department": "zhujian"})
    path = await triaged_case(client_as, config, 2)
    accept = {"to": "accepted", "reason": "受理", "classification": "accusation"}
    await officer.post(path, {**accept, "accused_name": "縣住建局"})
    case_id, into_id = int(path.split("/")[3]), int(into.split("/")[3])
    merge = {"into": into_id, "reason": "同一事项"}
    refused = as_dict(await officer.post(f"/api/cases/{case_id}/merge", merge, status=409))
    assert refused["error"]["code"] == "accused_unit"
    await officer.post(
        f"/api/cases/{case_id}/merge", {**merge, "accused_override": OVERRIDE}, status=403
    )
    done = as_dict(
        await supervisor.post(
            f"/api/cases/{case_id}/merge", {**merge, "accused_override": OVERRIDE}
        )
    )
    assert done["merged_into_id"] == into_id


async def test_the_register_lists_and_edits_aliases(client_as: ClientFactory) -> None:
    admin, officer = await client_as("admin"), await client_as("officer-urban")
    listed = {d["code"]: d for d in as_dict(await officer.get("/api/departments"))["departments"]}
    assert listed["zhujian"]["name"] == ZHUJIAN
    assert listed["zhujian"]["aliases"] == ["县住建局", "住建局"]
    base = "/api/admin/departments"
    body = {"name": "县教育局", "aliases": ["縣教體局", " 教体局 "]}
    made = as_dict(await admin.post(base, {**body, "code": "jiaoyu"}, status=201))
    assert made["aliases"] == ["县教体局", "教体局"]
    taken = as_dict(
        await admin.put(f"{base}/{made['id']}", {**body, "aliases": ["人社局"]}, status=409)
    )
    assert (taken["error"]["code"], taken["error"]["fields"]) == ("conflict", {"aliases": "taken"})
    bad = as_dict(await admin.put(f"{base}/{made['id']}", {**body, "aliases": ["局"]}, status=422))
    assert list(bad["error"]["fields"]) == ["aliases"]
    kept = as_dict(await admin.put(f"{base}/{made['id']}", {"name": "县教育体育局"}))
    assert kept["aliases"] == ["县教体局", "教体局"]  # omitted: kept
    cleared = as_dict(
        await admin.put(f"{base}/{made['id']}", {"name": "县教育体育局", "aliases": []})
    )
    assert cleared["aliases"] == []
    rows = {d["code"]: d for d in as_dict(await admin.get(base))["departments"]}
    assert rows["renshe"]["aliases"] == ["县人社局", "人社局"]


async def test_the_case_page_offers_the_register_to_pick_the_accused_unit(
    client_as: ClientFactory, config: Config
) -> None:
    path = await triaged_case(client_as, config)
    page_path = path.removeprefix("/api").removesuffix("/transitions")
    officer: Client = await client_as("officer-urban")
    page = await (await officer.http.get(page_path)).text()
    assert 'id="t-accused-department"' in page and 'list="t-accused-units"' in page
    assert 'id="t-override"' not in page  # an officer cannot override
    page = await (await (await client_as("supervisor")).http.get(page_path)).text()
    assert 'id="t-override"' in page
