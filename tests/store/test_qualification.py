"""项目合格 on fixed data: one test per condition of the rule and one for the configured threshold."""
from __future__ import annotations

from server.store import qualification, uploads, workforce
from server.store.db import utcnow

from support import build_site, run_async as _run


async def _set(db, kind, entity_id, pid, state, reason=""):
    doc = uploads.new_document(kind, entity_id, project_id=pid, content_hash="h", now=utcnow())
    doc.update(state=state, reason=reason)
    await db.uploads.replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def _all_uploaded(db, workers=4):
    """A project with credentials whose unit, team and every worker are 上传成功."""
    site = await build_site(db, workers=workers)
    pid = site["project_id"]
    await db.projects.update_one({"_id": pid}, {"$set": {"province": {"appid": "a", "appsecret": "s" * 16}}})
    await _set(db, "unit", site["unit_id"], pid, uploads.SUCCEEDED)
    async for team in db.teams.find({"project_id": pid}):
        await _set(db, "team", team["_id"], pid, uploads.SUCCEEDED)
    for w in site["workers"]:
        await _set(db, "worker", f"{pid}:{w['worker_no']}", pid, uploads.SUCCEEDED)
    return site


def test_everything_uploaded_is_qualified(mongo_uri, db_name):
    async def body(db):
        site = await _all_uploaded(db)
        assert await qualification.qualification(db, [site["project_id"]]) == {site["project_id"]: (True, [])}
        assert await qualification.qualified_ids(db, [site["project_id"], 999999]) == {site["project_id"]}
    _run(mongo_uri, db_name, body)


def test_project_without_platform_credentials_is_not_uploaded(mongo_uri, db_name):
    async def body(db):
        site = await _all_uploaded(db)
        await db.projects.update_one({"_id": site["project_id"]}, {"$unset": {"province": 1}})
        ok, reasons = (await qualification.qualification(db, [site["project_id"]]))[site["project_id"]]
        assert not ok and reasons == ["项目未上传成功（未配置省厅平台 appid）"]
    _run(mongo_uri, db_name, body)


def test_a_refused_unit_disqualifies_with_its_reason(mongo_uri, db_name):
    async def body(db):
        site = await _all_uploaded(db)
        pid = site["project_id"]
        await _set(db, "unit", site["unit_id"], pid, uploads.FAILED, "corpCode 信用代码校验位错误")
        ok, reasons = (await qualification.qualification(db, [pid]))[pid]
        assert not ok
        # The unit is the general contractor: the project itself is not uploaded, and the unit says why.
        assert reasons[0] == "项目未上传成功（总承包单位未上传成功）"
        assert reasons[1] == "参建单位未上传成功：江门市测试建筑工程有限公司（上传失败：corpCode 信用代码校验位错误）"
    _run(mongo_uri, db_name, body)


def test_a_team_in_site_not_uploaded_disqualifies_an_exited_one_does_not(mongo_uri, db_name):
    async def body(db):
        site = await _all_uploaded(db)
        pid = site["project_id"]
        extra = await workforce.add_team(db, project_id=pid, unit_id=site["unit_id"], name="钢筋")
        ok, reasons = (await qualification.qualification(db, [pid]))[pid]
        assert not ok and reasons == ["在场班组未上传成功：钢筋（未上传）"]
        await db.teams.update_one({"_id": extra["_id"]}, {"$set": {"exit_date": utcnow()}})
        assert (await qualification.qualification(db, [pid]))[pid] == (True, [])
    _run(mongo_uri, db_name, body)


def test_current_workers_below_the_share_disqualify_exited_ones_do_not_count(mongo_uri, db_name):
    async def body(db):
        site = await _all_uploaded(db)
        pid = site["project_id"]
        refused = site["workers"][0]
        await _set(db, "worker", f"{pid}:{refused['worker_no']}", pid, uploads.FAILED, "头像 headImage 大于 50KB")
        ok, reasons = (await qualification.qualification(db, [pid]))[pid]
        assert not ok and reasons == ["在职人员上传成功 3/4（75%），低于 100%"]
        await workforce.exit_person(db, project_id=pid, worker_no=refused["worker_no"])
        assert (await qualification.qualification(db, [pid]))[pid] == (True, [])
    _run(mongo_uri, db_name, body)


def test_the_configured_share_is_the_threshold(mongo_uri, db_name):
    async def body(db):
        site = await _all_uploaded(db)
        pid = site["project_id"]
        await _set(db, "worker", f"{pid}:{site['workers'][0]['worker_no']}", pid, uploads.TO_SEND)
        assert (await qualification.qualification(db, [pid], worker_share=75))[pid] == (True, [])
        ok, reasons = (await qualification.qualification(db, [pid], worker_share=76))[pid]
        assert not ok and reasons == ["在职人员上传成功 3/4（75%），低于 76%"]
    _run(mongo_uri, db_name, body)


def test_the_synchronous_reading_agrees(mongo_uri, db_name, sdb):
    async def body(db):
        site = await _all_uploaded(db)
        other = await build_site(db, workers=1, devices=0, seed=9)
        return site["project_id"], other["project_id"]
    qualified, unqualified = _run(mongo_uri, db_name, body)
    assert qualification.qualified_ids_sync(sdb, [qualified, unqualified, 999999]) == {qualified}


def test_the_dashboards_read_the_rule_only_for_projects_with_credentials_and_agree_with_it(mongo_uri, db_name, sdb):
    from dashboards import data
    site = _run(mongo_uri, db_name, _all_uploaded)
    pid = site["project_id"]
    # 150 projects without credentials around it: more than one slice of ids, none can qualify.
    async def others(db):
        return [(await workforce.create_project(db, name=f"无凭据项目{n}", county="蓬江区"))["_id"] for n in range(150)]
    ids = [pid, *_run(mongo_uri, db_name, others)]
    assert data.qualified_projects(sdb, ids) == {pid}
    sdb.projects.update_one({"_id": pid}, {"$unset": {"province": 1}})
    assert data.qualified_projects(sdb, ids) == set()
