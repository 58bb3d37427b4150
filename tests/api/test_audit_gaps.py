"""What an auditor must be able to find, and city-wide figures kept from scoped accounts."""
from __future__ import annotations

import pytest

from support import ADMIN_TOKEN


def test_refused_unmask_is_recorded_with_query_and_reason(web, make_account, site, sdb):
    make_account("viewer", "analyst")
    cookie = web.login("viewer")
    worker = site["workers"][0]
    status, reply, _ = web.request("GET", f"/api/people/{worker['worker_no']}?unmask=true&fields=all", cookie=cookie)
    assert status == 403
    entry = sdb.audit_log.find_one({"action": "refused", "actor": "viewer"})
    assert entry["target"]["query"] == "unmask=true&fields=all"
    assert entry["target"]["path"] == f"/api/people/{worker['worker_no']}"
    assert entry["detail"]["field"] == "unmask" and "未脱敏" in entry["detail"]["reason"]
    # ... and the audit search shows it to a supervisor.
    _, found, _ = web.request("GET", "/api/audit?actor=viewer&action=refused", token=ADMIN_TOKEN)
    assert any("unmask" in str(e) for e in found["entries"]), found


@pytest.mark.parametrize("role, scope, allowed", [
    ("project", {"project_id": "site"}, False), ("supplier", {"supplier_id": "new"}, False),
    ("supervisor", {"county": "蓬江区"}, False), ("supervisor", {}, True), ("analyst", {}, True)])
def test_gateway_totals_only_for_city_wide_accounts(web, make_account, site, sdb, role, scope, allowed):
    from bson import ObjectId
    scope = {k: site["project_id"] if v == "site" else ObjectId() if v == "new" else v for k, v in scope.items()}
    make_account("caller", role, **scope)
    import datetime as dt
    sdb.gateway_stats.insert_one({"_id": "history", "totals": {"punches": 123456},
                                  "updated_at": dt.datetime.now(dt.timezone.utc)})
    status, reply, _ = web.request("GET", "/api/gateway/stats", cookie=web.login("caller"))
    if allowed:
        assert status == 200 and reply["totals"]["punches"] == 123456
    else:
        assert status == 403 and "123456" not in str(reply)
