"""Bearer tokens end with the password that came with them; operators disable accounts and revoke tokens."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from server.store import accounts

from support import ADMIN_TOKEN, PASSWORD, run_async


def _issue(mongo_uri, db_name, username, **kwargs) -> str:
    return run_async(mongo_uri, db_name, lambda db: accounts.issue_token(db, username, "integration", **kwargs))


def test_password_change_revokes_tokens_unless_issued_to_outlive_it(web, make_account, mongo_uri, db_name, sdb):
    make_account("erin", "analyst")
    plain = _issue(mongo_uri, db_name, "erin")
    kept = _issue(mongo_uri, db_name, "erin", keep_on_password_change=True)
    assert web.get("/api/me", token=plain)[0] == 200 and web.get("/api/me", token=kept)[0] == 200
    status, _, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": "Changed-2026x",
                                                         "new_password_confirm": "Changed-2026x"},
                               cookie=web.login("erin"))
    assert status == 200
    assert web.get("/api/me", token=plain)[0] == 401
    assert web.get("/api/me", token=kept)[0] == 200
    entry = sdb.audit_log.find_one({"action": "token_revoke", "target.username": "erin"})
    assert entry["detail"]["reason"] == "password_change" and len(entry["detail"]["token_ids"]) == 1


def test_operator_disables_enables_and_revokes_over_the_api(web, make_account, mongo_uri, db_name, sdb):
    make_account("erin", "analyst")
    make_account("viewer", "analyst")
    first, second = _issue(mongo_uri, db_name, "erin"), _issue(mongo_uri, db_name, "erin")
    cookie = web.login("erin")
    # Nobody but the operator manages accounts.
    status, _, _ = web.request("POST", "/api/accounts/erin/disable", {}, cookie=web.login("viewer"))
    assert status == 403
    status, listing, _ = web.request("GET", "/api/accounts/erin/tokens", token=ADMIN_TOKEN)
    assert status == 200 and len(listing["tokens"]) == 2 and "hash" not in str(listing)
    # Revoke one token by its id: the other keeps working.
    first_id = accounts.token_id({"hash": accounts._token_hash(first)})
    status, reply, _ = web.request("DELETE", f"/api/accounts/erin/tokens/{first_id}", token=ADMIN_TOKEN)
    assert status == 200 and reply["revoked"] == [first_id] and len(reply["tokens"]) == 1
    assert web.get("/api/me", token=first)[0] == 401 and web.get("/api/me", token=second)[0] == 200
    assert web.request("DELETE", f"/api/accounts/erin/tokens/{first_id}", token=ADMIN_TOKEN)[0] == 404
    # Disable: the session and the remaining token end; enabling brings the account back, not the token.
    status, reply, _ = web.request("POST", "/api/accounts/erin/disable", {}, token=ADMIN_TOKEN)
    assert status == 200 and reply["disabled"] is True and reply["tokens"] == []
    assert web.request("GET", "/api/me", cookie=cookie)[0] == 401
    assert web.get("/api/me", token=second)[0] == 401
    assert web.request("POST", "/api/accounts/erin/enable", token=ADMIN_TOKEN)[0] == 200
    assert web.get("/api/me", token=second)[0] == 401 and web.login("erin")
    actions = [e["action"] for e in sdb.audit_log.find({"target.username": "erin"}).sort("at", 1)]
    assert actions.count("token_revoke") == 2 and "account_disable" in actions and "account_enable" in actions
    assert sdb.audit_log.find_one({"action": "account_disable"})["actor"] == "admin-token"


def test_disable_keeping_tokens_explicitly(web, make_account, mongo_uri, db_name):
    make_account("erin", "analyst")
    token = _issue(mongo_uri, db_name, "erin")
    assert web.request("POST", "/api/accounts/erin/disable", {"keep_tokens": True}, token=ADMIN_TOKEN)[0] == 200
    assert web.get("/api/me", token=token)[0] == 401  # disabled accounts act for nobody
    web.request("POST", "/api/accounts/erin/enable", token=ADMIN_TOKEN)
    assert web.get("/api/me", token=token)[0] == 200


def _realname(mongo_uri, db_name, *args):
    env = dict(os.environ, MONGODB_URI=mongo_uri, REALNAME_DB_NAME=db_name)
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_lists_revokes_and_disables(web, make_account, mongo_uri, db_name, sdb):
    make_account("erin", "analyst")
    first, second = _issue(mongo_uri, db_name, "erin"), _issue(mongo_uri, db_name, "erin")
    listed = _realname(mongo_uri, db_name, "account", "tokens", "erin")
    ids = re.findall(r"^  ([0-9a-f]{16}) ", listed.stdout, re.M)
    assert listed.returncode == 0 and len(ids) == 2, listed
    revoked = _realname(mongo_uri, db_name, "account", "revoke", "erin", ids[0])
    assert revoked.returncode == 0 and ids[0] in revoked.stdout
    assert web.get("/api/me", token=first)[0] == 401 and web.get("/api/me", token=second)[0] == 200
    assert _realname(mongo_uri, db_name, "account", "revoke", "erin", "0" * 16).returncode == 2
    disabled = _realname(mongo_uri, db_name, "account", "disable", "erin")
    assert disabled.returncode == 0 and "已停用" in disabled.stdout
    assert web.get("/api/me", token=second)[0] == 401
    assert sdb.accounts.find_one({"username": "erin"})["tokens"] == []
    assert sdb.audit_log.count_documents({"action": "account_disable", "actor": "operator"}) == 1
