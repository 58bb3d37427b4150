"""The gateway process killed with SIGKILL under load, restarted, devices re-send: nothing acknowledged is lost."""
from __future__ import annotations

import asyncio
import collections
import threading
import time

from pymongo import MongoClient

from server.simulator import FleetOptions, run_fleet
from server.domain.site_clock import SITE_TZ

from support import VENDOR, build_site, run_async


def test_sigkill_mid_load_loses_no_acknowledged_punch(gateway_process, mongo_uri, db_name):
    run_async(mongo_uri, db_name, lambda db: build_site(db, workers=10, devices=20))
    gw = gateway_process()
    options = FleetOptions(gateway_host="127.0.0.1", gateway_port=gw.port, devices=20, punches_per_device=60,
                           vendor_code=VENDOR, device_prefix="DEV-", first_device=1, interval=0.02,
                           enroll_per_device=1, fetch_faces=1, connect_spread=0.5, timeout=60,
                           progress=False, record_acks=True, seed=9)
    result = {}
    fleet = threading.Thread(target=lambda: result.update(summary=asyncio.run(run_fleet(options))), daemon=True)
    fleet.start()

    client = MongoClient(mongo_uri, tz_aware=True)
    punches = client[db_name].punches
    deadline = time.monotonic() + 60
    while punches.count_documents({}) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    stored_at_kill = punches.count_documents({})
    assert stored_at_kill >= 300, "the load never got going"
    gw.kill()
    time.sleep(1.0)
    gateway_process(port=gw.port)  # a new process on the same port; devices reconnect and re-send
    fleet.join(120)
    assert not fleet.is_alive(), "the fleet did not finish"
    summary = result["summary"]

    assert summary.gave_up == 0 and summary.lost() == 0, summary.as_text()
    assert summary.refused == 0, summary.refusals
    assert summary.reconnects >= 20  # every device lost its connection at the kill
    assert stored_at_kill < summary.acknowledged == summary.sent == 20 * 60

    stored = collections.Counter(
        (p["device_id"], p["worker_no"], p["device_time"].astimezone(SITE_TZ).replace(tzinfo=None))
        for p in punches.find({}, {"device_id": 1, "worker_no": 1, "device_time": 1}))
    acked = collections.Counter(summary.acked_punches)
    assert max(acked.values()) == 1
    assert all(stored[key] == 1 for key in acked), "an acknowledged punch is missing or stored twice"
    assert set(stored) == set(acked)
    client.close()
