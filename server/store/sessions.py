"""Browser sessions: a random id in a signed cookie, refused after a period without use."""
from __future__ import annotations

import datetime as dt
import secrets

from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow

# Refreshing last_seen on every request would be one write per page load; a minute's slack is harmless.
REFRESH_EVERY = dt.timedelta(minutes=1)


async def create(db: AsyncDatabase, username: str) -> str:
    now = utcnow()
    session_id = secrets.token_urlsafe(32)
    await db.sessions.insert_one({"_id": session_id, "username": username, "created_at": now, "last_seen": now})
    return session_id


async def resolve(db: AsyncDatabase, session_id: str, *, idle: dt.timedelta) -> dict | None:
    session = await db.sessions.find_one({"_id": session_id})
    if session is None:
        return None
    now = utcnow()
    if now - session["last_seen"] > idle:
        await db.sessions.delete_one({"_id": session_id})
        return None
    if now - session["last_seen"] > REFRESH_EVERY:
        await db.sessions.update_one({"_id": session_id}, {"$set": {"last_seen": now}})
    return session


async def delete(db: AsyncDatabase, session_id: str) -> None:
    await db.sessions.delete_one({"_id": session_id})


def username_query(username: str) -> dict:
    return {"username": username}


async def delete_others(db: AsyncDatabase, username: str, keep: str | None) -> None:
    """After a password change, sessions elsewhere (perhaps someone else's) end."""
    # Two steps so each query stays on one index (schema.py: an extra predicate means a collection scan).
    others = [s["_id"] async for s in db.sessions.find(username_query(username), {"_id": 1}) if s["_id"] != keep]
    if others:
        await db.sessions.delete_many({"_id": {"$in": others}})
