"""Payload builders on small records: fields, encrypted ID numbers, codes, directions, batches, order."""
from __future__ import annotations

import datetime as dt
import random

from server.domain.site_clock import SITE_TZ, site_time_text
from server.province import codes, payloads, signing
from server.store import uploads

from standin_helpers import PROJECT_CODE, SECRET, credit_code, valid_ids

UTC = dt.timezone.utc
ENTERPRISE = {"credit_code": credit_code(), "name": "江门市某某建筑工程有限公司"}


def test_unit_payload_maps_the_type_and_encrypts_the_manager_number():
    number = valid_ids(1)[0]
    unit = {"unit_type": "施工总承包单位", "created_at": dt.datetime(2026, 3, 1, 20, tzinfo=UTC),
            "manager_name": "张三", "manager_id_number": number}
    p = payloads.unit_payload(PROJECT_CODE, unit, ENTERPRISE, SECRET)
    assert p["corpType"] == "009" and p["corpCode"] == ENTERPRISE["credit_code"]
    assert p["entryTime"] == "2026-03-02"  # 20:00 UTC is the next day in Jiangmen
    assert p["pmIDCardNumber"] != number and signing.decrypt(p["pmIDCardNumber"], SECRET) == number
    assert "exitTime" not in p
    assert payloads.unit_payload(PROJECT_CODE, {**unit, "unit_type": "监理单位"}, ENTERPRISE, SECRET)["corpType"] == "007"
    assert payloads.unit_payload(PROJECT_CODE, {**unit, "unit_type": "建设单位"}, ENTERPRISE, SECRET)["corpType"] == "008"
    assert codes.corp_type("某种新单位") == codes.CORP_TYPE_OTHER


def test_every_unit_type_has_a_corp_type():
    from server.domain import vocabulary
    assert set(vocabulary.UNIT_TYPES) <= set(codes.CORP_TYPE_BY_UNIT_TYPE)


def test_worker_payload_role_photo_and_team():
    number = valid_ids(1)[0]
    person = {"name": "李四", "id_number": number, "sex": "1", "nation": "01"}
    worker = payloads.worker_payload(PROJECT_CODE, {"job": "普通工人"}, person, ENTERPRISE, 100001, b"\xff\xd8jpeg", SECRET)
    row = worker["workerList"][0]
    assert worker["teamSysNo"] == 100001 and row["workRole"] == "20" and row["idCardType"] == "01"
    assert signing.decrypt(row["idCardNumber"], SECRET) == number and row["headImage"] == "/9hqcGVn"
    manager = payloads.worker_payload(PROJECT_CODE, {"job": "项目经理"}, person, ENTERPRISE, 100001, b"", SECRET)
    assert manager["workerList"][0]["workRole"] == "10" and "headImage" not in manager["workerList"][0]


def test_entry_exit_events_and_contract():
    entry = {"entry_date": dt.datetime(2026, 5, 3, 16, tzinfo=UTC), "exit_date": None}
    assert payloads.entry_exit_events(entry) == [("in", "1", "2026-05-04")]
    left = {**entry, "exit_date": dt.datetime(2026, 6, 1, 16, tzinfo=UTC)}
    assert payloads.entry_exit_events(left) == [("in", "1", "2026-05-04"), ("out", "0", "2026-06-02")]
    number = valid_ids(1)[0]
    contract = {"term_type": "固定期限", "pay_unit": "按天", "unit_price": 350.0,
                "effective_date": dt.datetime(2026, 5, 3, 16, tzinfo=UTC), "expiry_date": None,
                "created_at": dt.datetime(2026, 5, 4, 2, tzinfo=UTC)}
    row = payloads.contract_payload(PROJECT_CODE, contract, {"id_number": number}, ENTERPRISE, SECRET)["contractList"][0]
    assert (row["contractPeriodType"], row["unit"], row["startDate"], row["signDate"]) == ("0", "2", "2026-05-04", "2026-05-04")
    assert "endDate" not in row


def _punch(pid, worker_no, hour, *, test=False, day="2026-06-02"):
    return {"_id": pid, "worker_no": worker_no, "date": day, "test": test,
            "device_time": dt.datetime(2026, 6, 2, hour, tzinfo=UTC) - dt.timedelta(hours=8)}


def test_directions_first_punch_of_the_day_in_later_ones_out():
    punches = [_punch("c", 1, 18), _punch("a", 1, 7), _punch("b", 1, 12), _punch("d", 2, 9)]
    assert payloads.directions(punches) == {"a": "01", "b": "02", "c": "02", "d": "01"}


def test_attendance_batches_split_by_team_and_size_and_never_send_test_punches():
    ids = valid_ids(3)
    people = {n: {"id_number": ids[n - 1]} for n in (1, 2, 3)}
    punches = [_punch(f"p{i}", 1 + i % 2, 6 + i) for i in range(5)] + [_punch("t", 1, 7, test=True), _punch("w", 3, 8)]
    teams = {1: 100001, 2: 100002}  # worker 3 has no teamSysNo yet: its punch waits
    batches = payloads.attendance_batches(PROJECT_CODE, punches, people, teams, payloads.directions(punches), SECRET, 2)
    sent = [ids_ for _p, ids_ in batches]
    assert sent == [["p0", "p2"], ["p4"], ["p1", "p3"]]
    assert [p["teamSysNo"] for p, _ in batches] == [100001, 100001, 100002]
    first = batches[0][0]["dataList"][0]
    assert first["date"] == "2026-06-02 06:00:00" and first["direction"] == "01"
    assert signing.decrypt(first["idCardNumber"], SECRET) == ids[0]


def test_order_puts_every_dependency_first():
    for kind, needs in payloads.DEPENDS_ON.items():
        assert all(payloads.rank(n) < payloads.rank(kind) for n in needs)
    assert payloads.ORDER.index("team") < payloads.ORDER.index("worker") < payloads.ORDER.index("attendance")
    assert payloads.content_hash({"a": 1, "b": 2}) == payloads.content_hash({"b": 2, "a": 1})


def test_site_times_and_packed_times_are_those_of_the_plain_arithmetic():
    # Both are written for speed (once per punch sent); held here to strftime in site time and to timedelta
    # division, for moments of 1653–3237 (four-digit years, which strftime pads the same everywhere).
    rng = random.Random(7)
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    for _ in range(20_000):
        moment = epoch + dt.timedelta(microseconds=rng.randrange(-10**16, 4 * 10**16))
        for value in (moment, moment.replace(tzinfo=None), moment.astimezone(SITE_TZ)):
            aware = value.replace(tzinfo=value.tzinfo or UTC)
            assert site_time_text(value) == aware.astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M:%S")
            assert uploads._epoch_ms(value) == (aware - epoch) // dt.timedelta(milliseconds=1)
    assert site_time_text(None) == ""
    items = [{"punch_id": "p", "worker_no": 1, "time": dt.datetime(2026, 12, 3, 1, 2, 3, 456789, tzinfo=UTC), "direction": "01"}]
    back = uploads.items_of({"packed_items": uploads.pack_items(items)})[0]["time"]
    assert back == dt.datetime(2026, 12, 3, 1, 2, 3, 456000, tzinfo=UTC)   # milliseconds, as BSON keeps them
