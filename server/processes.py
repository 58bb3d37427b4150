"""Running the platform's processes together: database (when embedded), gateway, web, worker; and the demo.

The gateway, web and worker run as separate child processes so that nothing a browser or a job
does can delay a device's acknowledgement (architecture.md). The parent starts and supervises
them: a child that dies is restarted with a growing delay while the others keep running, each
restart is logged and written to $REALNAME_DATA_DIR/processes.json (shown by /api/health), and
only a crash loop — REALNAME_RESTART_LIMIT restarts of one child within
REALNAME_RESTART_WINDOW_SECONDS — stops the platform, saying which child and why.
"""
from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from .config import Config
from .process_status import REFRESH_SECONDS, clear_status, write_status
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


FIRST_DELAY, MAX_DELAY = 0.5, 30.0
CHILDREN = ("gateway", "web", "worker", "dashboards")


def _now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class _Child:
    """One supervised child: its process, when it may next be started, and its recent restarts."""

    def __init__(self, name: str, env: dict):
        self.name, self.env = name, env
        self.proc: subprocess.Popen | None = None
        self.restarts: collections.deque[float] = collections.deque()
        self.total_restarts = 0
        self.start_at: float | None = None
        self.last_exit: dict | None = None

    def start(self) -> None:
        self.proc = _child([self.name], self.env)
        self.start_at = None

    def view(self) -> dict:
        running = self.proc is not None and self.proc.poll() is None
        return {"state": "running" if running else "restarting", "pid": self.proc.pid if running else None,
                "restarts": self.total_restarts, "last_exit": self.last_exit}


class Platform:
    """Database + gateway + web + worker as child processes, supervised, stopped in reverse order."""

    def __init__(self, config: Config):
        self.config = config
        self.supervised: list[_Child] = []
        self._db_context = None
        self.uri = ""

    def start(self) -> "Platform":
        self._db_context = database_uri(self.config)
        self.uri = self._db_context.__enter__()
        env = dict(os.environ, MONGODB_URI=self.uri, REALNAME_ADMIN_TOKEN=self.config.admin_token)
        self.supervised = [_Child(name, env) for name in CHILDREN]
        for child in self.supervised:
            child.start()
        if not wait_for_port("127.0.0.1", self.config.gateway_port) or not wait_for_web(self.config.web_port):
            self.stop()
            raise SystemExit("网关或网页进程未能启动 (gateway or web did not come up); see the messages above.")
        self._write_status()
        return self

    def wait(self) -> int:
        stop = []
        # Both set explicitly: a process started in the background inherits SIGINT ignored.
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        written = time.monotonic()
        try:
            while not stop:
                changed = False
                for child in self.supervised:
                    outcome = self._supervise(child)
                    if outcome == "crash loop":
                        return 1
                    changed = changed or outcome == "changed"
                if changed or time.monotonic() - written > REFRESH_SECONDS:
                    self._write_status()
                    written = time.monotonic()
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        return 0

    def _supervise(self, child: _Child) -> str:
        now = time.monotonic()
        if child.start_at is not None:
            if now < child.start_at:
                return ""
            child.start()
            print(f"supervisor: {child.name} restarted (pid {child.proc.pid}, restart {child.total_restarts})",
                  file=sys.stderr, flush=True)
            return "changed"
        code = child.proc.poll()
        if code is None:
            return ""
        child.last_exit = {"code": code, "at": _now_text()}
        window = self.config.restart_window_seconds
        while child.restarts and now - child.restarts[0] > window:
            child.restarts.popleft()
        if len(child.restarts) >= self.config.restart_limit:
            print(f"supervisor: {child.name} exited with {code} after {len(child.restarts)} restarts within "
                  f"{window:g} s — a crash loop; stopping the platform. 子进程 {child.name} 反复退出"
                  f"（{window:g} 秒内重启 {len(child.restarts)} 次），平台已停止，请查看上方日志。",
                  file=sys.stderr, flush=True)
            return "crash loop"
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** len(child.restarts))
        child.restarts.append(now)
        child.total_restarts += 1
        child.start_at = now + delay
        print(f"supervisor: {child.name} (pid {child.proc.pid}) exited with {code}; restarting in {delay:g} s; "
              "the other processes keep running", file=sys.stderr, flush=True)
        return "changed"

    def _write_status(self) -> None:
        write_status(self.config, {c.name: c.view() for c in self.supervised})

    def stop(self) -> None:
        _stop_children([c.proc for c in self.supervised if c.proc is not None])
        self.supervised = []
        clear_status(self.config)
        if self._db_context is not None:
            self._db_context.__exit__(None, None, None)
            self._db_context = None

    def banner(self) -> str:
        c = self.config
        lines = [
            "江门市智慧工地监管平台 — 实名制管理子系统 is running:",
            f"  database      {self.uri}" + ("" if c.mongodb_uri else f"   (embedded, data in {c.data_dir / 'db'})"),
            f"  device gateway tcp://127.0.0.1:{c.gateway_port}   {_listening(c.gateway_host, c.gateway_port)}",
            f"  web / API     http://127.0.0.1:{c.web_port}/api/health   {_listening(c.web_host, c.web_port)}",
            f"  dashboards    http://127.0.0.1:{c.web_port}/dash/   (supervisors and analysts, after login)",
            "  worker        background jobs (Excel imports, mail retry, 上传省厅, rollups); restarts shown by /api/health",
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
def _listening(host: str, port: int) -> str:
    """Where a process listens, beside the local address the banner offers to try."""
    if host in ("0.0.0.0", "::", ""):
        return f"(listens on {host or '0.0.0.0'}:{port}: every interface, reachable from other machines)"
    return f"(listens on {host}:{port} only)"


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
    # The stand-in of the provincial platform first: every child (the worker's upload passes, seed-demo)
    # is pointed at it through REALNAME_PROVINCE_URL.
    province = subprocess.Popen([sys.executable, "-m", "server.cli", "province-sim", "--port", "0"],
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
    line = province.stdout.readline()
    if "listening on" not in line:
        _stop_children([province])
        print("province-sim did not start", file=sys.stderr)
        return 1
    os.environ["REALNAME_PROVINCE_URL"] = province_url = line.rsplit(" ", 1)[1].strip()
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
        print(f"  上传省厅: the stand-in realname province-sim at {province_url}; results at /uploads")
        from .demo.accounts_demo import DEMO_ACCOUNTS, DEMO_ENTERPRISE_ACCOUNT, DEMO_PASSWORD
        from .demo.suppliers_demo import SUPPLIERS
        print(f"  portal: http://127.0.0.1:{config.web_port}/   (captcha shown on the login page)")
        for username, _, _, purpose in DEMO_ACCOUNTS:
            print(f"    {purpose:<12} {username} / {DEMO_PASSWORD}")
        print(f"    企业 {DEMO_ENTERPRISE_ACCOUNT[1]}: {DEMO_ENTERPRISE_ACCOUNT[0]} / {DEMO_PASSWORD}")
        for username, name, *_ in SUPPLIERS:
            print(f"    供应商 {name}: {username} / {DEMO_PASSWORD}")
        print("\n".join(token_lines(config, f"http://127.0.0.1:{config.web_port}/api/projects/1/punches")[1:]))
        print("  Ctrl-C stops everything.", flush=True)
        return platform.wait()
    finally:
        if sim is not None:
            _stop_children([sim])
        platform.stop()
        _stop_children([province])
