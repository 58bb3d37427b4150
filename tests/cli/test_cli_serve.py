"""`realname serve`: database, gateway, web and dashboards come up together and all stop on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil

from server.store.embedded import free_port

from support import Device


def test_serve_starts_everything_and_stops_everything(tmp_path):
    env = dict(os.environ, REALNAME_DATA_DIR=str(tmp_path), REALNAME_EMBEDDED_DB_PORT=str(free_port()),
               REALNAME_GATEWAY_PORT=str(free_port()), REALNAME_WEB_PORT=str(free_port()),
               REALNAME_ADMIN_TOKEN="serve-test-token", REALNAME_GATEWAY_HOST="127.0.0.1",
               REALNAME_WEB_HOST="127.0.0.1", REALNAME_DASH_PORT=str(free_port()))
    env.pop("MONGODB_URI", None)
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        deadline = time.monotonic() + 90
        while "admin token" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, banner
            banner += line
        # A token set in the environment is the operator's standing secret: never printed (issue 9).
        assert "serve-test-token" not in banner and "REALNAME_ADMIN_TOKEN (not shown)" in banner, banner
        # The banner says where the processes listen (here loopback only, as set above).
        assert f"listens on 127.0.0.1:{env['REALNAME_GATEWAY_PORT']} only" in banner, banner
        assert f"listens on 127.0.0.1:{env['REALNAME_WEB_PORT']} only" in banner, banner
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 4  # database, gateway, web, dashboards
        with urllib.request.urlopen(f"http://127.0.0.1:{env['REALNAME_WEB_PORT']}/api/health", timeout=5) as resp:
            assert json.loads(resp.read())["database"] == "ok"
        device = Device(int(env["REALNAME_GATEWAY_PORT"]), "NOBODY")
        assert device.login().flag == 1  # the gateway answers, from the same database
        device.close()
        assert (tmp_path / "db").is_dir()
        # The dashboards child answers through the web process, both keyed by the secret generated once.
        assert _dashboards_through_web(int(env["REALNAME_WEB_PORT"]), "serve-test-token")
        assert (tmp_path / "forward_secret").stat().st_mode & 0o777 == 0o600

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()


def _dashboards_through_web(port: int, token: str, timeout: float = 60) -> bool:
    """The dashboards process may still be importing Dash when the web answers: poll until it does."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/dash/", headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return "_dash-config" in resp.read().decode()
        except urllib.error.HTTPError as exc:
            assert exc.code == 502, exc.code  # only "not up yet" is worth waiting for
        time.sleep(0.3)
    return False
