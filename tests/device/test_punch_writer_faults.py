"""A batch of punches that fails — the database refusing it, or anything else: every waiting device gets a
refusal (Flag 1, nothing acknowledged), and the punches that come after are written as usual."""
from __future__ import annotations

import datetime as dt

from server.device import codec
from server.store import punches

from support import Device, now_local


def test_non_database_error_in_a_batch_refuses_its_punches_and_the_writer_keeps_running(site, gateway, sdb,
                                                                                      monkeypatch):
    real_photo_doc = punches.photo_doc
    failures = []

    def photo_doc_failing_once(*args, **kwargs):
        # A fault inside the real write path, for the first batch only.
        if not failures:
            failures.append(kwargs.get("_id"))
            raise RuntimeError("injected: not a database error")
        return real_photo_doc(*args, **kwargs)

    monkeypatch.setattr(punches, "photo_doc", photo_doc_failing_once)
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0], timeout=30)
    assert dev.login().flag == codec.FLAG_OK
    worker = site["workers"][0]["worker_no"]
    first_time = now_local() - dt.timedelta(minutes=5)

    refused = dev.punch(worker, first_time)
    assert refused.flag == codec.FLAG_FAIL and refused.content.decode() == punches.BATCH_FAILED.message
    assert len(failures) == 1 and sdb.punches.count_documents({}) == 0 and sdb.photos.count_documents(
        {"kind": "punch"}) == 0

    later = dev.punch(worker, first_time + dt.timedelta(minutes=1))
    assert later.flag == codec.FLAG_OK
    resent = dev.punch(worker, first_time)  # the device re-sends what was not acknowledged
    assert resent.flag == codec.FLAG_OK
    stored = sorted(d["device_time"] for d in sdb.punches.find({"worker_no": worker}))
    assert [t.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None) for t in stored] == [
        first_time, first_time + dt.timedelta(minutes=1)]
    assert all(d["resends"] == 0 for d in sdb.punches.find({"worker_no": worker}))
    assert dev.heartbeat().flag == codec.FLAG_OK  # the connection stayed up throughout
    dev.close()


def test_database_refusing_a_batch_refuses_its_punches_and_the_writer_keeps_running(site, gateway, sdb):
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0], timeout=30)
    assert dev.login().flag == codec.FLAG_OK
    refused_worker, other_worker = (w["worker_no"] for w in site["workers"][:2])
    first_time = now_local() - dt.timedelta(minutes=5)
    # A real database error: the server's validator refuses one worker's punches for a while.
    validator = sdb.command("listCollections", filter={"name": "punches"})["cursor"]["firstBatch"][0][
        "options"]["validator"]
    sdb.command("collMod", "punches", validator={"$and": [validator, {"worker_no": {"$ne": refused_worker}}]})

    refused = dev.punch(refused_worker, first_time)
    assert refused.flag == codec.FLAG_FAIL and refused.content.decode() == punches.BATCH_FAILED.message
    assert sdb.punches.count_documents({}) == 0
    later = dev.punch(other_worker, first_time)  # the next batch, on the same connection
    assert later.flag == codec.FLAG_OK

    sdb.command("collMod", "punches", validator=validator)
    resent = dev.punch(refused_worker, first_time)  # the device re-sends what was not acknowledged
    assert resent.flag == codec.FLAG_OK
    assert dev.heartbeat().flag == codec.FLAG_OK  # the connection stayed up throughout
    for worker in (refused_worker, other_worker):
        stored = list(sdb.punches.find({"worker_no": worker}))
        assert len(stored) == 1 and stored[0]["resends"] == 0, (worker, stored)
    dev.close()
