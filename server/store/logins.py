"""Login lockout, per account *and address*, so that nobody can lock a user out from everywhere at will.

Reading of the domain rule:

- 5 failed logins for one account from one address within 30 minutes lock that account for that
  address until the oldest of those failures is 30 minutes old. The same account still logs in
  from any other address: an attacker who knows a username can only lock themselves out.
- 20 failed logins from one address within 15 minutes, whatever the accounts (including names
  that do not exist), refuse every login from that address (429) until fewer than 20 remain in the
  window; this is what stops guessing across many accounts.
- A successful login forgets that account's failures from that address. While locked, attempts
  are refused without checking the password and are not recorded, so a lock does not extend itself.
"""
from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow

ACCOUNT_FAILURES, ACCOUNT_WINDOW = 5, dt.timedelta(minutes=30)
ADDRESS_FAILURES, ADDRESS_WINDOW = 20, dt.timedelta(minutes=15)


def stale_failures_query(ip: str, now: dt.datetime) -> dict:
    return {"ip": ip, "at": {"$lt": now - max(ACCOUNT_WINDOW, ADDRESS_WINDOW)}}


def address_failures_query(ip: str, since: dt.datetime) -> dict:
    return {"ip": ip, "at": {"$gte": since}}


def account_failures_query(username: str, ip: str, since: dt.datetime) -> dict:
    return {"username": username, "ip": ip, "at": {"$gte": since}}


def pair_query(username: str, ip: str) -> dict:
    return {"username": username, "ip": ip}


async def record_failure(db: AsyncDatabase, username: str, ip: str) -> None:
    now = utcnow()
    await db.login_failures.insert_one({"username": username, "ip": ip, "at": now})
    # Failures older than both windows no longer count; drop them so the collection stays small.
    await db.login_failures.delete_many(stale_failures_query(ip, now))


async def address_blocked(db: AsyncDatabase, ip: str) -> bool:
    since = utcnow() - ADDRESS_WINDOW
    return await db.login_failures.count_documents(address_failures_query(ip, since),
                                                   limit=ADDRESS_FAILURES) >= ADDRESS_FAILURES


async def account_locked(db: AsyncDatabase, username: str, ip: str) -> bool:
    since = utcnow() - ACCOUNT_WINDOW
    return await db.login_failures.count_documents(account_failures_query(username, ip, since),
                                                   limit=ACCOUNT_FAILURES) >= ACCOUNT_FAILURES


async def forget(db: AsyncDatabase, username: str, ip: str) -> None:
    await db.login_failures.delete_many(pair_query(username, ip))
