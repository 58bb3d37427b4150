"""E-mail outbox: every notification is queued in the database first, then sent when SMTP is set.

Queue first, send second: a review decision never waits for (or fails with) a mail server, and
what was sent, what failed and why stays inspectable (GET /api/outbox). smtplib blocks, so each
send runs in the default thread executor and the web process's event loop keeps serving.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import email.message
import email.utils
import smtplib

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
STATE_NAMES = {QUEUED: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "发送失败"}
MAX_ATTEMPTS = 5
SMTP_TIMEOUT = 10
STALE_CLAIM = dt.timedelta(minutes=10)  # far longer than one send may take (SMTP_TIMEOUT per step)


async def enqueue(db: AsyncDatabase, *, to: str, subject: str, body: str, county: str | None = None,
                  related: dict | None = None) -> dict:
    doc = {"to": to, "subject": subject, "body": body, "county": county, "related": related or {},
           "state": QUEUED, "attempts": 0, "error": "", "created_at": utcnow(), "sent_at": None}
    doc["_id"] = (await db.outbox.insert_one(doc)).inserted_id
    return doc


def listing_query(scope: dict) -> tuple[dict, list]:
    """The mails in the reviewer's access.county_filter, newest first."""
    return dict(scope), [("created_at", DESCENDING)]


async def listing(db: AsyncDatabase, *, scope: dict, limit: int = 200) -> list[dict]:
    query, sort = listing_query(scope)
    return [d async for d in db.outbox.find(query).sort(sort).limit(limit)]


def next_queued_query() -> tuple[dict, list]:
    """The oldest queued mail: claimed one at a time."""
    return {"state": QUEUED}, [("created_at", 1)]


def retry_query() -> dict:
    """Failed mail still under its attempts: queued again by the retry job."""
    return {"state": FAILED, "attempts": {"$lt": MAX_ATTEMPTS}}


def stale_claims_query(now: dt.datetime) -> dict:
    return {"state": SENDING, "claimed_at": {"$lt": now - STALE_CLAIM}}


def _send_sync(host: str, port: int, sender: str, doc: dict) -> None:
    message = email.message.EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, doc["to"], doc["subject"]
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(doc["body"])
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.send_message(message)


async def deliver(db: AsyncDatabase, config, *, retry_failed: bool = False) -> dict:
    """Send every queued mail (and failed ones under MAX_ATTEMPTS when asked); returns counts."""
    counts = {"sent": 0, "failed": 0}
    if not config.smtp_host:
        return counts
    if retry_failed:
        await db.outbox.update_many(retry_query(), {"$set": {"state": QUEUED}})
        # A sender that died mid-send (process killed) left its mail claimed: hand it out again.
        await db.outbox.update_many(stale_claims_query(utcnow()), {"$set": {"state": QUEUED}})
    loop = asyncio.get_running_loop()
    while True:
        # Claimed one at a time: two senders (two web processes) never send the same mail twice.
        queued, oldest_first = next_queued_query()
        doc = await db.outbox.find_one_and_update(queued, {"$set": {"state": SENDING, "claimed_at": utcnow()},
                                                           "$inc": {"attempts": 1}},
                                                  sort=oldest_first, return_document=ReturnDocument.AFTER)
        if doc is None:
            return counts
        try:
            await loop.run_in_executor(None, _send_sync, config.smtp_host, config.smtp_port, config.smtp_from, doc)
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            await db.outbox.update_one({"_id": doc["_id"]}, {"$set": {"state": FAILED, "error": error,
                                                                      "failed_at": utcnow()}})
            counts["failed"] += 1
        else:
            await db.outbox.update_one({"_id": doc["_id"]}, {"$set": {"state": SENT, "sent_at": utcnow(), "error": ""}})
            counts["sent"] += 1


_running: set[asyncio.Task] = set()


def deliver_soon(db: AsyncDatabase, config) -> None:
    """Start a send in the background (the request that queued the mail does not wait for it)."""
    if not config.smtp_host:
        return
    task = asyncio.get_running_loop().create_task(deliver(db, config))
    _running.add(task)  # keep a reference until done, or the task may be collected mid-send
    task.add_done_callback(_running.discard)
