"""What real devices do (protocol.md, "What devices in the field do"), and connection life."""
from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from server.device import codec
from server.device.codec import Frame

from support import Device, device_counts, now_local, wait_until


def counters(sdb, device_id: str) -> dict:
    return device_counts(sdb, device_id)


def punch_content(worker_no: int, when: dt.datetime, photo: bytes = b"x" * 2000) -> bytes:
    return codec.encode_request(codec.PunchRequest(worker_no, when, 6, photo))[1]


@pytest.fixture
def logged_in(site, gateway):
    def make(**overrides) -> Device:
        gw = gateway(**overrides)
        dev = Device(gw.port, site["device_ids"][0])
        assert dev.login().flag == 0
        return dev
    return make


def test_bad_checksum_lenient_is_accepted_and_counted(logged_in, site, sdb):
    dev = logged_in()
    content = bytearray(punch_content(site["workers"][0]["worker_no"], now_local()))
    content[-1] ^= 0x5A
    assert dev.request(command=codec.CMD_PUNCH, content=bytes(content)).flag == 0
    missing = punch_content(site["workers"][1]["worker_no"], now_local())[:-1]
    assert dev.request(command=codec.CMD_PUNCH, content=missing).flag == 0
    assert sdb.punches.count_documents({}) == 2
    c = wait_until(lambda: counters(sdb, dev.device_id).get("checksum_missing") and counters(sdb, dev.device_id))
    assert c["checksum_bad"] == 1 and c["checksum_missing"] == 1


def test_bad_checksum_strict_is_refused(logged_in, site, sdb):
    dev = logged_in(strict_checksum=True)
    content = bytearray(punch_content(site["workers"][0]["worker_no"], now_local()))
    content[-1] ^= 0x5A
    reply = dev.request(command=codec.CMD_PUNCH, content=bytes(content))
    assert reply.flag == 1 and "校验" in reply.content.decode()
    assert sdb.punches.count_documents({}) == 0


def test_flag_on_requests_session_ids_and_versions_are_echoed(logged_in, site):
    dev = logged_in()
    for session in (bytes(16), b"\xff" * 16, bytes(range(16)), bytes(random.getrandbits(8) for _ in range(16))):
        reply = dev.request(command=codec.CMD_HEARTBEAT, content=b"", session_id=session, flag=1)
        assert (reply.flag, reply.session_id) == (0, session)
    reply = dev.request(command=codec.CMD_PUNCH, content=punch_content(site["workers"][0]["worker_no"], now_local()),
                        version=2)
    assert (reply.flag, reply.version) == (0, 2)
    unreadable = dev.request(command=codec.CMD_PUNCH, content=b"\x01\x02", version=3)
    assert unreadable.flag == 1 and unreadable.version == 3 and "版本" in unreadable.content.decode()
    assert dev.heartbeat().flag == 0  # the connection survives a refused request


def test_offline_buffer_resent_in_bursts_any_order_with_duplicates(logged_in, site, sdb):
    dev = logged_in()
    workers = [w["worker_no"] for w in site["workers"]]
    base = now_local() - dt.timedelta(hours=5)
    buffer = [(workers[i % 3], base + dt.timedelta(minutes=i)) for i in range(30)]
    for worker, when in buffer[:10]:
        assert dev.punch(worker, when).flag == 0
    dev.close()
    # Reconnect and dump the whole buffer, shuffled and partly doubled, without waiting for replies.
    dev = logged_in()
    burst = buffer + random.Random(4).sample(buffer, 12)
    random.Random(5).shuffle(burst)
    for worker, when in burst:
        dev.send_raw(Frame(codec.CMD_PUNCH, punch_content(worker, when), dev.session).encode())
    replies = [dev.recv_frame() for _ in burst]
    assert all(r.flag == 0 and r.command == codec.CMD_PUNCH for r in replies)
    assert sdb.punches.count_documents({}) == 30
    assert sum(p["resends"] for p in sdb.punches.find({})) == len(burst) + 10 - 30


def test_second_login_replaces_the_first_connection(site, gateway, sdb):
    gw = gateway()
    first = Device(gw.port, site["device_ids"][0])
    assert first.login().flag == 0
    second = Device(gw.port, site["device_ids"][0])
    assert second.login().flag == 0
    assert first.is_closed()
    assert second.heartbeat().flag == 0
    gw.settle(connections=1)
    assert sdb.devices.find_one({"device_id": site["device_ids"][0]})["online"] is True


def test_idle_connections_are_closed_and_shown_offline(site, gateway, sdb):
    gw = gateway(idle_timeout=1.0, login_timeout=1.0)
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == 0
    lurker = Device(gw.port, "NEVER-LOGS-IN")
    assert dev.is_closed(wait=5) and lurker.is_closed(wait=5)
    doc = wait_until(lambda: (d := sdb.devices.find_one({"device_id": site["device_ids"][0]})) and not d["online"] and d)
    assert doc["online"] is False


def test_heartbeats_keep_a_device_online(site, gateway):
    gw = gateway(idle_timeout=1.0)
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == 0
    for _ in range(6):
        time.sleep(0.4)
        assert dev.heartbeat().flag == 0


@pytest.mark.parametrize("first_index", [0, 1])
def test_split_content_is_joined(logged_in, site, sdb, first_index):
    dev = logged_in()
    content = punch_content(site["workers"][0]["worker_no"], now_local(), photo=bytes(range(256)) * 40)
    cuts = [0, 7, 4000, len(content)]
    parts = [content[a:b] for a, b in zip(cuts, cuts[1:])]
    for i, part in enumerate(parts):
        dev.send_raw(Frame(codec.CMD_PUNCH, part, dev.session, part_index=first_index + i, part_count=len(parts)).encode())
    reply = dev.recv_frame()
    assert reply.flag == 0 and reply.part_count == 0
    stored = sdb.punches.find_one({})
    assert stored["photo_len"] == 256 * 40
    assert bytes(sdb.photos.find_one({"_id": stored["photo_id"]})["data"]) == bytes(range(256)) * 40


def test_split_message_abandoned_by_another_command(logged_in, site, sdb):
    dev = logged_in()
    content = punch_content(site["workers"][0]["worker_no"], now_local())
    dev.send_raw(Frame(codec.CMD_PUNCH, content[:100], dev.session, part_index=0, part_count=2).encode())
    assert dev.heartbeat().flag == 0
    assert sdb.punches.count_documents({}) == 0
    assert dev.heartbeat().flag == 0


def test_absurd_length_gets_a_message_and_a_close(logged_in):
    dev = logged_in()
    header = bytearray(Frame(codec.CMD_PUNCH, b"", dev.session).encode()[:32])
    header[1:5] = (0xFFFFFFF0).to_bytes(4, "little")
    dev.send_raw(bytes(header))
    reply = dev.recv_frame()
    assert reply.flag == 1 and "过大" in reply.content.decode()
    assert dev.is_closed()


def test_garbage_and_bad_tail_close_only_that_connection(site, gateway):
    gw = gateway()
    good = Device(gw.port, site["device_ids"][0])
    assert good.login().flag == 0
    garbage = Device(gw.port, "X")
    garbage.send_raw(b"GET / HTTP/1.1\r\n\r\n")
    assert garbage.is_closed()
    bad_tail = Device(gw.port, "Y")
    frame = bytearray(Frame(codec.CMD_HEARTBEAT, b"", bad_tail.session).encode())
    frame[-1] = 0x7E
    bad_tail.send_raw(bytes(frame))
    assert bad_tail.is_closed()
    assert good.heartbeat().flag == 0


def test_truncated_frame_then_silence_is_closed(site, gateway):
    gw = gateway(split_timeout=1.0)
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == 0
    dev.send_raw(Frame(codec.CMD_PUNCH, punch_content(1, now_local()), dev.session).encode()[:50])
    assert dev.is_closed(wait=5)


def test_removing_a_device_closes_its_live_connection_and_refuses_login(site, gateway, sdb, mongo_uri, db_name):
    from server.store import devices
    from support import run_async
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == 0
    oid = sdb.devices.find_one({"device_id": site["device_ids"][0]})["_id"]
    run_async(mongo_uri, db_name, lambda db: devices.set_status(db, oid, "removed"))
    assert dev.is_closed(wait=5)
    again = Device(gw.port, site["device_ids"][0])
    assert again.login().flag == 1


def test_login_on_another_gateway_takes_the_device_over(site, gateway, sdb):
    first_gw, second_gw = gateway(), gateway()
    first = Device(first_gw.port, site["device_ids"][0])
    assert first.login().flag == 0
    second = Device(second_gw.port, site["device_ids"][0])
    assert second.login().flag == 0
    assert first.is_closed(wait=5)
    assert second.heartbeat().flag == 0
    first_gw.settle(connections=0)
    doc = sdb.devices.find_one({"device_id": site["device_ids"][0]})
    assert doc["online"] is True and doc["gateway_id"] == second_gw.server.gateway_id
