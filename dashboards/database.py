"""The dashboards process's one synchronous database handle (Dash callbacks are synchronous).

Created on first use, so after any fork of the WSGI server, as every process of the platform does.
"""
from __future__ import annotations

import threading

from pymongo import MongoClient
from pymongo.database import Database

_lock = threading.Lock()
_target: tuple[str, str] | None = None
_db: Database | None = None


def configure(uri: str, db_name: str) -> None:
    global _target, _db
    _target, _db = (uri, db_name), None


def database() -> Database:
    global _db
    with _lock:
        if _db is None:
            if _target is None:
                raise RuntimeError("dashboards.database.configure() was not called")
            uri, name = _target
            _db = MongoClient(uri, appname="realname-dashboards", tz_aware=True, serverSelectionTimeoutMS=10_000,
                              socketTimeoutMS=30_000)[name]
        return _db
