"""The stand-in served on a free port inside the test's event loop or as its own process, raw form posts
to it, and the project the pipeline tests upload."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import subprocess
import sys
import urllib.parse
import urllib.request

from tornado.httpclient import AsyncHTTPClient

from server import synthetic
from server.domain.site_clock import SITE_TZ
from server.province import standin
from server.province.client import Credentials
from server.store import contracts, devices, workforce
from server.store import punches as punch_store

from support import build_site

APPID = "jm-app-001"
SECRET = "jm2026sEcReT0123456789abcdef"
PROJECT_CODE = "44070320260001"
CREDS = Credentials(APPID, SECRET)


@contextlib.asynccontextmanager
async def running_standin(**options):
    state = standin.PlatformState(**options)
    state.add_app(APPID, SECRET, PROJECT_CODE)
    server = standin.make_app(state).listen(0, address="127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    try:
        yield state, f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def post_form(base: str, form: dict) -> dict:
    response = await AsyncHTTPClient().fetch(base + "/api", method="POST", body=urllib.parse.urlencode(form))
    return json.loads(response.body)


async def control(base: str, path: str, body: dict | None = None) -> dict:
    if body is None:
        response = await AsyncHTTPClient().fetch(base + path)
    else:
        response = await AsyncHTTPClient().fetch(base + path, method="POST", body=json.dumps(body))
    return json.loads(response.body)


def valid_ids(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [synthetic.id_number(rng) for _ in range(n)]


def credit_code(seed: int = 5) -> str:
    return synthetic.credit_code(random.Random(seed))


class StandinProcess:
    """`realname province-sim` as its own process on a free port (it prints the address it took)."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "province-sim", "--port", "0", "--app", f"{APPID}:{SECRET}:{PROJECT_CODE}",
             *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()   # the first line, or '' when it died before listening
        assert "listening on" in line, f"province-sim did not start: {line!r}"
        self.api = line.split()[-1]
        self.base = self.api.rsplit("/", 1)[0]

    def control(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.base + path, data=data), timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.proc.stdout.close()


async def arrange_upload_site(db) -> dict:
    """A project with credentials: a unit, two teams, four workers (one exited), a contract, eight punches
    and one test-environment punch (never sent)."""
    site = await build_site(db, workers=4)
    pid = site["project_id"]
    await db.projects.update_one({"_id": pid}, {"$set": {"province": {
        "appid": APPID, "appsecret": SECRET, "project_code": PROJECT_CODE}}})
    await devices.register(db, project_id=pid, vendor_code="V", device_id="D")   # the device the punches come from
    now = dt.datetime.now(dt.timezone.utc)
    punches = []
    for n, worker in enumerate(site["workers"]):
        for k in range(2):
            moment = (now - dt.timedelta(minutes=30 - 10 * k - n)).astimezone(SITE_TZ)
            punches.append({"_id": f"V|D|{worker['worker_no']}|{k}", "project_id": pid, "vendor_code": "V",
                            "device_id": "D", "worker_no": worker["worker_no"], "device_time": moment,
                            "date": moment.date().isoformat(), "received_at": now, "mode": 6, "photo_len": 0,
                            "flags": [], "test": False})
    test_punch = dict(punches[0], _id="V|D|test", test=True)
    await punch_store.store(db, punches + [test_punch])
    first = site["workers"][0]["worker_no"]
    await contracts.register(db, project={"_id": pid, "name": "江门市测试项目"}, worker_no=first,
                             effective=now.astimezone(SITE_TZ).date(), expiry=now.astimezone(SITE_TZ).date() + dt.timedelta(days=180),
                             term_type="固定期限",
                             pay_unit="按天", unit_price=300, scan=b"%PDF-1.4 test", actor="test")
    await workforce.exit_person(db, project_id=pid, worker_no=site["workers"][3]["worker_no"])
    return {**site, "punches": [p["_id"] for p in punches]}
