"""Each command's success and failure over real TCP against the real database."""
from __future__ import annotations

import datetime as dt
import time
import random

import pytest

from server import synthetic
from server.device import codec
from server.device.codec import EnrollRequest, PersonRequest, WhitelistRequest
from server.store import workforce

from support import Device, device_counts, now_local, run_async

PHOTO = synthetic.jpeg_photo(random.Random(3), target_bytes=10_000)


def enroll_request(rng: random.Random, **changes) -> EnrollRequest:
    fields = dict(id_number=synthetic.id_number(rng), name=synthetic.chinese_name(rng), sex="1", nation="01",
                  birth_date="", address="广东省江门市蓬江区白沙大道1号", authority="江门市公安局蓬江分局",
                  validity="2020.01.01-2040.01.01", id_photo=PHOTO[:8000], capture_photo=PHOTO)
    fields.update(changes)
    if not fields["birth_date"] and len(fields["id_number"]) == 18:
        fields["birth_date"] = fields["id_number"][6:14]
    return EnrollRequest(**fields)


@pytest.fixture
def device(site, gateway):
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == codec.FLAG_OK
    yield dev
    dev.close()


def test_login_registered_and_unregistered(site, gateway, sdb):
    gw = gateway()
    stranger = Device(gw.port, "NOT-REGISTERED")
    reply = stranger.login()
    assert reply.flag == codec.FLAG_FAIL and "未注册" in reply.content.decode()
    good = Device(gw.port, site["device_ids"][0])
    reply = good.login()
    assert (reply.command, reply.flag, reply.content) == (codec.CMD_LOGIN, 0, b"")
    stored = sdb.devices.find_one({"device_id": site["device_ids"][0]})
    assert stored["online"] is True and stored["last_seen"] is not None


def test_every_command_before_login_is_refused(site, gateway):
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0])
    rng = random.Random(1)
    requests = [
        dict(command=codec.CMD_HEARTBEAT, content=b""),
        dict(msg=enroll_request(rng)),
        dict(msg=WhitelistRequest(0, 0)),
        dict(msg=PersonRequest(dev.device_id, site["workers"][0]["id_number"])),
        dict(msg=codec.PunchRequest(site["workers"][0]["worker_no"], now_local(), 6, PHOTO)),
    ]
    for req in requests:
        reply = dev.request(**req)
        assert reply.flag == codec.FLAG_FAIL and reply.content.decode() == "设备未登录"
    assert dev.login().flag == codec.FLAG_OK


def test_heartbeat(device):
    reply = device.heartbeat()
    assert (reply.command, reply.flag, reply.content) == (codec.CMD_HEARTBEAT, 0, b"")


def test_enroll_stores_person_with_photos_and_keeps_worker_number(device, sdb):
    rng = random.Random(11)
    req = enroll_request(rng)
    reply = device.request(req)
    assert reply.flag == 0
    assert codec.decode_reply(codec.CMD_ENROLL, reply.content) == codec.EnrollReply(0, "")
    person = sdb.people.find_one({"id_number": req.id_number})
    assert person["name"] == req.name and person["worker_no"] >= 1
    assert sdb.photos.find_one({"_id": person["capture_photo_id"]})["size"] == len(PHOTO)
    assert sdb.photos.find_one({"_id": person["id_photo_id"]})["size"] == len(req.id_photo)
    again = device.request(enroll_request(random.Random(11)))  # the same person enrolled again
    assert again.flag == 0
    assert sdb.people.count_documents({"id_number": req.id_number}) == 1
    assert sdb.people.find_one({"id_number": req.id_number})["worker_no"] == person["worker_no"]


@pytest.mark.parametrize("changes, reason", [
    (dict(id_number="44070319900101123"), "长度"),
    (dict(sex="9"), "性别"),
    (dict(nation="77"), "民族"),
    (dict(id_photo=bytes(31 * 1024)), "身份证照片过大"),
    (dict(capture_photo=b""), "缺少采集照片"),
    (dict(name=""), "姓名"),
])
def test_enroll_refusals_put_reason_in_the_field(device, sdb, changes, reason):
    reply = device.request(enroll_request(random.Random(5), **changes))
    assert reply.flag == codec.FLAG_FAIL
    result = codec.decode_reply(codec.CMD_ENROLL, reply.content)
    assert result.result == 1 and reason in result.reason
    assert len(reply.content) == 42
    assert sdb.people.count_documents({"last_enrollment.device_id": device.device_id}) == 0


def test_enroll_refuses_bad_check_character(device):
    number = synthetic.id_number(random.Random(8))
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    result = codec.decode_reply(codec.CMD_ENROLL, device.request(enroll_request(random.Random(8), id_number=wrong)).content)
    assert result.result == 1 and "校验" in result.reason


def test_whitelist_lists_current_workers_and_follows_exits(device, site, mongo_uri, db_name):
    reply = device.request(WhitelistRequest(0xFFFF, 0xFFFFFFFF))
    assert reply.flag == 0
    wl = codec.decode_reply(codec.CMD_WHITELIST, reply.content)
    assert wl.project_no == site["project_id"] and wl.project_name == "江门市测试项目"
    assert sorted(r.worker_no for r in wl.records) == sorted(w["worker_no"] for w in site["workers"])
    assert all(r.photo_length == site["photo_len"] for r in wl.records)
    leaving = site["workers"][0]["worker_no"]
    run_async(mongo_uri, db_name, lambda db: workforce.exit_person(db, project_id=site["project_id"], worker_no=leaving))
    wl = codec.decode_reply(codec.CMD_WHITELIST, device.request(WhitelistRequest(3, 3 * site["photo_len"])).content)
    assert leaving not in {r.worker_no for r in wl.records} and len(wl.records) == 2


def test_person_features_for_entered_people_only_and_audited(device, site, sdb):
    worker = site["workers"][1]
    reply = device.request(PersonRequest(device.device_id, worker["id_number"]))
    assert reply.flag == 0
    person = codec.decode_reply(codec.CMD_PERSON, reply.content)
    assert (person.worker_no, person.id_number, person.name) == (worker["worker_no"], worker["id_number"], worker["name"])
    assert len(person.capture_photo) == len(person.id_photo) == site["photo_len"] and person.nation == 1
    assert sdb.audit_log.count_documents({"action": "device_person_fetch", "target.worker_no": worker["worker_no"]}) == 1

    unknown = device.request(PersonRequest(device.device_id, synthetic.id_number(random.Random(99))))
    assert unknown.flag == 1 and unknown.content.decode() == "人员不存在"
    enrolled_only = enroll_request(random.Random(12))
    device.request(enrolled_only)
    not_entered = device.request(PersonRequest(device.device_id, enrolled_only.id_number))
    assert not_entered.flag == 1 and not_entered.content.decode() == "人员未进场"


def test_punch_stored_once_and_refusals(device, site, sdb):
    worker = site["workers"][0]["worker_no"]
    when = now_local()
    ok = device.punch(worker, when, PHOTO)
    assert (ok.command, ok.flag, ok.content) == (codec.CMD_PUNCH, 0, b"")
    again = device.punch(worker, when, PHOTO)
    assert again.flag == 0
    stored = list(sdb.punches.find({"worker_no": worker}))
    assert len(stored) == 1 and stored[0]["resends"] == 1 and stored[0]["flags"] == []
    assert stored[0]["device_time"] == when.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert "data" not in stored[0] and sdb.photos.find_one({"_id": stored[0]["photo_id"]})["size"] == len(PHOTO)

    unknown = device.punch(987654, when, PHOTO)
    assert unknown.flag == 1 and unknown.content.decode() == "工人编号不存在"
    big = device.punch(worker, when + dt.timedelta(seconds=1), bytes(50 * 1024 + 1))
    assert big.flag == 1 and big.content.decode() == "照片过大"
    enrolled_only = enroll_request(random.Random(13))
    device.request(enrolled_only)
    outsider = sdb.people.find_one({"id_number": enrolled_only.id_number})["worker_no"]
    absent = device.punch(outsider, when, PHOTO)
    assert absent.flag == 1 and absent.content.decode() == "人员未进场"
    assert sdb.punches.count_documents({}) == 1
    refusals = {r["reason"] for r in sdb.punch_refusals.find({})}
    assert refusals == {"unknown_worker", "photo_too_large", "not_entered"}


def test_punch_with_wrong_clock_is_kept_and_flagged(device, site, sdb):
    worker = site["workers"][0]["worker_no"]
    future = now_local() + dt.timedelta(days=3)
    past = now_local() - dt.timedelta(days=400)
    assert device.punch(worker, future).flag == 0
    assert device.punch(worker, past).flag == 0
    flags = sorted(tuple(p["flags"]) for p in sdb.punches.find({"worker_no": worker}))
    assert flags == [("future_time",), ("past_time",)]
    for p in sdb.punches.find({"worker_no": worker}):
        assert abs((p["received_at"] - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60


def test_counters_reach_the_database(device, site, gateway, sdb):
    device.punch(site["workers"][0]["worker_no"], now_local())
    device.punch(424242, now_local())

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        counters = device_counts(sdb, device.device_id)
        if counters.get("punch_stored") == 1 and counters.get("refused_848_unknown_worker") == 1:
            break
        time.sleep(0.2)
    assert counters.get("punch_stored") == 1 and counters.get("refused_848_unknown_worker") == 1
    assert sdb.gateway_stats.find_one({})["totals"]["refused"] >= 1


def test_counters_of_a_stopped_gateway_are_folded_once(site, gateway, sdb, mongo_uri, db_name):
    from server.store.gateway_stats import fold_dead_gateways
    first = gateway()
    dev = Device(first.port, site["device_ids"][0])
    assert dev.login().flag == 0
    assert dev.punch(site["workers"][0]["worker_no"], now_local()).flag == 0
    dev.close()
    first.stop()
    before = device_counts(sdb, dev.device_id)
    assert before["punch_stored"] == 1
    folded = run_async(mongo_uri, db_name, lambda db: fold_dead_gateways(db, dead_after=0))
    assert folded == 1
    assert run_async(mongo_uri, db_name, lambda db: fold_dead_gateways(db, dead_after=0)) == 0
    assert device_counts(sdb, dev.device_id) == before
    assert sdb.gateway_stats.find_one({"_id": "history"})["totals"]["punch_stored"] == 1
