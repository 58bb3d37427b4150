"""Login captchas: image made locally, answer kept only as a salted hash, 5 minutes, single use."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: people read these off a distorted image.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LENGTH = 4
LIFETIME = dt.timedelta(minutes=5)


def _hash(captcha_id: str, answer: str) -> str:
    return hashlib.sha256(f"{captcha_id}:{answer.strip().upper()}".encode()).hexdigest()


def expired_query(now: dt.datetime) -> dict:
    return {"expires_at": {"$lt": now}}


async def new(db: AsyncDatabase, *, test_answer: str = "") -> dict:
    from captcha.image import ImageCaptcha

    answer = test_answer or "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    captcha_id = secrets.token_urlsafe(16)
    now = utcnow()
    # Captchas fetched and never answered would otherwise pile up.
    await db.captchas.delete_many(expired_query(now))
    await db.captchas.insert_one({"_id": captcha_id, "answer_hash": _hash(captcha_id, answer),
                                  "created_at": now, "expires_at": now + LIFETIME})
    png = ImageCaptcha(width=160, height=60).generate(answer, format="png").getvalue()
    return {"id": captcha_id, "image": "data:image/png;base64," + base64.b64encode(png).decode()}


async def check(db: AsyncDatabase, captcha_id: str, answer: str) -> bool:
    """Consumes the captcha whatever the answer, so each can be tried once."""
    doc = await db.captchas.find_one_and_delete({"_id": captcha_id})
    if doc is None or doc["expires_at"] < utcnow():
        return False
    return secrets.compare_digest(doc["answer_hash"], _hash(captcha_id, answer or ""))
