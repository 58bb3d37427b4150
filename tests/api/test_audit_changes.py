"""The audit log records what changes data: who, when, what, and the changed fields before/after,
with personal data masked; every entry reads Chinese on the 审计日志 page."""
from __future__ import annotations

import random

from server import synthetic
from server.domain.audit_actions import action_name
from server.domain.site_clock import site_today
from support import ADMIN_TOKEN


def _entry(sdb, action: str) -> dict:
    found = list(sdb.audit_log.find({"action": action}))
    assert len(found) == 1, (action, found)
    return found[0]


def test_each_data_change_is_one_audited_entry_in_chinese(web, site, sdb, make_account):
    pid = site["project_id"]
    make_account("clerk", "project", project_id=pid)
    cookie = web.login("clerk")
    number = synthetic.id_number(random.Random(31))
    status, person, _ = web.request("POST", "/api/people", {"id_number": number, "name": "审计新人"}, cookie=cookie)
    assert status == 201
    added = _entry(sdb, "person_add")
    assert added["actor"] == "clerk" and added["target"] == {"worker_no": person["worker_no"]}
    assert added["detail"]["id_number"] != number and added["detail"]["id_number"].endswith(number[-4:])

    team = sdb.teams.find_one({"project_id": pid, "name": "土建"})
    status, _, _ = web.request("POST", f"/api/projects/{pid}/roster", {
        "worker_nos": [person["worker_no"]], "team_id": str(team["_id"]), "job": "木工"}, cookie=cookie)
    assert status == 200
    entry = _entry(sdb, "roster_entry")
    assert entry["detail"]["worker_nos"] == [person["worker_no"]] and entry["target"] == {"project_id": pid}
    status, _, _ = web.request("POST", f"/api/projects/{pid}/roster/exit", {"worker_nos": [person["worker_no"]]},
                               cookie=cookie)
    assert status == 200
    assert _entry(sdb, "roster_exit")["detail"]["exit_date"] == site_today().isoformat()

    unit = sdb.units.find_one({"project_id": pid})
    status, _, _ = web.request("PATCH", f"/api/projects/{pid}/units/{unit['_id']}",
                               {"manager_name": "新经理", "manager_phone": "13912345678"}, cookie=cookie)
    assert status == 200, _
    changed = _entry(sdb, "unit_edit")["detail"]["changes"]
    assert changed["manager_name"][1] == "新经理" and changed["manager_phone"][1] == "139****5678"
    assert "13912345678" not in str(changed), "personal data masked in before/after"
    status, _, _ = web.request("PATCH", f"/api/projects/{pid}/teams/{team['_id']}", {"name": "土建二班"},
                               cookie=cookie)
    assert status == 200
    assert _entry(sdb, "team_edit")["detail"]["changes"]["name"] == ["土建", "土建二班"]
    old_name = sdb.projects.find_one({"_id": pid})["name"]
    status, _, _ = web.request("PATCH", f"/api/projects/{pid}", {"name": "审计改名项目"}, token=ADMIN_TOKEN)
    assert status == 200, _
    project_edit = _entry(sdb, "project_edit")
    assert project_edit["actor"] == "admin-token" and project_edit["detail"]["changes"] == {
        "name": [old_name, "审计改名项目"]}

    # The page names each of them in Chinese, and shows the change as 名称：旧 → 新.
    _, body, _ = web.raw("GET", "/audit", token=ADMIN_TOKEN)
    html = body.decode()
    for action in ("person_add", "roster_entry", "roster_exit", "unit_edit", "team_edit", "project_edit"):
        assert f">{action_name(action)}</td>" in html and action_name(action) != action, action
    assert "名称：土建 → 土建二班" in html and "项目经理电话：" in html and "139****5678" in html
