"""Accounts and access over real HTTP: captcha, login and lockout, sessions, tokens, scope, audit, CLI."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from server.domain.site_clock import site_today
from server.store import accounts, devices
from support import refusal_names_field, CAPTCHA_ANSWER, PASSWORD, WebThread, build_site, run_async

def captcha(web, ip=None) -> str:
    status, body, _ = web.request("GET", "/api/captcha", ip=ip)
    assert status == 200 and body["image"].startswith("data:image/png;base64,")
    return body["id"]


def login(web, username, password=PASSWORD, *, ip="10.0.0.1", answer=CAPTCHA_ANSWER, captcha_id=None):
    body = {"username": username, "password": password, "captcha_id": captcha_id or captcha(web, ip),
            "captcha": answer}
    status, reply, headers = web.request("POST", "/api/login", body, ip=ip)
    cookie = None
    for header in headers.get_all("Set-Cookie") or []:
        if header.startswith("realname_session="):
            cookie = header.split(";")[0]
    return status, reply, cookie, headers


def test_login_me_logout(web, make_account, sdb):
    make_account("alice", "supervisor")
    status, reply, cookie, headers = login(web, "alice")
    assert status == 200 and reply == {"username": "alice", "role": "supervisor", "must_change_password": False}
    set_cookie = headers.get_all("Set-Cookie")[0].lower()
    assert "httponly" in set_cookie and "secure" in set_cookie and "samesite=strict" in set_cookie
    status, me, _ = web.request("GET", "/api/me", cookie=cookie)
    assert status == 200 and me["username"] == "alice" and "projects:read" in me["permissions"]
    assert web.request("GET", "/api/projects", cookie=cookie)[0] == 200
    assert web.request("POST", "/api/logout", cookie=cookie)[0] == 200
    assert web.request("GET", "/api/me", cookie=cookie)[0] == 401
    assert sdb.sessions.count_documents({}) == 0
    # A forged cookie (not signed with the secret) is no session.
    assert web.request("GET", "/api/me", cookie="realname_session=" + "x" * 43)[0] == 401


def test_captcha_is_required_checked_and_single_use(web, make_account, sdb):
    make_account("alice", "supervisor")
    status, reply, _ = web.request("POST", "/api/login", {"username": "alice", "password": PASSWORD}, ip="10.0.0.1")
    assert status == 400 and reply["code"] == "invalid_argument" and reply["field"] == "captcha_id" and "必填" in reply["message"]
    status, reply, cookie, _ = login(web, "alice", answer="XXXX")
    assert (status, reply["code"], cookie) == (400, "captcha_invalid", None) and refusal_names_field(reply, "captcha")
    assert "验证码错误" in reply["message"]
    used = captcha(web)
    assert login(web, "alice", captcha_id=used)[0] == 200
    status, reply, _, _ = login(web, "alice", captcha_id=used)
    assert (status, reply["code"]) == (400, "captcha_invalid")
    stored = sdb.captchas.find_one()
    assert stored is None or CAPTCHA_ANSWER not in str(stored)  # only a hash is kept


def test_captcha_answers_are_random_without_the_test_setting(mongo_uri, db_name, sdb):
    web = WebThread(mongo_uri, db_name, captcha_test_answer="")
    try:
        captcha(web)
        captcha(web)
        hashes = [d["answer_hash"] for d in sdb.captchas.find()]
        assert len(hashes) == 2 and len(set(hashes)) == 2
    finally:
        web.stop()


def test_issued_password_must_be_changed_first(web, make_account, site, sdb):
    make_account("bob", "supervisor", must_change=True)
    status, reply, cookie, _ = login(web, "bob")
    assert status == 200 and reply["must_change_password"] is True
    status, reply, _ = web.request("GET", "/api/projects", cookie=cookie)
    assert (status, reply["code"]) == (403, "password_change_required")
    assert web.request("GET", "/api/me", cookie=cookie)[1]["must_change_password"] is True
    for new, field in [("short1", "new_password"), ("onlyletters", "new_password"), (PASSWORD, "new_password")]:
        status, reply, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": new,
                                        "new_password_confirm": new},
                                       cookie=cookie)
        assert status == 400 and refusal_names_field(reply, field) and "密码" in reply["message"], (new, reply)
    # 确认新密码 must repeat the new one, checked by the API as well as the page.
    status, reply, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": "Newpass-2026",
                                                             "new_password_confirm": "Newpass-2025"}, cookie=cookie)
    assert status == 400 and refusal_names_field(reply, "new_password_confirm") and "不一致" in reply["message"]
    assert sdb.accounts.find_one({"username": "bob"})["must_change_password"] is True
    status, reply, _ = web.request("POST", "/api/password", {"old_password": "wrong-1", "new_password": "Newpass-2026",
                                        "new_password_confirm": "Newpass-2026"},
                                   cookie=cookie)
    assert status == 400 and refusal_names_field(reply, "old_password") and "原密码不正确" in reply["message"]
    status, _, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": "Newpass-2026",
                                        "new_password_confirm": "Newpass-2026"},
                               cookie=cookie)
    assert status == 200
    assert web.request("GET", "/api/projects", cookie=cookie)[0] == 200
    assert sdb.accounts.find_one({"username": "bob"})["must_change_password"] is False
    assert login(web, "bob")[0] == 401 and login(web, "bob", "Newpass-2026")[0] == 200


def test_five_failures_lock_the_account_for_that_address_only(web, make_account):
    make_account("carol", "analyst")
    for _ in range(5):
        status, reply, _, _ = login(web, "carol", "wrong-pass-1", ip="203.0.113.5")
        assert (status, reply["code"]) == (401, "login_failed")
    status, reply, cookie, _ = login(web, "carol", ip="203.0.113.5")
    assert (status, reply["code"], cookie) == (429, "account_locked", None)
    # The real user, elsewhere, is not locked out by someone else's guessing.
    assert login(web, "carol", ip="198.51.100.7")[0] == 200


def test_lock_ends_after_thirty_minutes(web, make_account, sdb):
    make_account("carol", "analyst")
    for _ in range(5):
        login(web, "carol", "wrong-pass-1", ip="203.0.113.5")
    assert login(web, "carol", ip="203.0.113.5")[0] == 429
    sdb.login_failures.update_many({}, {"$set": {"at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31)}})
    assert login(web, "carol", ip="203.0.113.5")[0] == 200


def test_an_address_guessing_across_accounts_is_blocked(web, make_account):
    make_account("dave", "analyst")
    for i in range(20):
        assert login(web, f"nobody{i}", "wrong-pass-1", ip="192.0.2.9")[0] == 401
    status, reply, _, _ = login(web, "dave", ip="192.0.2.9")
    assert (status, reply["code"]) == (429, "too_many_attempts")
    assert login(web, "dave", ip="192.0.2.10")[0] == 200


def test_idle_session_is_refused_and_deleted(mongo_uri, db_name, make_account, sdb):
    web = WebThread(mongo_uri, db_name, session_idle_minutes=30)
    try:
        make_account("erin", "analyst")
        _, _, cookie, _ = login(web, "erin")
        assert web.request("GET", "/api/me", cookie=cookie)[0] == 200
        sdb.sessions.update_many({}, {"$set": {"last_seen": dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)}})
        assert web.request("GET", "/api/me", cookie=cookie)[0] == 200
        # That use refreshed last_seen (older than a minute), so the session lives on.
        assert sdb.sessions.find_one()["last_seen"] > dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
        sdb.sessions.update_many({}, {"$set": {"last_seen": dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31)}})
        status, reply, _ = web.request("GET", "/api/me", cookie=cookie)
        assert (status, reply["code"]) == (401, "unauthorized")
        assert sdb.sessions.count_documents({}) == 0
    finally:
        web.stop()


def test_bearer_token_issue_and_use(web, make_account, mongo_uri, db_name, sdb):
    make_account("robot", "analyst")
    token = run_async(mongo_uri, db_name, lambda db: accounts.issue_token(db, "robot", "nightly export"))
    stored = sdb.accounts.find_one({"username": "robot"})["tokens"]
    assert [t["label"] for t in stored] == ["nightly export"] and token not in str(stored)
    status, me, _ = web.request("GET", "/api/me", token=token)
    assert status == 200 and (me["username"], me["role"]) == ("robot", "analyst")
    assert web.request("GET", "/api/projects", token=token)[0] == 200
    assert web.request("GET", "/api/me", token=token + "x")[0] == 401
    assert web.request("GET", "/api/me")[0] == 401
    assert web.get("/api/me")[1]["role"] == "admin"  # the admin token still works


def _second_project(mongo_uri, db_name, county):
    return run_async(mongo_uri, db_name, lambda db: build_site(db, seed=11, county=county, devices=0))


def test_project_account_sees_only_its_project(web, make_account, site, mongo_uri, db_name):
    other = _second_project(mongo_uri, db_name, "台山市")
    run_async(mongo_uri, db_name, lambda db: devices.register(db, project_id=other["project_id"], vendor_code="TESTVENDOR",
                                                              device_id="OTHER-1", registered_by="test"))
    make_account("proj", "project", project_id=site["project_id"])
    _, _, cookie, _ = login(web, "proj")
    status, body, _ = web.request("GET", "/api/projects", cookie=cookie)
    assert status == 200 and [p["id"] for p in body["projects"]] == [site["project_id"]]
    assert web.request("GET", f"/api/projects/{site['project_id']}/punches", cookie=cookie)[0] == 200
    status, body, _ = web.request("GET", f"/api/projects/{other['project_id']}/punches", cookie=cookie)
    assert (status, body["code"]) == (404, "not_found")
    assert web.request("GET", f"/api/people/{site['workers'][0]['worker_no']}", cookie=cookie)[0] == 200
    assert web.request("GET", f"/api/people/{other['workers'][0]['worker_no']}", cookie=cookie)[0] == 404
    status, body, _ = web.request("GET", "/api/devices", cookie=cookie)
    assert status == 200 and {d["project_id"] for d in body["devices"]} == {site["project_id"]}


def test_county_supervisor_sees_only_its_county(web, make_account, site, mongo_uri, db_name):
    other = _second_project(mongo_uri, db_name, "台山市")
    make_account("taishan", "supervisor", county="台山市")
    make_account("city", "supervisor")
    _, _, cookie, _ = login(web, "taishan")
    body = web.request("GET", "/api/projects", cookie=cookie)[1]
    assert [p["id"] for p in body["projects"]] == [other["project_id"]]
    assert web.request("GET", f"/api/projects/{site['project_id']}/punches", cookie=cookie)[0] == 404
    assert web.request("GET", f"/api/projects/{other['project_id']}/punches", cookie=cookie)[0] == 200
    _, _, city, _ = login(web, "city")
    body = web.request("GET", "/api/projects", cookie=city)[1]
    assert sorted(p["id"] for p in body["projects"]) == sorted([site["project_id"], other["project_id"]])


def test_id_numbers_stay_masked_for_analysts(web, make_account, site, sdb):
    make_account("viewer", "analyst")
    _, _, cookie, _ = login(web, "viewer")
    worker = site["workers"][0]
    status, person, _ = web.request("GET", f"/api/people/{worker['worker_no']}", cookie=cookie)
    assert status == 200 and person["masked"] is True and person["id_number"] != worker["id_number"]
    status, reply, _ = web.request("GET", f"/api/people/{worker['worker_no']}?unmask=true", cookie=cookie)
    assert (status, reply["code"]) == (403, "forbidden") and worker["id_number"] not in str(reply)
    assert sdb.audit_log.count_documents({"action": "refused", "actor": "viewer", "detail.status": 403}) == 1


def test_project_staff_unmask_their_own_workers_with_an_audit_entry(web, make_account, site, sdb):
    # They collected the ID cards; masked by default all the same, and each unmasked view is audited.
    make_account("staff", "project", project_id=site["project_id"])
    _, _, cookie, _ = login(web, "staff")
    worker = site["workers"][0]
    assert web.request("GET", f"/api/people/{worker['worker_no']}", cookie=cookie)[1]["masked"] is True
    status, person, _ = web.request("GET", f"/api/people/{worker['worker_no']}?unmask=true", cookie=cookie)
    assert status == 200 and person["id_number"] == worker["id_number"]
    assert sdb.audit_log.count_documents({"action": "person_view_unmasked", "actor": "staff"}) == 1


def test_audit_entries_are_written_and_searchable(web, make_account, sdb):
    make_account("city", "supervisor")
    make_account("taishan", "supervisor", county="台山市")
    make_account("ana", "analyst")
    login(web, "ana", "wrong-pass-1", ip="203.0.113.1")
    _, _, ana, _ = login(web, "ana")
    web.request("GET", "/api/audit", cookie=ana)  # refused: analysts do not read the audit log
    _, _, city, _ = login(web, "city")
    today = site_today().isoformat()  # the audit search reads site days (UTC+8), not the machine's date
    status, body, _ = web.request("GET", f"/api/audit?actor=ana&from={today}&to={today}", cookie=city)
    assert status == 200
    actions = [e["action"] for e in body["entries"]]
    assert actions == ["refused", "login", "login_failure"]  # newest first
    assert body["entries"][2]["detail"] == {"ip": "203.0.113.1", "reason": "password"}
    assert body["entries"][0]["target"]["path"] == "/api/audit"
    status, body, _ = web.request("GET", "/api/audit?action=login&limit=2", cookie=city)
    assert status == 200 and body["count"] == 2 and {e["action"] for e in body["entries"]} == {"login"}
    assert web.request("GET", "/api/audit?actor=ana&action=login", cookie=city)[1]["count"] == 1
    assert web.request("GET", "/api/audit?from=2001-01-01&to=2001-01-02", cookie=city)[1]["count"] == 0
    assert web.request("GET", "/api/audit?from=yesterday", cookie=city)[0] == 400
    _, _, taishan, _ = login(web, "taishan")
    assert web.request("GET", "/api/audit", cookie=taishan)[0] == 403
    assert web.get("/api/audit")[0] == 200  # admin token


def test_account_store_refusals(mongo_uri, db_name, site):
    async def job(db):
        refusals = []
        for kwargs in [dict(username="x", role="analyst"), dict(username="okname", role="boss"),
                       dict(username="okname", role="project"), dict(username="okname", role="project", project_id=999),
                       dict(username="okname", role="analyst", project_id=site["project_id"]),
                       dict(username="okname", role="analyst", county="台山市"),
                       dict(username="okname", role="supervisor", county="广州市"),
                       dict(username="okname", role="analyst", password="short")]:
            with pytest.raises(accounts.AccountError) as err:
                await accounts.create_account(db, **kwargs)
            refusals.append(str(err.value).split(":")[0])
        account, password = await accounts.create_account(db, username="okname", role="analyst")
        assert password and accounts.verify_password(account, password) and account["must_change_password"]
        with pytest.raises(accounts.AccountError, match="已存在"):
            await accounts.create_account(db, username="okname", role="analyst")
        return refusals
    assert run_async(mongo_uri, db_name, job) == ["username", "role", "project", "project", "project", "county",
                                                  "county", "password"]


def realname(mongo_uri, db_name, *args):
    env = dict(os.environ, MONGODB_URI=mongo_uri, REALNAME_DB_NAME=db_name)
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_account_add_and_token(mongo_uri, db_name, site, web, sdb):
    added = realname(mongo_uri, db_name, "account", "add", "--role", "project", "--username", "site-manager",
                     "--project", str(site["project_id"]))
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    account = sdb.accounts.find_one({"username": "site-manager"})
    assert account["project_id"] == site["project_id"] and account["must_change_password"] is True
    assert password not in str(account)
    status, reply, _, _ = login(web, "site-manager", password)
    assert status == 200 and reply["must_change_password"] is True

    bad = realname(mongo_uri, db_name, "account", "add", "--role", "supervisor", "--username", "taishan",
                   "--county", "火星")
    assert bad.returncode == 2 and "county" in bad.stderr

    issued = realname(mongo_uri, db_name, "account", "token", "site-manager", "--label", "ci")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().rsplit(" ", 1)[-1]
    assert web.request("GET", "/api/me", token=token)[1]["username"] == "site-manager"
    assert sdb.audit_log.count_documents({"action": "token_issue", "target.username": "site-manager"}) == 1
    assert realname(mongo_uri, db_name, "account", "token", "ghost").returncode == 2


def test_cookie_secret_is_generated_once_and_private(tmp_path):
    from server.config import Config, resolve_cookie_secret
    config = Config.from_env({"REALNAME_DATA_DIR": str(tmp_path)})
    first = resolve_cookie_secret(config)
    assert len(first) >= 40 and (tmp_path / "cookie_secret").stat().st_mode & 0o777 == 0o600
    assert resolve_cookie_secret(config) == first
    assert resolve_cookie_secret(config.replace(cookie_secret="given")) == "given"
