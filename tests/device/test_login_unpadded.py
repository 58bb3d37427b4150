"""843 from device implementations that send the vendor code and device id unpadded (issue 9 item 13):
matched against the registered devices, counted, refused when two registered devices read alike."""
from __future__ import annotations

from server.device import codec
from server.store import devices as device_store

from support import VENDOR, Device, device_counts, run_async


def login_raw(dev: Device, content: bytes):
    return dev.request(command=codec.CMD_LOGIN, content=content)


def with_checksum(body: bytes) -> bytes:
    return body + bytes((codec.xor_checksum(body),))


def test_unpadded_codes_log_in_and_are_counted(site, gateway, sdb):
    gw = gateway()
    device_id = site["device_ids"][0]
    joined = (VENDOR + device_id).encode()

    with_sum = Device(gw.port, device_id)
    reply = login_raw(with_sum, with_checksum(joined))
    assert (reply.flag, reply.content) == (codec.FLAG_OK, b"")
    assert with_sum.heartbeat().flag == codec.FLAG_OK  # logged in as that device
    assert sdb.devices.find_one({"device_id": device_id})["online"] is True
    with_sum.close()

    without_sum = Device(gw.port, device_id)
    assert login_raw(without_sum, joined).flag == codec.FLAG_OK
    assert without_sum.heartbeat().flag == codec.FLAG_OK

    padded = Device(gw.port, device_id)  # the standard form still logs in, and is not counted as unpadded
    assert padded.login().flag == codec.FLAG_OK
    gw.flush()
    counts = device_counts(sdb, device_id)
    assert counts.get("login_unpadded") == 2 and counts.get("ok_843") == 3, counts
    padded.close()
    without_sum.close()

    stranger = Device(gw.port, "NOPE")
    refused = login_raw(stranger, with_checksum((VENDOR + "DEV-9999").encode()))
    assert refused.flag == codec.FLAG_FAIL and "未注册" in refused.content.decode()
    assert stranger.heartbeat().content.decode() == "设备未登录"
    stranger.close()


def test_unpadded_login_matching_two_devices_is_refused_and_the_padded_form_tells_them_apart(site, gateway,
                                                                                             mongo_uri, db_name):
    async def register(db):
        for vendor, device in (("AB", "CDE"), ("ABC", "DE")):
            await device_store.register(db, project_id=site["project_id"], vendor_code=vendor, device_id=device)
    run_async(mongo_uri, db_name, register)
    gw = gateway()
    dev = Device(gw.port, "DE", vendor="ABC")
    refused = login_raw(dev, with_checksum(b"ABCDE"))
    assert refused.flag == codec.FLAG_FAIL and "32" in refused.content.decode()
    assert dev.login().flag == codec.FLAG_OK  # padded: vendor ABC, device DE
    dev.close()


def test_sixty_three_unpadded_characters_and_a_checksum_log_in(site, gateway, mongo_uri, db_name):
    # 64 bytes, the size of the padded layout without its checksum: read both ways.
    vendor, device = "V" * 32, "D" * 31
    run_async(mongo_uri, db_name, lambda db: device_store.register(
        db, project_id=site["project_id"], vendor_code=vendor, device_id=device))
    dev = Device(gateway().port, device, vendor=vendor)
    content = with_checksum((vendor + device).encode())
    assert len(content) == codec.LOGIN_PADDED_SIZE
    assert login_raw(dev, content).flag == codec.FLAG_OK
    assert dev.heartbeat().flag == codec.FLAG_OK
    dev.close()


def test_registration_says_which_form_a_device_must_send():
    short = device_store.login_forms("ACME", "GATE-01")
    assert "32 字节" in short and "ACMEGATE-01" in short and "11 字节" in short
    full = device_store.login_forms("V" * 32, "D" * 32)
    assert "32 字节" in full and "不补齐" not in full


def test_every_split_of_an_unpadded_login_is_a_candidate():
    readings = codec.unpadded_logins(with_checksum(b"ACMEGATE-01"))
    assert codec.LoginRequest("ACME", "GATE-01") in readings
    assert {(r.vendor_code + r.device_id) for r in readings} <= {"ACMEGATE-01", "ACMEGATE-01" + chr(
        codec.xor_checksum(b"ACMEGATE-01"))}
    strict = codec.unpadded_logins(b"ACMEGATE-01", strict_checksum=True)
    assert codec.LoginRequest("ACME", "GATE-01") not in strict
