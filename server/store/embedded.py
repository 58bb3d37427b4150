"""The embedded database: SecantusDB run as a child process when MONGODB_URI is unset.

A child process rather than an in-process server because the gateway and the web process
must never share a GIL with the database, and because WiredTiger's exclusive lock on the data
folder then belongs to one clearly named process that we can stop cleanly.
"""
from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)


class EmbeddedDatabaseError(RuntimeError):
    """The embedded server could not be started; the message says what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


class EmbeddedDatabase:
    def __init__(self, data_dir: Path, port: int = 0, *, cache_size: str = "1G"):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.cache_size = cache_size
        self.process: subprocess.Popen | None = None

    @property
    def storage_path(self) -> Path:
        return self.data_dir / "db"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "db.log"

    @property
    def uri(self) -> str:
        # Without retryable writes: the server keeps every retryable write's reply for 30 minutes (up to
        # 10,000) and walks, then sorts, all it keeps on every write, so once a busy half hour has filled
        # it a write costs ~15 ms of its CPU instead of ~1 ms (tests/store/test_embedded_quirks.py). On
        # loopback to one node a driver's retry has nothing to cover, and our writes are idempotent where
        # it matters (punch ids, guarded state changes).
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self, timeout: float = 60.0) -> str:
        if port_in_use(self.port):
            raise EmbeddedDatabaseError(
                f"内置数据库端口 {self.port} 已被占用 (port taken). Another realname or database is probably "
                f"running: stop it, or set REALNAME_EMBEDDED_DB_PORT to a free port, or set MONGODB_URI "
                f"to use that database."
            )
        try:
            self.storage_path.mkdir(parents=True, exist_ok=True)
            logf = open(self.log_path, "ab")
        except OSError as exc:
            raise EmbeddedDatabaseError(
                f"内置数据库数据目录无法使用 (cannot use the data folder {self.storage_path}): {exc}. "
                f"Set REALNAME_DATA_DIR to a writable folder.") from None
        cmd = [
            sys.executable, "-m", "secantus",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--storage-path", str(self.storage_path),
            "--log-level", "WARNING", "--cache-size", self.cache_size,
        ]
        # Own process group: a Ctrl-C at the terminal reaches us first, and we stop the
        # database last, after the gateway and web have flushed what they hold.
        self.process = subprocess.Popen(
            cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedDatabaseError(
                    f"内置数据库启动失败 (embedded SecantusDB exited with code {self.process.returncode}). "
                    f"Last lines of {self.log_path}:\n{self._log_tail()}"
                )
            if self._ping():
                log.info("embedded SecantusDB ready on port %s, data in %s", self.port, self.storage_path)
                return self.uri
            time.sleep(0.2)
        self.stop()
        raise EmbeddedDatabaseError(
            f"内置数据库 {timeout:.0f} 秒内未就绪 (embedded SecantusDB not ready). See {self.log_path}:\n{self._log_tail()}"
        )

    def _ping(self) -> bool:
        client = MongoClient(self.uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 60.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        # SIGTERM lets WiredTiger checkpoint and release its lock; SIGKILL only as a last resort.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded database did not stop in %ss; killing it", timeout)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> "EmbeddedDatabase":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
