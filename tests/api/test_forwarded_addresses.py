"""The client address behind lockout and the audit log: forwarded headers only from configured proxies."""
from __future__ import annotations

import pytest

from support import CAPTCHA_ANSWER, PASSWORD, WebThread


@pytest.fixture
def direct_web(mongo_uri, db_name):
    """The web process as installed by default: no trusted proxy."""
    w = WebThread(mongo_uri, db_name, trusted_proxies=())
    yield w
    w.stop()


def _login(web, username, password, headers):
    _, captcha, _ = web.request("GET", "/api/captcha")
    import json
    status, body, _ = web.raw("POST", "/api/login", json.dumps({
        "username": username, "password": password, "captcha_id": captcha["id"], "captcha": CAPTCHA_ANSWER}).encode(),
        headers={"Content-Type": "application/json", **headers})
    return status, json.loads(body)


def test_forged_forwarded_headers_neither_escape_lockout_nor_reach_the_audit_log(direct_web, make_account, sdb):
    make_account("clerk", "supervisor")
    for i in range(5):
        status, _ = _login(direct_web, "clerk", "wrong-Pass1", {"X-Forwarded-For": f"203.0.113.{i}",
                                                                 "X-Real-Ip": f"198.51.100.{i}"})
        assert status == 401
    # The right password from "another address" is still this peer's: locked.
    status, reply = _login(direct_web, "clerk", PASSWORD, {"X-Real-Ip": "198.51.100.77",
                                                         "X-Forwarded-For": "203.0.113.77"})
    assert status == 429 and reply["code"] == "account_locked", reply
    addresses = {e["detail"]["ip"] for e in sdb.audit_log.find({"action": "login_failure"})}
    assert addresses == {"127.0.0.1"}
    assert {f["ip"] for f in sdb.login_failures.find()} == {"127.0.0.1"}


def test_many_forged_addresses_are_one_address(direct_web, sdb):
    for i in range(21):
        status, reply = _login(direct_web, f"nobody{i}", "wrong-Pass1", {"X-Forwarded-For": f"203.0.113.{i}"})
    assert status == 429 and reply["code"] == "too_many_attempts", reply


def test_a_trusted_proxy_passes_the_client_address(web, make_account, sdb):
    # support.WebThread trusts 127.0.0.1 as a proxy: the address it forwards is the client's.
    make_account("clerk", "supervisor")
    for i in range(5):
        assert _login(web, "clerk", "wrong-Pass1", {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"})[0] == 401
    status, _ = _login(web, "clerk", PASSWORD, {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"})
    assert status == 429
    # Another client behind the same proxy is not locked out by the first one's failures.
    assert _login(web, "clerk", PASSWORD, {"X-Forwarded-For": "198.51.100.2"})[0] == 200
    assert {e["detail"]["ip"] for e in sdb.audit_log.find({"action": "login_failure"})} == {"198.51.100.1"}
