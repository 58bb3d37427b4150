"""Headless Chromium: supervisors and analysts open 参建单位, 班组, 花名册, 考勤 and 合同 on a list of
the projects in their scope with key counts (参建单位, 班组, 在场人数, 今日考勤), searchable, each
name leading to that project's page of the same area; a county supervisor's list holds its county only."""
from __future__ import annotations

import datetime as dt

from server.domain.site_clock import site_now
from support import PASSWORD, build_site, run_async, store_punches

AREAS = ("/units", "/teams", "/roster", "/attendance", "/contracts")


def landing_rows(b) -> dict[int, dict[str, str]]:
    out = {}
    for tr in b.find("#landing-list").find_elements("css selector", "tbody tr[data-id]"):
        out[int(tr.get_attribute("data-id"))] = {
            td.get_attribute("data-count"): td.text for td in tr.find_elements("css selector", "td[data-count]")}
    return out


def test_supervisor_lands_on_the_projects_in_scope(web, site, sdb, mongo_uri, db_name, make_account, browser):
    other = run_async(mongo_uri, db_name, lambda db: build_site(db, workers=2, devices=0, seed=8, county="江海区"))
    w1, w2, _ = (w["worker_no"] for w in site["workers"])
    # Today's punches: w1 twice, w2 once (a minute and two ago, site time: the gateway takes them as now).
    moment = lambda minutes: (site_now() - dt.timedelta(minutes=minutes)).replace(tzinfo=None).isoformat(timespec="seconds")  # noqa: E731
    store_punches(mongo_uri, db_name, site, w1, f"{moment(3)},{moment(2)}")
    store_punches(mongo_uri, db_name, site, w2, moment(1))
    teams_here = sdb.teams.count_documents({"project_id": site["project_id"]})  # 土建 and the automatic manager team
    assert teams_here == 2
    # An exited team and roster entry are not counted (the other project's 土建 and one of its workers).
    sdb.teams.update_one({"project_id": other["project_id"], "name": "土建"}, {"$set": {"exit_date": site_now()}})
    sdb.roster.update_one({"project_id": other["project_id"]}, {"$set": {"exit_date": site_now()}})

    make_account("jg_city", "supervisor")
    b = browser(web)
    b.sign_in("jg_city", PASSWORD)
    b.wait_text_in("main", "欢迎")
    for area in AREAS:
        b.open(area)
        rows = landing_rows(b)
        assert sorted(rows) == [site["project_id"], other["project_id"]], area
    assert rows[site["project_id"]] == {"units": "1", "teams": "2", "workers": "3", "punches_today": "3"}
    assert rows[other["project_id"]] == {"units": "1", "teams": "1", "workers": "1", "punches_today": "0"}
    # Searchable by name part or number, and by county.
    b.fill({"find": str(other["project_id"])}, scope="#landing-search")
    b.submit("#landing-search")
    b._wait(lambda _: sorted(landing_rows(b)) == [other["project_id"]])
    b.open("/contracts")
    b.fill({"in_county": "蓬江区"}, scope="#landing-search")
    b.submit("#landing-search")
    b._wait(lambda _: sorted(landing_rows(b)) == [site["project_id"]])
    # A name leads to that project's page of the same area.
    b.click(f'#landing-list tr[data-id="{site["project_id"]}"] a')
    b.wait_url(f"/contracts?project={site['project_id']}")
    assert not b.driver.find_elements("css selector", "#landing-list")

    make_account("jg_jh", "supervisor", county="江海区")
    b = browser(web)
    b.sign_in("jg_jh", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/roster")
    assert sorted(landing_rows(b)) == [other["project_id"]]
    assert not b.driver.find_elements("css selector", '#landing-search select[name="in_county"]')
    b.open(f"/roster?in_county=蓬江区&find={site['project_id']}")  # another county's project stays out of reach
    assert landing_rows(b) == {} and "没有符合条件的项目" in b.text("#landing-list")
