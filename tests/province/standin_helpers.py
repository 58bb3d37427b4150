"""The stand-in served on a free port inside the test's event loop, and raw form posts to it."""
from __future__ import annotations

import contextlib
import json
import random
import urllib.parse

from tornado.httpclient import AsyncHTTPClient

from server import synthetic
from server.province import standin
from server.province.client import Credentials

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
