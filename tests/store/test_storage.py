"""Storage foundation: the embedded server's life, and schema ensured idempotently with validators."""
from __future__ import annotations

import socket

import pytest
from pymongo import MongoClient
from pymongo.errors import WriteError

from server.domain.attendance_grid import Month
from server.store import attendance, device_monitoring, devices, people, projects, roster
from server.store.embedded import EmbeddedDatabase, EmbeddedDatabaseError, free_port
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
HOT_QUERIES = [
    ("devices", devices.by_code_query("V", "D"), None),                              # 843 login
    ("devices", {"changed_at": {"$gt": __import__("datetime").datetime(2020, 1, 1)}}, None),  # ownership poll
    ("roster", roster.current_query(1), None),                                       # 849 whitelist, 848 cache
    ("roster", roster.current_query(1, 5), None),                                    # 845 entered?
    ("people", people.worker_nos_query([1, 2]), None),                               # 849 names, 848 refusals
    ("people", people.id_number_query("440703199001011234"), None),                  # 852, 845
    ("punches", attendance.day_query(1, _DAY), [("device_time", 1)]),                # punches of a day
    ("roster", {"person_id": 1}, None),                                              # people in a principal's scope
    ("accounts", {"username": "alice"}, None),                                       # login, every session request
    ("accounts", {"tokens.hash": "0" * 64}, None),                                   # every bearer request
    ("sessions", {"username": "alice"}, None),                                       # sessions ended by password change
    ("login_failures", {"username": "alice", "ip": "1.2.3.4", "at": {"$gte": _T0}}, None),  # account locked here?
    ("login_failures", {"ip": "1.2.3.4", "at": {"$gte": _T0}}, None),                # address blocked?
    ("login_failures", {"username": "alice", "ip": "1.2.3.4"}, None),                # forget after success
    ("captchas", {"expires_at": {"$lt": _T0}}, None),                                # expired captchas swept
    ("audit_log", {"actor": "alice", "at": {"$gte": _T0}}, [("at", -1)]),            # audit search
    ("audit_log", {"action": "login", "at": {"$gte": _T0}}, [("at", -1)]),
    ("audit_log", {"actor": "alice", "action": "login", "at": {"$gte": _T0}}, [("at", -1)]),
    ("audit_log", {"at": {"$gte": _T0}}, [("at", -1)]),
    # Attendance (server/store/attendance.py): a month's or a period's punches, for one worker too.
    ("punches", attendance.day_query(1, _DAY, 5), [("device_time", 1)]),
    ("roster", {"project_id": 1}, None),                                             # the month's roster
    ("units", {"project_id": 1}, None),
    ("teams", {"project_id": 1}, None),
    # Contracts (server/store/contracts.py): per project, per project and worker, per person.
    ("contracts", {"project_id": 1}, [("updated_at", -1)]),
    ("contracts", {"project_id": 1, "worker_no": 5}, [("updated_at", -1)]),
    ("contracts", {"worker_no": 5}, [("updated_at", -1)]),
    # Device monitoring (server/store/device_monitoring.py): a supplier's / a county's devices, recent refusals.
    ("devices", {"supplier_id": __import__("bson").ObjectId()}, None),
    ("devices", {"project_id": {"$in": [1, 2]}}, None),
    ("punch_refusals", {"at": {"$gte": _T0}}, None),
    # Suppliers and device access (server/store/suppliers.py, device_access.py): 待办/已办/办结 per side.
    ("device_access", {"supplier_id": __import__("bson").ObjectId(), "state": {"$in": ["applied", "test_passed"]}},
     [("updated_at", -1)]),
    ("device_access", {"county": "蓬江区", "state": {"$in": ["applied", "test_passed"]}}, [("updated_at", -1)]),
    ("device_access", {"state": {"$in": ["applied", "test_passed"]}}, [("updated_at", -1)]),
    ("device_access", {"vendor_code": "V", "serial": "S"}, None),                  # one open application per serial
    ("access_attachments", {"application_id": 1, "n": 1}, None),
    ("suppliers", {"vendor_code": "V"}, None),
    ("suppliers", {"credit_code": "91440703MA4UABCD1X"}, None),
    # Project declarations and the outbox (server/store/declarations.py, outbox.py): review lists, the public
    # form's per-address limit, 申请记录 by name, queued mail, the outbox in a county.
    ("declarations", {"state": "pending"}, [("submitted_at", -1)]),
    ("declarations", {"county": "蓬江区", "state": {"$in": ["passed", "failed"]}}, [("submitted_at", -1)]),
    ("declarations", {"ip": "1.2.3.4", "submitted_at": {"$gte": _T0}}, None),
    ("declarations", {"name": "项目"}, [("submitted_at", -1)]),
    ("outbox", {"state": "queued"}, [("created_at", 1)]),
    ("outbox", {"county": "蓬江区"}, [("created_at", -1)]),
    # Roster and person library (server/store/roster_entries.py, people.py, roster.py): career, scope, name
    # search, the gateways' poll for changed rosters.
    ("roster", {"person_id": 1}, [("entry_date", -1)]),
    ("roster", {"project_id": {"$in": [1, 2]}}, None),
    ("people", {"name": {"$gte": "张", "$lt": "张\uffff"}}, [("name", 1)]),
    ("roster_changes", {"changed_at": {"$gt": _T0}}, None),
    ("people", {"created_from.project_id": {"$in": [1, 2]}}, None),
    # Units, teams, 企业库 (server/store/units.py, teams.py, enterprises.py): who is under a unit or team
    # (exit and delete checks), an enterprise's units, a unit's teams, a credit code.
    ("roster", {"unit_id": 1, "exit_date": None}, None),
    ("roster", {"team_id": 1, "exit_date": None}, None),
    ("roster", {"team_id": 1}, [("exit_date", -1)]),
    ("units", {"enterprise_id": {"$in": [1, 2]}}, None),
    ("teams", {"project_id": 1, "unit_id": 1}, None),
    ("enterprises", {"credit_code": "91440703MA4UABCD1X"}, None),
    # 上传省厅 (server/store/uploads.py, server/province/pipeline.py): what is ready of a kind, what awaits its
    # outcome, claims of a dead sender, a project's counts; the pipeline's reads of one project's records.
    ("uploads", {"state": "待上传", "kind": "team", "next_try_at": {"$lt": _T0}}, [("next_try_at", 1)]),
    ("uploads", {"state": "已提交待回执"}, None),
    ("uploads", {"state": "上传中", "claimed_at": {"$lt": _T0}}, None),
    ("uploads", {"project_id": 1, "kind": "worker", "state": "上传失败"}, None),
    ("uploads", {"project_id": 1, "kind": {"$in": ["unit", "team", "worker"]}}, None),
    ("roster", {"project_id": 1}, None),
    ("contracts", {"project_id": 1}, None),
    ("units", {"project_id": 1}, None),
]
HOT_AGGREGATES = [
    # The project list: current workers, devices in service and real punches today, per project.
    *projects.list_count_queries(_DAY).values(),
    # The landing list's key counts for a page of projects (its punches per project are day_query above).
    *projects.key_count_queries([1, 2]).values(),
    # Device monitoring: punches today per device, city-wide and scoped, production and test.
    *(("punches", device_monitoring.punches_today_pipeline(ids, _DAY, test=test))
      for ids in (None, [1, 2]) for test in (False, True)),
    ("punch_refusals", [{"$match": {"at": {"$gte": _T0}}}, {"$group": {"_id": "$device_id"}}]),  # refusals per device
    ("punches", [{"$match": attendance.month_query(1, Month(2026, 1))}, {"$group": {"_id": "$worker_no"}}]),  # month grid
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

