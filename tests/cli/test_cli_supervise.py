"""`realname serve` supervises its children: the gateway and the worker killed with SIGKILL are
restarted while the web keeps answering, devices log in again, an import started before the kill
completes; a child that keeps dying stops the platform with a clear message."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import psutil

from server import synthetic
from server.store.embedded import free_port

from support import (Device, WebClient, build_site, roster_import_workbook, run_async, upload_roster,
                     wait_until, wait_import)

TOKEN = "supervise-test-token"


def serve_env(tmp_path, **extra) -> dict:
    env = dict(os.environ, REALNAME_DATA_DIR=str(tmp_path), REALNAME_EMBEDDED_DB_PORT=str(free_port()),
               REALNAME_GATEWAY_PORT=str(free_port()), REALNAME_WEB_PORT=str(free_port()),
               REALNAME_ADMIN_TOKEN=TOKEN, REALNAME_GATEWAY_HOST="127.0.0.1", REALNAME_WEB_HOST="127.0.0.1",
               REALNAME_DB_NAME="supervised", REALNAME_WORKER_POLL_SECONDS="0.2", **extra)
    env.pop("MONGODB_URI", None)
    return env


def start_serve(env) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: [lines.append(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 90
    while not any("admin token" in line for line in lines):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    return proc, lines


def child(proc: subprocess.Popen, command: str) -> psutil.Process:
    for p in psutil.Process(proc.pid).children():
        if p.cmdline()[-1:] == [command]:
            return p
    raise AssertionError(f"no {command} child")


def device_logs_in(port: int) -> bool:
    try:
        device = Device(port, "DEV-0001", timeout=5)
    except OSError:
        return False
    try:
        return device.login().flag == 0
    except OSError:
        return False
    finally:
        device.close()


def test_killed_gateway_and_worker_are_restarted_while_the_web_answers(tmp_path):
    env = serve_env(tmp_path, REALNAME_WORKER_LEASE_SECONDS="2", REALNAME_IMPORT_TEST_PAUSE_SECONDS="1")
    proc, log = start_serve(env)
    web, gateway_port = WebClient(int(env["REALNAME_WEB_PORT"])), int(env["REALNAME_GATEWAY_PORT"])
    try:
        site = run_async(f"mongodb://127.0.0.1:{env['REALNAME_EMBEDDED_DB_PORT']}", "supervised", build_site)
        assert device_logs_in(gateway_port)
        rng = random.Random(3)
        rows = [[synthetic.id_number(rng), synthetic.chinese_name(rng), None, None, None, None,
                 "江门市测试建筑工程有限公司", "土建", "普通工人", None] for _ in range(1000)]
        status, reply = upload_roster(web, site["project_id"], roster_import_workbook(rows), token=TOKEN)
        assert status == 202, reply
        wait_until(lambda: web.get(reply["job_url"], token=TOKEN)[1]["done"] > 0, 60, "the import under way")

        answers: list[tuple[int, float]] = []
        polling = threading.Event()

        def poll_health():
            while not polling.is_set():
                before = time.monotonic()
                try:
                    status, _ = web.get("/api/health", token=None)
                except OSError:
                    status = 0
                answers.append((status, time.monotonic() - before))
                time.sleep(0.1)
        poller = threading.Thread(target=poll_health, daemon=True)
        poller.start()

        old = {name: child(proc, name) for name in ("gateway", "worker")}
        for p in old.values():
            p.send_signal(signal.SIGKILL)

        def restarted():
            processes = web.get("/api/health", token=None)[1].get("processes", {})
            return all(processes.get(name, {}).get("state") == "running" and processes[name]["restarts"] >= 1
                       and processes[name]["pid"] != old[name].pid and processes[name]["last_exit"]["code"] == -9
                       for name in old) and processes
        processes = wait_until(restarted, 60, "gateway and worker restarted")
        assert processes["web"]["restarts"] == 0
        wait_until(lambda: device_logs_in(gateway_port), 60, "a device logged in to the restarted gateway")
        job = wait_import(web, reply["job_url"], token=TOKEN, timeout=120)
        polling.set()
        poller.join(10)
        assert job["state"] == "done" and job["entered"] + len(job["errors"]) == 1000, job
        assert job["entered"] >= 990
        uri = f"mongodb://127.0.0.1:{env['REALNAME_EMBEDDED_DB_PORT']}"

        async def import_job(db):
            return await db.jobs.find_one({"kind": "roster_import"})
        assert run_async(uri, "supervised", import_job)["attempts"] == 2  # resumed by the restarted worker
        assert answers and all(status == 200 for status, _ in answers), answers
        assert max(took for _, took in answers) < 5, answers
        text = "".join(log)
        assert "gateway" in text and "restarting in" in text and "the other processes keep running" in text, text

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_crash_loop_stops_the_platform_with_a_clear_message(tmp_path):
    env = serve_env(tmp_path, REALNAME_RESTART_LIMIT="2", REALNAME_RESTART_WINDOW_SECONDS="300")
    # The gateway's port is taken, so every gateway started exits at once: a crash loop.
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    blocker.bind(("127.0.0.1", int(env["REALNAME_GATEWAY_PORT"])))
    blocker.listen()
    try:
        proc, log = start_serve(env)
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
            assert proc.wait(120) == 1
            text = "".join(log)
            assert "crash loop" in text and "子进程 gateway 反复退出" in text, text
            assert text.count("gateway restarted") == 2, text
            gone, alive = psutil.wait_procs(children, timeout=30)
            assert not alive, [p.cmdline() for p in alive]
            assert not (tmp_path / "processes.json").exists()
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        blocker.close()
