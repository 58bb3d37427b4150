"""One person-from-ID-card rule set: the same bad card is refused for the same Chinese reason by 852
enrolment over TCP and by 人员库新增 (POST /api/people); what both record when sex or birth date
differ from the ID number; and what the audit log keeps when a device fetches a person (845)."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from stdnum.cn import ric

from server import synthetic
from server.device import codec
from server.device.codec import EnrollRequest, PersonRequest

from support import ADMIN_TOKEN, Device

PHOTO = synthetic.jpeg_photo(random.Random(4), target_bytes=6_000)


def card_request(number: str, **changes) -> EnrollRequest:
    fields = dict(id_number=number, name="陈大文", sex="1" if int(number[16]) % 2 else "0", nation="01",
                  birth_date=number[6:14], address="广东省江门市蓬江区白沙大道1号", authority="江门市公安局蓬江分局",
                  validity="2020.01.01-2040.01.01", id_photo=PHOTO, capture_photo=PHOTO)
    fields.update(changes)
    return EnrollRequest(**fields)


@pytest.fixture
def device(site, gateway):
    dev = Device(gateway().port, site["device_ids"][0])
    assert dev.login().flag == codec.FLAG_OK
    yield dev
    dev.close()


def with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def bad_cards():
    number = synthetic.id_number(random.Random(21))
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    return [
        ("id_number", dict(id_number=wrong_check)),
        ("id_number", dict(id_number=number[:17])),
        ("id_number", dict(id_number=with_check("44070319901301123"))),  # month 13
        ("name", dict(id_number=number, name="  ")),
        ("sex", dict(id_number=number, sex="9")),
        ("nation", dict(id_number=number, nation="77")),
    ]


@pytest.mark.parametrize("field, card", bad_cards(), ids=lambda v: v if isinstance(v, str) else "")
def test_same_bad_card_same_reason_on_the_device_and_the_api(device, web, sdb, field, card):
    reply = device.request(card_request(card["id_number"], **{k: v for k, v in card.items() if k != "id_number"}))
    assert reply.flag == codec.FLAG_FAIL
    on_device = codec.decode_reply(codec.CMD_ENROLL, reply.content)
    body = {"name": "陈大文", "sex": "", "nation": "01", **card}
    status, refused, _ = web.request("POST", "/api/people", body, token=ADMIN_TOKEN)
    assert status == 400 and refused["field"] == field, refused
    # The API names the field in `field`; its message is the device's reason, whole (it fits the
    # 30-byte reason field, nothing was cut).
    assert on_device.result == 1 and on_device.reason, on_device
    assert refused["message"] == on_device.reason, (on_device, refused)
    assert len(on_device.reason.encode()) < 30
    assert sdb.people.count_documents({"id_number": card["id_number"]}) == 0


def test_enrolment_whose_sex_differs_from_the_id_number_is_kept_with_a_warning(device, web, sdb):
    rng = random.Random(31)
    differing, matching = (synthetic.id_number(rng, birth_year_range=(1995, 2004)) for _ in range(2))
    id_sex = "1" if int(differing[16]) % 2 else "0"
    other = "0" if id_sex == "1" else "1"

    reply = device.request(card_request(differing, sex=other))
    assert reply.flag == codec.FLAG_OK
    assert codec.decode_reply(codec.CMD_ENROLL, reply.content) == codec.EnrollReply(0, "")
    person = sdb.people.find_one({"id_number": differing})
    assert person["id_warnings"] == ["sex_differs_from_id"]
    assert person["sex"] == id_sex  # the number decides, the differing card value is the warning

    assert device.request(card_request(matching)).flag == codec.FLAG_OK
    assert sdb.people.find_one({"id_number": matching})["id_warnings"] == []

    # The portal's 人员库新增 records the same warning for the same difference.
    typed = synthetic.id_number(rng, birth_year_range=(1995, 2004))
    typed_other = "女" if int(typed[16]) % 2 else "男"
    status, created, _ = web.request("POST", "/api/people", {"id_number": typed, "name": "李四", "sex": typed_other},
                                     token=ADMIN_TOKEN)
    assert status == 201 and created["id_warnings"] == ["sex_differs_from_id"], created


def test_a_device_fetching_a_person_is_audited_with_who_what_and_no_id_number(device, site, sdb):
    worker = site["workers"][2]
    before = dt.datetime.now(dt.timezone.utc)
    reply = device.request(PersonRequest(device.device_id, worker["id_number"]))
    assert reply.flag == codec.FLAG_OK
    returned = codec.decode_reply(codec.CMD_PERSON, reply.content)
    assert returned.id_number == worker["id_number"] and len(returned.capture_photo) == site["photo_len"]

    entries = list(sdb.audit_log.find({"action": "device_person_fetch"}, {"_id": 0}))
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor"] == f"device:TESTVENDOR/{device.device_id}"
    assert entry["target"] == {"worker_no": worker["worker_no"]}
    # What left the platform unmasked: the full ID number and the photos, for the device's project.
    assert entry["detail"] == {"project_id": site["project_id"], "unmasked": ["id_number", "photos"]}
    assert before - dt.timedelta(seconds=1) <= entry["at"] <= dt.datetime.now(dt.timezone.utc)
    # The log names the person by worker number only: it never holds the ID number itself.
    assert worker["id_number"] not in repr(entry)

    # A refused fetch (not entered on this project) returns nothing and records nothing.
    assert device.request(PersonRequest(device.device_id, synthetic.id_number(random.Random(5)))).flag == 1
    assert sdb.audit_log.count_documents({"action": "device_person_fetch"}) == 1
