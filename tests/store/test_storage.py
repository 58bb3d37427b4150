"""Storage foundation: the embedded server's life, and schema ensured idempotently with validators."""
from __future__ import annotations

import datetime as dt
import socket

import pytest
from pymongo import MongoClient
from pymongo.errors import WriteError

from server.domain.attendance_grid import Month
from server.store import (accounts, attendance, audit, captchas, contracts, declarations, device_access,
                          device_monitoring, devices, enterprises, logins, outbox, people, projects, punch_feed, roster,
                          rollups, roster_entries, sessions, suppliers, teams,
                          units, uploads)
from server.store.embedded import EmbeddedDatabase, EmbeddedDatabaseError, free_port
from server.province import pipeline as province_pipeline
from server.store import rollup_queries as rq
from server.store import rollup_months
from server.store.schema import INDEXES, VALIDATORS, ensure_schema

from support import run_async


def test_embedded_database_keeps_data_across_restarts_and_stops_cleanly(tmp_path):
    port = free_port()
    with EmbeddedDatabase(tmp_path, port) as db:
        MongoClient(db.uri).kept.things.insert_one({"_id": 1, "what": "一条记录"})
        process = db.process
    assert process.poll() is not None, "the server is still running after stop"
    with EmbeddedDatabase(tmp_path, port) as db:
        assert MongoClient(db.uri).kept.things.find_one({"_id": 1})["what"] == "一条记录"


def test_taken_port_gets_a_clear_message(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(EmbeddedDatabaseError) as caught:
            EmbeddedDatabase(tmp_path, port).start()
    assert str(port) in str(caught.value) and "占用" in str(caught.value)


def test_unusable_data_folder_gets_a_clear_message(tmp_path):
    (tmp_path / "db").write_text("a file where the data folder should be")
    with pytest.raises(EmbeddedDatabaseError) as caught:
        EmbeddedDatabase(tmp_path, free_port()).start(timeout=30)
    assert "数据目录" in str(caught.value) and "REALNAME_DATA_DIR" in str(caught.value)


def test_a_second_server_on_the_same_folder_fails_with_its_log(tmp_path):
    with EmbeddedDatabase(tmp_path, free_port()):
        with pytest.raises(EmbeddedDatabaseError) as caught:
            EmbeddedDatabase(tmp_path, free_port()).start(timeout=60)
    message = str(caught.value)
    assert "启动失败" in message and "db.log" in message


def test_schema_is_ensured_idempotently_and_validates(mongo_uri, db_name, sdb):
    run_async(mongo_uri, db_name, ensure_schema)
    run_async(mongo_uri, db_name, ensure_schema)  # a second start changes nothing and does not fail
    assert set(VALIDATORS) <= set(sdb.list_collection_names())
    for name, models in INDEXES.items():
        names = {i["name"] for i in sdb[name].list_indexes()}
        assert {m.document["name"] for m in models} <= names
        # Attendance and photos are evidence: no index may expire documents.
        assert not any("expireAfterSeconds" in i for i in sdb[name].list_indexes())
    with pytest.raises(WriteError):
        sdb.punches.insert_one({"_id": "x", "project_id": "not a number"})
    with pytest.raises(WriteError):
        sdb.projects.insert_one({"_id": 1, "name": "项目", "county": "广州市", "status": "在建"})


_T0 = __import__("datetime").datetime(2020, 1, 1)
_DAY = __import__("datetime").date(2026, 1, 1)
# The queries the gateway and the pages run, built by the store's own builders where it has them
# (so a change to what runs is what is checked); the literal ones below have no builder yet.
HOT_QUERIES = [  # every entry is built by the function the running code calls, never copied from it
    ("devices", devices.by_code_query("V", "D"), None),                              # 843 login
    ("devices", devices.changed_since_query(_T0), None),                             # ownership poll
    ("roster", roster.current_query(1), None),                                       # 849 whitelist, 848 cache
    ("roster", roster.current_query(1, 5), None),                                    # 845 entered?
    ("people", people.worker_nos_query([1, 2]), None),                               # 849 names, 848 refusals
    ("people", people.id_number_query("440703199001011234"), None),                  # 852, 845
    ("punches", attendance.day_query(1, _DAY), [("device_time", 1)]),                # punches of a day
    ("roster", roster.person_entries_query(1), None),                                # people in a principal's scope
    ("accounts", accounts.username_query("alice"), None),                            # login, every session request
    ("accounts", accounts.token_query("t" * 32), None),                              # every bearer request
    ("sessions", sessions.username_query("alice"), None),                            # sessions ended by password change
    ("login_failures", logins.account_failures_query("alice", "1.2.3.4", _T0), None),  # account locked here?
    ("login_failures", logins.address_failures_query("1.2.3.4", _T0), None),         # address blocked?
    ("login_failures", logins.pair_query("alice", "1.2.3.4"), None),                 # forget after success
    ("login_failures", logins.stale_failures_query("1.2.3.4", _T0), None),           # old failures dropped
    ("captchas", captchas.expired_query(_T0), None),                                 # expired captchas swept
    *(("audit_log", q, audit.SORT) for search in (                                   # audit search
        audit.search_queries(actor="alice", day_from=_DAY), audit.search_queries(action="登录", day_from=_DAY),
        audit.search_queries(actor="alice", action="login", day_from=_DAY, day_to=_DAY),
        audit.search_queries(day_from=_DAY), audit.search_queries(day_from=_DAY, with_devices=True))
      for q in search[0]),
    # Attendance (server/store/attendance.py): a month's or a period's punches, for one worker too.
    ("punches", attendance.day_query(1, _DAY, 5), [("device_time", 1)]),
    ("roster", roster.project_entries_query(1), None),                               # the month's roster
    ("units", units.project_units_query(1), None),
    ("teams", teams.project_teams_query(1), None),
    ("teams", teams.project_teams_query(1, 1), None),
    # Contracts (server/store/contracts.py): per project, per project and worker, per person.
    ("contracts", *contracts.project_query(1)),
    ("contracts", *contracts.project_query(1, 5)),
    ("contracts", *contracts.person_query(5)),
    # Device monitoring (server/store/device_monitoring.py): a supplier's / a county's devices, recent refusals.
    ("devices", device_monitoring.devices_query(device_monitoring.DeviceScope(), 1, None), None),
    ("devices", device_monitoring.devices_query(device_monitoring.DeviceScope(), None, __import__("bson").ObjectId()),
     None),
    ("devices", device_monitoring.devices_query(device_monitoring.DeviceScope(project_ids=frozenset({1, 2})), None,
                                                None), None),
    # Suppliers and device access (server/store/suppliers.py, device_access.py): 待办/已办/办结 per side.
    *(("device_access", *device_access.list_query(scope, side, name))
      for scope, side in (({"supplier_id": __import__("bson").ObjectId()}, "supplier"),
                          ({"county": "蓬江区"}, "supervisor"), ({}, "supervisor"))
      for name in ("todo", "done", "closed")),
    ("device_access", device_access.serial_query("V", "S"), None),                  # one open application per serial
    ("access_attachments", device_access.attachment_query(1, 1), None),
    ("suppliers", suppliers.vendor_code_query("V"), None),
    ("suppliers", suppliers.credit_code_query("91440703MA4UABCD1X"), None),
    # Project declarations and the outbox (server/store/declarations.py, outbox.py): review lists, the public
    # form's per-address limit, 申请记录 by name, queued mail, the outbox in a county.
    *(("declarations", *declarations.listing_query(decided=decided, scope=scope))
      for decided in (False, True) for scope in ({}, {"county": "蓬江区"})),
    ("declarations", declarations.address_query("1.2.3.4", _T0), None),
    ("declarations", *declarations.name_query("项目")),
    ("outbox", *outbox.next_queued_query()),
    ("outbox", outbox.retry_query(), None),
    ("outbox", outbox.stale_claims_query(_T0), None),                              # a dead sender's claims
    ("outbox", *outbox.listing_query({"county": "蓬江区"})),
    # Roster and person library (server/store/roster_entries.py, people.py, roster.py): career, scope, name
    # search, the gateways' poll for changed rosters.
    ("roster", roster.person_entries_query(1), roster_entries.CAREER_ORDER),
    ("roster", roster.projects_entries_query([1, 2]), None),
    *(("people", *people.search_query(q)) for q in ("张", "12", "440703199001011234")),
    ("roster_changes", roster.changed_since_query(_T0), None),
    ("people", people.added_by_projects_query([1, 2]), None),
    # Units, teams, 企业库 (server/store/units.py, teams.py, enterprises.py): who is under a unit or team
    # (exit and delete checks), an enterprise's units, a unit's teams, a credit code.
    *(("roster", query, sort) for query in (units.members_query(1), units.members_query(1, current=True),
                                            teams.members_query(1), teams.members_query(1, current=True))
      for sort in (None, [("entry_date", 1)], [("exit_date", -1)])),
    ("units", enterprises.units_query([1, 2]), None),
    ("teams", units.unit_teams_query(1, 1), None),
    ("enterprises", units.enterprise_code_query("91440703MA4UABCD1X"), None),
    # 上传省厅 (server/store/uploads.py, server/province/pipeline.py): what is ready of a kind, what awaits its
    # outcome, claims of a dead sender, a project's counts; the pipeline's reads of one project's records.
    ("uploads", *uploads.ready_query("team", _T0)),
    ("uploads", uploads.SUBMITTED_QUERY, None),
    ("uploads", uploads.stale_query(_T0), None),
    ("uploads", uploads.failed_query("worker"), None),         # projects whose refused records wait for a fix
    ("uploads", uploads.waiting_batches_query(), None),        # and those whose punches wait for a worker
    ("uploads", uploads.count_query(1, "worker", "上传失败"), None),
    ("uploads", uploads.marked_query(1, ["unit", "team", "worker"]), None),
    ("uploads", uploads.batched_query(_T0), None),           # batches holding punches received since the watermark
    ("uploads", uploads.project_batches_query(1), None),     # a site's batches, when it first takes part
    ("uploads", uploads.project_workers_query(1), None),     # a site's worker records, as its punches are batched
    *((collection, province_pipeline.sites_records_query([1, 2]), None) for collection in ("units", "teams", "roster", "contracts")),
    # Attendance rollups (server/store/rollups.py, rollup_queries.py, dashboards/data.py): a day, a range,
    # a project's days, the holders of posts, the tail's catch-up, the rebuild's day.
    ("att_project_days", rq.on_day("2026-01-01"), None),
    ("att_project_days", rq.between("2026-01-01", "2026-01-31"), None),
    ("att_project_days", rq.project_between(1, "2026-01-01", "2026-01-31"), None),
    ("att_project_days", rq.of_project(1), None),
    ("att_project_days", rq.since("2026-01-01"), None),                              # the rebuild's delete
    ("att_person_days", rq.on_day("2026-01-01"), None),
    # The month rollup (rollup_months.py): its watermark's read, the pages' months, a rebuild's delete.
    ("att_project_days", rq.changed_since(_T0), None),
    ("att_project_months", rq.months("2026-01", "2026-02"), None),
    ("att_project_months", {"month": {"$gte": "2026-01"}}, None),
    *(("roster", rollups.manager_jobs_query(set(range(n))), None) for n in (1, rollups.FEW_PROJECTS + 1)),
    ("punches", rq.punches_received_since(_T0), None),
    ("punches", rq.punches_received_between(_T0, _T0 + dt.timedelta(minutes=1)), None),   # the upload's read by time
    ("punch_feed", punch_feed.since_query(_T0), [("at", 1)]),                         # the upload's read of new punches
    ("punches", rq.dated_after("2026-01-01"), None),                                 # the rebuild's outliers
    ("punches", rq.dated_before("2026-01-01"), None),
    ("punches", rq.on_day("2026-01-01"), [("date", 1)]),
]
HOT_AGGREGATES = [
    # The project list: current workers, devices in service and real punches today, per project.
    *projects.list_count_queries(_DAY).values(),
    # The landing list's key counts for a page of projects (its punches per project are day_query above).
    *projects.key_count_queries([1, 2]).values(),
    # Device monitoring: punches today per device, city-wide and scoped, production and test.
    *(("punches", device_monitoring.punches_today_pipeline(ids, _DAY, test=test))
      for ids in (None, [1, 2]) for test in (False, True)),
    ("punch_refusals", device_monitoring.recent_refusals_pipeline(_T0)),              # refusals per device
    ("punches", attendance.punched_days_pipeline(1, Month(2026, 1))),                 # month grid
    # 上传省厅: punches of the attendance batches in a state, city-wide (backlog) and per project (results).
    ("uploads", uploads.punch_count_pipeline("待上传")),
    ("uploads", uploads.punch_count_pipeline("上传失败", 1)),
    ("uploads", uploads.kind_count_pipeline("待上传")),                                 # the pass's backlog
    # The month rollup's reads of project-days: written since its watermark; from a rebuilt month on.
    *(("att_project_days", rollup_months.days_pipeline(match)) for match in (rq.changed_since(_T0), rq.since("2026-01-01"))),
]


def test_hot_queries_use_indexes(mongo_uri, db_name, sdb):
    """A collection scan on any of these would make every device or page wait on the whole collection."""
    run_async(mongo_uri, db_name, ensure_schema)
    for collection, query, sort in HOT_QUERIES:
        cursor = sdb[collection].find(query)
        if sort:
            cursor = cursor.sort(sort)
        plan = str(cursor.explain()["queryPlanner"]["winningPlan"])
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (collection, query, plan)
    for collection, pipeline in HOT_AGGREGATES:
        plan = str(sdb.command("aggregate", collection, pipeline=pipeline, explain=True))
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (collection, pipeline, plan)

