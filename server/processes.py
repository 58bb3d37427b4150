"""Running the platform's processes together: database (when embedded), gateway, web; and the demo.

The gateway and web run as separate child processes so that nothing a browser does can delay a
device's acknowledgement (architecture.md). The parent only starts, watches and stops them.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from .config import Config
from .store.embedded import EmbeddedDatabase
from .store.launch import database_uri


def _child(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", *args], env=env, start_new_session=True)


def _stop_children(children: list[subprocess.Popen], timeout: float = 15.0) -> None:
    for proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in children:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_port(host: str, port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def wait_for_web(port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


class Platform:
    """Database + gateway + web as child processes, stopped in reverse order."""

    def __init__(self, config: Config):
        self.config = config
        self.children: list[subprocess.Popen] = []
        self._db_context = None
        self.uri = ""

    def start(self) -> "Platform":
        self._db_context = database_uri(self.config)
        self.uri = self._db_context.__enter__()
        env = dict(os.environ, MONGODB_URI=self.uri, REALNAME_ADMIN_TOKEN=self.config.admin_token)
        self.children = [_child(["gateway"], env), _child(["web"], env)]
        if not wait_for_port("127.0.0.1", self.config.gateway_port) or not wait_for_web(self.config.web_port):
            self.stop()
            raise SystemExit("网关或网页进程未能启动 (gateway or web did not come up); see the messages above.")
        return self

    def wait(self) -> int:
        stop = []
        # Both set explicitly: a process started in the background inherits SIGINT ignored.
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        try:
            while not stop:
                for proc in self.children:
                    if proc.poll() is not None:
                        print(f"child {proc.args[3:]} exited with {proc.returncode}; stopping", file=sys.stderr)
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        return 0

    def stop(self) -> None:
        _stop_children(self.children)
        self.children = []
        if self._db_context is not None:
            self._db_context.__exit__(None, None, None)
            self._db_context = None

    def banner(self) -> str:
        c = self.config
        lines = [
            "江门市智慧工地监管平台 — 实名制管理子系统 is running:",
            f"  database      {self.uri}" + ("" if c.mongodb_uri else f"   (embedded, data in {c.data_dir / 'db'})"),
            f"  device gateway tcp://127.0.0.1:{c.gateway_port}",
            f"  web / API     http://127.0.0.1:{c.web_port}/api/health",
            *token_lines(c, f"http://127.0.0.1:{c.web_port}/api/devices"),
        ]
        return "\n".join(lines)


def token_lines(config: Config, example_url: str) -> list[str]:
    """The admin token for the banner: shown only when this run generated it. One the operator set
    in the environment is a standing secret and stays out of logs and terminals."""
    if config.admin_token_generated:
        return [f"  admin token   {config.admin_token}   (generated for this run; set REALNAME_ADMIN_TOKEN to keep one)",
                f"  try: curl -H 'Authorization: Bearer {config.admin_token}' {example_url}"]
    return ["  admin token   from REALNAME_ADMIN_TOKEN (not shown)",
            f"  try: curl -H \"Authorization: Bearer $REALNAME_ADMIN_TOKEN\" {example_url}"]


def serve(config: Config) -> int:
    platform = Platform(config).start()
    print(platform.banner(), flush=True)
    try:
        return platform.wait()
    finally:
        platform.stop()


def run_database_only(config: Config) -> int:
    if config.mongodb_uri:
        print("MONGODB_URI is set: there is no embedded database to run.", file=sys.stderr)
        return 2
    with EmbeddedDatabase(config.data_dir, config.embedded_db_port) as db:
        print(f"embedded database ready: MONGODB_URI={db.uri}", flush=True)
        try:
            while db.process and db.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def demo(config: Config, *, devices: int) -> int:
    from .demo.seed import DEMO_VENDOR_CODE, DEMO_DEVICE_PREFIX

    started = time.monotonic()
    platform = Platform(config).start()
    env = dict(os.environ, MONGODB_URI=platform.uri, REALNAME_ADMIN_TOKEN=config.admin_token)
    sim = None
    try:
        if subprocess.run([sys.executable, "-m", "server.cli", "seed-demo"], env=env).returncode != 0:
            print("seed-demo failed", file=sys.stderr)
            return 1
        sim = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "simulate", "--devices", str(devices),
             "--gateway", f"127.0.0.1:{config.gateway_port}", "--vendor-code", DEMO_VENDOR_CODE,
             "--device-prefix", DEMO_DEVICE_PREFIX, "--forever", "--interval", "5", "--punches-per-device", "0"],
            env=env, start_new_session=True)
        print(platform.banner())
        print(f"  demo ready in {time.monotonic() - started:.0f} s; {devices} simulated devices are punching live.")
        from .demo.accounts_demo import DEMO_ACCOUNTS, DEMO_PASSWORD
        from .demo.suppliers_demo import SUPPLIERS
        print(f"  portal: http://127.0.0.1:{config.web_port}/   (captcha shown on the login page)")
        for username, _, _, purpose in DEMO_ACCOUNTS:
            print(f"    {purpose:<12} {username} / {DEMO_PASSWORD}")
        for username, name, *_ in SUPPLIERS:
            print(f"    供应商 {name}: {username} / {DEMO_PASSWORD}")
        print("\n".join(token_lines(config, f"http://127.0.0.1:{config.web_port}/api/projects/1/punches")[1:]))
        print("  Ctrl-C stops everything.", flush=True)
        return platform.wait()
    finally:
        if sim is not None:
            _stop_children([sim])
        platform.stop()
