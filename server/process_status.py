"""The supervisor's report on its children, kept in $REALNAME_DATA_DIR/processes.json.

`realname serve` writes it (server/processes.py) whenever a child exits or restarts, and every
few seconds besides; the web process reads it for /api/health. A file rather than the database:
it must stay readable while the database or any child is the thing that is down.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time

from .config import Config

STATUS_FILE = "processes.json"
# Rewritten at least this often; a staler file was left by a `serve` that is gone.
REFRESH_SECONDS = 5.0


def status_path(config: Config):
    return config.data_dir / STATUS_FILE


def write_status(config: Config, children: dict) -> None:
    status = {"supervisor_pid": os.getpid(), "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
              "children": children}
    path = status_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{STATUS_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(status, ensure_ascii=False))
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def read_status(config: Config) -> dict | None:
    """What the supervisor last wrote, or None when no `serve` is supervising (or it stopped)."""
    path = status_path(config)
    try:
        # Freshness from the file's own time: the text is only read when it is recent.
        if time.time() - path.stat().st_mtime > 3 * REFRESH_SECONDS:
            return None
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def clear_status(config: Config) -> None:
    try:
        status_path(config).unlink()
    except FileNotFoundError:
        pass
