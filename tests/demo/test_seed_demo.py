"""`realname seed-demo`: the demonstration city is complete, valid and created only once."""
from __future__ import annotations

from server.demo.seed import DEMO_DEVICE_PREFIX, DEMO_VENDOR_CODE, seed_demo
from server.domain import vocabulary
from server.domain.identity import check_credit_code, check_id_number
from server.domain.site_clock import site_day

from punch_support import person_days
from support import run_async

COLLECTIONS = ("projects", "enterprises", "units", "teams", "people", "roster", "devices", "photos", "punches",
               "accounts")


def _seed(db):
    # Two days of history are enough to check it; the real demo writes a month.
    return seed_demo(db, history_days=2)


def test_seed_demo_builds_the_city_once(mongo_uri, db_name, sdb, capsys):
    run_async(mongo_uri, db_name, _seed)
    first = {c: sdb[c].count_documents({}) for c in COLLECTIONS}
    assert "[24/24]" in capsys.readouterr().err  # progress is shown

    assert sorted({p["county"] for p in sdb.projects.find()}) == sorted(vocabulary.COUNTIES)
    # One gate device per project; the supplier demo adds devices of its own through the workflow.
    assert first["projects"] == 24 and sdb.devices.count_documents({"registered_by": "demo"}) == 24
    assert all(check_credit_code(e["credit_code"]).ok for e in sdb.enterprises.find())
    assert all(check_id_number(p["id_number"]).ok for p in sdb.people.find({}, {"id_number": 1}))
    # Every unit has its manager team; managers sit only in manager teams.
    for unit in sdb.units.find():
        assert sdb.teams.count_documents({"unit_id": unit["_id"], "kind": "管理人员班组"}) == 1
    for entry in sdb.roster.find():
        team = sdb.teams.find_one({"_id": entry["team_id"]})
        assert (team["kind"] == "管理人员班组") == vocabulary.is_manager_job(entry["job"])
    # Some projects lack a 项目经理 or a 总监理工程师, so the statistics have something to show.
    with_pm = len(sdb.roster.distinct("project_id", {"job": "项目经理"}))
    with_chief = len(sdb.roster.distinct("project_id", {"job": "总监理工程师"}))
    assert 0 < with_pm < 24 and 0 < with_chief < 24
    # One 项目经理 entered on two projects (the dashboards count such a person once per project).
    managers = sdb.roster.aggregate([{"$match": {"job": "项目经理"}},
                                     {"$group": {"_id": "$worker_no", "projects": {"$addToSet": "$project_id"}}}])
    assert any(len(m["projects"]) == 2 for m in managers)
    assert sdb.devices.count_documents({"vendor_code": DEMO_VENDOR_CODE,
                                        "device_id": {"$regex": f"^{DEMO_DEVICE_PREFIX}"}}) == 24

    # People were entered before the attendance history begins, units and teams before them.
    first_punch_day = min(sdb.punches.distinct("date"))
    assert all(site_day(e["entry_date"]).isoformat() < first_punch_day for e in sdb.roster.find({}, {"entry_date": 1}))
    # Past attendance: the two days before today, only of people entered there, at most in and out.
    days = sorted(sdb.punches.distinct("date"))
    assert len(days) == 2 and all(sdb.punches.count_documents({"date": d}) > 100 for d in days)
    for punch in sdb.punches.find({}, {"project_id": 1, "worker_no": 1}).limit(200):
        assert sdb.roster.count_documents({"project_id": punch["project_id"], "worker_no": punch["worker_no"]}) == 1
    assert sdb.photos.count_documents({"kind": "punch"}) == sdb.punches.count_documents({})
    # Every punch comes from a registered device: the upload reads new punches device by device.
    registered = {(d["vendor_code"], d["device_id"]) for d in sdb.devices.find({}, {"vendor_code": 1, "device_id": 1})}
    assert {(p["_id"]["v"], p["_id"]["d"]) for p in sdb.punches.aggregate(
        [{"$group": {"_id": {"v": "$vendor_code", "d": "$device_id"}}}])} <= registered
    # The history is folded into the dashboards' rollups by the real rollup code.
    assert sum(d["count"] for d in person_days(sdb)) == sdb.punches.count_documents({"test": False})
    assert sdb.att_project_days.count_documents({}) > 0
    assert {a["username"] for a in sdb.accounts.find()} >= {"jm_jianguan", "xiangmu1"}

    run_async(mongo_uri, db_name, _seed)
    assert {c: sdb[c].count_documents({}) for c in COLLECTIONS} == first
    assert "already there" in capsys.readouterr().err
