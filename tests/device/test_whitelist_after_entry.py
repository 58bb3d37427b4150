"""People entered or exited through the API reach the devices at once: the whitelist (849) lists
them on the next request, and the gateway's cached roster for the punch check (848) follows the
roster_changes stamp instead of waiting for its time-to-live. Real HTTP, real TCP, real database."""
from __future__ import annotations

import datetime as dt
import random
import time

from server import synthetic
from server.device import codec
from server.device.codec import WhitelistRequest
from support import ADMIN_TOKEN, Device, now_local


def whitelist(device) -> set[int]:
    reply = device.request(WhitelistRequest(0, 0))
    assert reply.flag == codec.FLAG_OK
    return {r.worker_no for r in codec.decode_reply(codec.CMD_WHITELIST, reply.content).records}


def test_entered_person_is_whitelisted_and_may_punch_at_once_and_exit_follows(site, gateway, web, sdb):
    gw = gateway()
    device = Device(gw.port, site["device_ids"][0])
    assert device.login().flag == codec.FLAG_OK
    pid = site["project_id"]
    start = now_local() - dt.timedelta(minutes=5)
    # A punch of someone already entered: the gateway now holds this project's roster in its cache.
    assert device.punch(site["workers"][0]["worker_no"], start).flag == codec.FLAG_OK

    status, person, _ = web.request("POST", "/api/people", {
        "id_number": synthetic.id_number(random.Random(77)), "name": "新进场"}, token=ADMIN_TOKEN)
    assert status == 201, person
    newcomer = person["worker_no"]
    assert newcomer not in whitelist(device)
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster", {
        "worker_no": newcomer, "team_id": str(site["team_id"]), "job": "木工"}, token=ADMIN_TOKEN)
    assert status == 200 and body["entered"] == 1, body

    assert newcomer in whitelist(device)
    # Well within the cache's one-second miss interval: accepted because the roster's stamp moved.
    reply = device.punch(newcomer, start + dt.timedelta(seconds=1))
    assert reply.flag == codec.FLAG_OK, reply.content.decode()
    assert sdb.punches.count_documents({"worker_no": newcomer}) == 1

    leaving = site["workers"][1]["worker_no"]
    assert device.punch(leaving, start + dt.timedelta(seconds=2)).flag == codec.FLAG_OK  # cached as entered
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster/exit", {"worker_nos": [leaving]},
                                  token=ADMIN_TOKEN)
    assert status == 200 and body["exited"] == 1, body
    assert leaving not in whitelist(device)
    # The cache polls roster_changes about once a second (its ttl is 30 s): the exit is seen in time.
    time.sleep(1.2)
    reply = device.punch(leaving, start + dt.timedelta(seconds=3))
    assert reply.flag == codec.FLAG_FAIL and "未进场" in reply.content.decode()
    device.close()


def test_roster_cache_forgets_changed_projects_and_rereads_on_a_stamped_miss(site, mongo_uri, db_name):
    from server.store import roster, roster_entries
    from support import run_async

    pid = site["project_id"]
    first = site["workers"][0]["worker_no"]

    async def job(db):
        cache = roster.CurrentRosterCache(db, ttl=1000, miss_interval=1000, poll_interval=1.0)
        assert await cache.entered({(pid, first)}, now=0.0) == {(pid, first)}
        await roster_entries.exit_person(db, project_id=pid, worker_no=first)
        held = await cache.entered({(pid, first)}, now=0.5)      # within the poll interval: the copy stands
        forgot = await cache.entered({(pid, first)}, now=100.0)  # the poll sees the stamp move (long after)
        await db.roster.update_one({"worker_no": first, "project_id": pid}, {"$set": {"exit_date": None}})
        # Re-entered without a stamp (by hand): the miss is not re-read within miss_interval...
        unstamped = await cache.entered({(pid, first)}, now=100.2)
        await roster.mark_changed(db, [pid])
        # ...but once stamped, a miss re-reads at once, well within the poll interval.
        stamped = await cache.entered({(pid, first)}, now=100.3)
        return held, forgot, unstamped, stamped
    held, forgot, unstamped, stamped = run_async(mongo_uri, db_name, job)
    assert held == {(pid, first)} and forgot == set() and unstamped == set() and stamped == {(pid, first)}
