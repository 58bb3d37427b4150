"""A worker steps back on the CPU (REALNAME_WORKER_NICE): every one of its threads, also those the driver
started before it lowered its priority, so its jobs take what the gateway and the web leave."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import Config
from support import wait_until

ROOT = Path(__file__).resolve().parents[2]


def thread_niceness(pid: int) -> set[int]:
    out = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out.add(os.getpriority(os.PRIO_PROCESS, int(tid)))
        except ProcessLookupError:
            pass
    return out


def test_a_worker_process_runs_every_thread_at_the_configured_niceness(worker_process):
    worker = worker_process(REALNAME_WORKER_NICE="7")
    # The driver's monitor threads exist once it has connected: more than one thread, all at 7.
    wait_until(lambda: len(os.listdir(f"/proc/{worker.proc.pid}/task")) > 1 and thread_niceness(worker.proc.pid) == {7},
               timeout=30, message="the worker's threads did not all run at niceness 7")


def test_niceness_0_leaves_a_worker_as_it_was_started(worker_process, sdb):
    worker = worker_process(REALNAME_WORKER_NICE="0")
    # Its periodic jobs are ensured after it has set its priority: by then it is where it will stay.
    wait_until(lambda: sdb.jobs.count_documents({"periodic": True}) > 0, timeout=30)
    assert thread_niceness(worker.proc.pid) == {os.getpriority(os.PRIO_PROCESS, 0)}


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_threads_started_before_are_lowered_too_and_none_is_raised():
    # On Linux os.nice() sets the calling thread only: a thread started before would keep running at 0.
    out = run("import os, threading\n"
              "from server.cpu_priority import lower_priority\n"
              "go = threading.Event(); seen = []\n"
              "t = threading.Thread(target=lambda: (go.wait(), seen.append(os.getpriority(os.PRIO_PROCESS, 0))))\n"
              "t.start()\n"
              "print(lower_priority(5)); go.set(); t.join(); print(seen[0])\n"
              "print(lower_priority(3))\n")
    assert out.split() == ["5", "5", "5"]


def test_the_setting_is_a_niceness():
    assert Config.from_env({"REALNAME_WORKER_NICE": "19"}).worker_nice == 19
    assert Config.from_env({}).worker_nice == 10
    for bad in ("20", "-1"):
        with pytest.raises(ValueError, match="REALNAME_WORKER_NICE"):
            Config.from_env({"REALNAME_WORKER_NICE": bad})
