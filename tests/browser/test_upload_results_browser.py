"""上传省厅结果查询 in headless Chromium: a supervisor opens the results and follows a refused team to its
record; the project renames it on the team page; after the next pipeline passes against the stand-in
(`realname province-sim`, its own process) the team shows 上传成功 and the project turns qualified."""
from __future__ import annotations

import time

from server.config import Config
from server.province import pipeline
from server.province.client import HttpPlatform
from server.store import qualification, uploads

from support import PASSWORD, ProvinceSim, run_async

APPID, SECRET, CODE = "jm-browser-01", "jm2026browserSecret0123", "44070320260099"
REFUSAL = "班组名称不能包含特殊字符：#"
CONFIG = Config.from_env({}, province_retry_seconds=0.05, province_connect_timeout=2, province_request_timeout=5)


def passes_until(mongo_uri, db_name, url, done, deadline=90.0):
    """Pipeline passes until done(db) holds (the stand-in answers asynchronously: outcomes come a pass later)."""
    async def job(db):
        platform = HttpPlatform.from_config(CONFIG.replace(province_url=url))
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            await pipeline.run_once(db, platform, CONFIG)
            if await done(db):
                return
        raise AssertionError("the pipeline did not get there in time")
    run_async(mongo_uri, db_name, job)


def test_a_refusal_followed_fixed_and_uploaded(mongo_uri, db_name, web, site, sdb, make_account, browser):
    pid = site["project_id"]
    sdb.teams.update_one({"_id": site["team_id"]}, {"$set": {"name": "土建#1"}})
    sdb.projects.update_one({"_id": pid}, {"$set": {"province": {"appid": APPID, "appsecret": SECRET, "project_code": CODE}}})
    make_account("jg_city", "supervisor")
    make_account("xm_site", "project", project_id=pid)
    team_upload = uploads.upload_id("team", site["team_id"])
    sim = ProvinceSim(f"{APPID}:{SECRET}:{CODE}")
    try:
        sim.inject([{"kind": "fail", "method": "Team", "match": "土建#1", "times": None, "message": REFUSAL}])

        async def team_refused(db):
            doc = await db.uploads.find_one({"_id": team_upload})
            return doc is not None and doc["state"] == uploads.FAILED
        passes_until(mongo_uri, db_name, sim.url, team_refused)

        b = browser(web)
        b.sign_in("jg_city", PASSWORD)
        b.wait_text_in("main", "欢迎")
        b.open("/uploads")  # the default view: 上传失败
        b.wait_text_in("#upload-table", "否")
        b.click(f'tr[data-id="{pid}"] a.failure[data-kind="team"]')
        b.wait_text_in("#record-table", REFUSAL)
        assert "土建#1" in b.text("#record-table")
        b.click("#record-table a.fix")
        b.wait_url(f"/teams/{site['team_id']}")

        b.driver.delete_all_cookies()
        b.sign_in("xm_site", PASSWORD)
        b.wait_text_in("main", "欢迎")
        b.open("/uploads")
        b.wait_url(f"/uploads/{pid}")
        b.wait_text_in("#record-table", REFUSAL)
        b.click("#record-table a.fix")
        b.wait_url(f"/teams/{site['team_id']}")
        b.fill({"name": "土建一组"}, scope="#team-edit")
        b.submit("#team-edit")
        b._wait(lambda d: sdb.teams.find_one({"_id": site["team_id"]})["name"] == "土建一组")

        async def qualified(db):
            return pid in await qualification.qualified_ids(db, [pid])
        passes_until(mongo_uri, db_name, sim.url, qualified)
        assert sdb.uploads.find_one({"_id": team_upload})["state"] == uploads.SUCCEEDED

        b.open(f"/uploads/{pid}?kind=team&state=上传成功")
        b.wait_text_in("#record-table", "土建一组")
        assert "上传成功" in b.text("#record-table") and "是" in b.text("#qualification")
        b.open("/teams")
        b.wait_text_in(f'tr[data-id="{site["team_id"]}"] .uploaded', "成功")
        b.open("/projects")
        b.wait_text_in(f'tr[data-id="{pid}"] .qualified', "是")
    finally:
        sim.stop()

