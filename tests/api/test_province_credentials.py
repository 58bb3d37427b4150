"""省厅对接参数: supervisors enter the appid and appsecret the provincial platform issued for a project;
the secret signs requests and is never shown, answered or audited again."""
from __future__ import annotations

from server.province import pipeline

from support import run_async

SECRET = "Jm-Secret-0123456789abcdef"


def test_a_supervisor_sets_a_projects_credentials_and_the_pipeline_takes_the_project(
        web, sdb, make_account, site, mongo_uri, db_name):
    pid = site["project_id"]
    make_account("jg_city", "supervisor")
    make_account("xm_site", "project", project_id=pid)
    city, proj = web.login("jg_city"), web.login("xm_site")
    path = f"/api/projects/{pid}/province"
    body = {"appid": "jm-app-0001", "appsecret": SECRET, "project_code": "JM-2026-0001"}
    assert web.request("POST", path, body, cookie=proj)[0] == 403        # the platform's credentials: supervisors only
    assert run_async(mongo_uri, db_name, pipeline.sites) == {}
    status, project, _ = web.request("POST", path, body, cookie=city)
    assert status == 200, project
    assert project["province"]["appid"] == "jm-app-0001" and project["province"]["secret_set"] is True
    assert project["province"]["project_code"] == "JM-2026-0001" and project["province"]["by"] == "jg_city"
    for reader in (city, proj):                                          # the secret never comes back
        assert SECRET not in web.raw("GET", f"/api/projects/{pid}", cookie=reader)[1].decode()
        page = web.raw("GET", f"/projects/{pid}", cookie=reader)[1].decode()
        assert SECRET not in page and "jm-app-0001" in page and "已设置（不再显示）" in page
    assert ('id="province-form"' in web.raw("GET", f"/projects/{pid}", cookie=city)[1].decode()
            and 'id="province-form"' not in web.raw("GET", f"/projects/{pid}", cookie=proj)[1].decode())
    entry = sdb.audit_log.find_one({"action": "project_province"})
    assert entry and SECRET not in str(entry) and "jm-app-0001" in str(entry)
    sites = run_async(mongo_uri, db_name, pipeline.sites)
    assert sites[pid].creds.appid == "jm-app-0001" and sites[pid].creds.appsecret == SECRET
    assert sites[pid].code == "JM-2026-0001"


def test_bad_credentials_are_refused_naming_the_field_and_nothing_is_stored(web, sdb, make_account, site):
    pid = site["project_id"]
    make_account("jg_city", "supervisor")
    city = web.login("jg_city")
    good = {"appid": "jm-app-0001", "appsecret": SECRET}
    for changes, field, words in (({"appid": ""}, "appid", "必填"), ({"appid": "中文"}, "appid", "格式错误"),
                                  ({"appsecret": "short-secret"}, "appsecret", "16"),
                                  ({"appsecret": "has a space in it 0123"}, "appsecret", "不含空格"),
                                  ({"appsecret": None}, "appsecret", "必填"),
                                  ({"project_code": "JM 2026"}, "project_code", "格式错误")):
        status, reply, _ = web.request("POST", f"/api/projects/{pid}/province", {**good, **changes}, cookie=city)
        assert status == 400 and reply["field"] == field and words in reply["message"], (changes, reply)
    assert "province" not in sdb.projects.find_one({"_id": pid})
    # Without a code of its own the project is known to the platform by its 施工许可证号.
    status, project, _ = web.request("POST", f"/api/projects/{pid}/province", good, cookie=city)
    assert status == 200 and project["province"]["project_code"] == (project["permit_no"] or str(pid))
