"""Headless Chromium at 1440×900 on 项目考勤: the month grid keeps 序号/姓名/工人编号 in view when
scrolled sideways, every row is one line however long the unit and team names, the 在场/出勤 headcount
row is right for a small fixed month, and the month picker speaks Chinese."""
from __future__ import annotations

from support import PASSWORD, site_midnight, store_punches

LONG_UNIT = "江门市蓬江区某某建筑工程集团股份有限公司第三工程分公司"
LONG_TEAM = "钢筋混凝土结构施工第一作业班组"


def arrange_march(mongo_uri, db_name, sdb, site):
    """w1, w3 entered in January, w2 on 10 March, w3 exited on 15 March; 10–11 March stopped (停工)."""
    pid = site["project_id"]
    w1, w2, w3 = (w["worker_no"] for w in site["workers"])
    sdb.roster.update_many({"project_id": pid}, {"$set": {"entry_date": site_midnight("2026-01-01")}})
    sdb.roster.update_one({"worker_no": w2}, {"$set": {"entry_date": site_midnight("2026-03-10")}})
    sdb.projects.update_one({"_id": pid}, {"$set": {"stop_periods": [{"from": "2026-03-10", "to": "2026-03-12"}]}})
    sdb.units.update_many({"project_id": pid}, {"$set": {"enterprise_name": LONG_UNIT}})
    sdb.teams.update_many({"project_id": pid}, {"$set": {"name": LONG_TEAM}})
    store_punches(mongo_uri, db_name, site, w1, "2026-03-01T07:55:00,2026-03-01T18:02:00,2026-03-02T08:00:00,"
                                                "2026-03-10T08:00:00")
    store_punches(mongo_uri, db_name, site, w2, "2026-03-31T17:30:00")
    store_punches(mongo_uri, db_name, site, w3, "2026-03-05T08:00:00", test=True)  # never counts
    store_punches(mongo_uri, db_name, site, w3, "2026-03-14T08:00:00,2026-03-14T12:00:00,2026-03-14T17:45:00")
    # After its punches: the gateway refuses punches of people who have exited.
    sdb.roster.update_one({"worker_no": w3}, {"$set": {"exit_date": site_midnight("2026-03-15")}})
    return w1, w2, w3


def expected_headcounts() -> tuple[list[str], list[str]]:
    present = ["2"] * 9 + ["3"] * 5 + ["2"] * 17
    attended = ["0"] * 31
    attended[0] = attended[1] = attended[13] = attended[30] = "1"
    attended[9] = attended[10] = "停"
    return present, attended


def rect(driver, element) -> dict:
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)


def test_month_grid_is_readable_at_1440(web, site, sdb, mongo_uri, db_name, make_account, browser, wide):
    arrange_march(mongo_uri, db_name, sdb, site)
    make_account("jg_city", "supervisor")
    b = browser(web)
    b.sign_in("jg_city", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open(f"/attendance?project={site['project_id']}&month=2026-03")
    table = b.find("#attendance-grid")
    # The month picker: Chinese labels, the chosen month selected, and it answers with YYYY-MM.
    chosen = b.find('select[name="month"] option:checked')
    assert chosen.text == "2026年3月" and chosen.get_attribute("value") == "2026-03"

    rows = table.find_elements("css selector", "tbody tr")
    assert len(rows) == 3
    for row in rows:
        unit = row.find_element("css selector", "td.unit")
        assert unit.get_attribute("title") == LONG_UNIT
        line = wide.execute_script("return parseFloat(getComputedStyle(arguments[0]).lineHeight)", unit)
        assert row.size["height"] < 2 * line, row.size  # one line, not four

    present, attended = expected_headcounts()
    cells = lambda key: [c.text for c in table.find_elements(  # noqa: E731
        "css selector", f'tr[data-headcount="{key}"] td.num')]
    assert cells("present") == present
    assert cells("attended") == attended

    name = rows[0].find_element("css selector", "td.fix-2")
    number = rows[0].find_element("css selector", "td.fix-3")
    day20 = rows[0].find_elements("css selector", "td.mark")[19]
    before = {"name": rect(wide, name), "number": rect(wide, number), "day": rect(wide, day20)}
    scroller = b.find(".grid-scroll")
    wide.execute_script("arguments[0].scrollLeft = arguments[0].scrollWidth", scroller)
    assert wide.execute_script("return arguments[0].scrollLeft", scroller) > 300
    after = {"name": rect(wide, name), "number": rect(wide, number), "day": rect(wide, day20)}
    assert after["day"]["left"] < before["day"]["left"] - 300      # the days moved …
    for key in ("name", "number"):                                 # … the identifying columns did not
        assert abs(after[key]["left"] - before[key]["left"]) < 1, (key, before[key], after[key])
    # Nothing covers them: the element at the name's centre is the name cell (or its button).
    hit = wide.execute_script("var r = arguments[0].getBoundingClientRect();"
                              "return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)"
                              ".closest('td') === arguments[0]", name)
    assert hit


def test_punch_detail_shows_first_and_last_punch_with_the_raw_punches_a_click_away(
        web, site, sdb, mongo_uri, db_name, make_account, browser, wide):
    w1, w2, w3 = arrange_march(mongo_uri, db_name, sdb, site)
    make_account("xm_site", "project", project_id=site["project_id"])
    b = browser(web)
    b.sign_in("xm_site", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/attendance?month=2026-03")
    # The 14th's cell of w3 (three punches): one line with 首次 08:00, 末次 17:45, 3 次.
    b.click(f'#attendance-grid button[data-detail-worker="{w3}"][data-from="2026-03-14"]')
    b.wait_text_in("#detail-rows", "2026-03-14")
    cells = [c.text for c in b.find("#detail-rows tr").find_elements("css selector", "td")]
    assert cells[1:6] == [str(w3), "2026-03-14", "08:00:00", "17:45:00", "3"], cells
    assert len(b.find("#detail-table").find_elements("css selector", "#detail-rows > tr")) == 1
    assert "from=2026-03-14" in b.find("#detail-export").get_attribute("href")
    assert "/attendance/days/export" in b.find("#detail-export").get_attribute("href")
    # 记录: the day's raw punches open under the row, and close again.
    b.click("#detail-rows tr button")
    b.find("#detail-rows tr.punches table")
    raw = [r.find_elements("css selector", "td")[0].text
           for r in b.find("#detail-rows tr.punches").find_elements("css selector", "table.nested > tbody > tr")]
    assert raw == ["2026-03-14 08:00:00", "2026-03-14 12:00:00", "2026-03-14 17:45:00"]
    b.click("#detail-rows tr button")
    b._wait(lambda d: not d.find_elements("css selector", "#detail-rows tr.punches"))
    # A person's whole month: one line per day punched, a single punch has no 末次.
    b.click(f'#attendance-grid td.fix-2 button[data-detail-worker="{w1}"]')
    b.wait_text_in("#detail-rows", "2026-03-10")
    lines = [[c.text for c in r.find_elements("css selector", "td")][2:6]
             for r in b.find("#detail-table").find_elements("css selector", "#detail-rows > tr")]
    assert lines == [["2026-03-01", "07:55:00", "18:02:00", "2"], ["2026-03-02", "08:00:00", "", "1"],
                     ["2026-03-10", "08:00:00", "", "1"]]
