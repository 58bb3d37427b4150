"""The one home of "load the project and check the caller may see it" (store.projects.scoped),
on the real database: out of scope reads exactly like absent, whatever the role."""
from __future__ import annotations

from bson import ObjectId

from server import access
from server.access import Principal
from server.store import projects

from support import build_site, run_async


def test_each_scope_sees_its_projects_and_nothing_else(mongo_uri, db_name):
    async def check(db):
        here = (await build_site(db, workers=1, devices=0))["project_id"]                      # 蓬江区
        there = (await build_site(db, workers=1, devices=0, seed=11, county="台山市"))["project_id"]
        missing = max(here, there) + 100
        seen = {}
        for label, principal in {
            "city": Principal.for_role("supervisor"),
            "analyst": Principal.for_role("analyst"),
            "county": Principal.for_role("supervisor", county="蓬江区"),
            "project": Principal.for_role("project", project_id=there),
            "supplier": Principal.for_role("supplier", supplier_id=ObjectId()),
            "enterprise": Principal.for_role("enterprise", enterprise_id=ObjectId()),
            "unknown role": Principal.for_role("visitor"),
        }.items():
            found = {pid for pid in (here, there, missing) if await projects.scoped(db, principal, pid, {"_id": 1})}
            assert await projects.visible_ids(db, principal, [here, there, missing, None]) == found, label
            seen[label] = found
        assert seen == {"city": {here, there}, "analyst": {here, there}, "county": {here}, "project": {there},
                        "supplier": set(), "enterprise": set(), "unknown role": set()}
        # The projection asked for is what comes back, scope fields or not.
        assert await projects.scoped(db, Principal.for_role("supervisor", county="蓬江区"), here, {"name": 1}) \
            == {"_id": here, "name": (await db.projects.find_one({"_id": here}))["name"]}
    run_async(mongo_uri, db_name, check)


def test_the_library_filter_never_widens_a_scope(mongo_uri, db_name):
    """Asking the library for another county than one's own gives nothing, not that county."""
    async def check(db):
        await build_site(db, workers=1, devices=0)
        await build_site(db, workers=1, devices=0, seed=11, county="台山市")
        county = Principal.for_role("supervisor", county="蓬江区")
        assert {p["county"] for p in await projects.library(db, access.project_filter(county))} == {"蓬江区"}
        assert await projects.library(db, access.project_filter(county), county="台山市") == []
        city = access.project_filter(Principal.for_role("supervisor"))
        assert {p["county"] for p in await projects.library(db, city, county="台山市")} == {"台山市"}
    run_async(mongo_uri, db_name, check)
