"""Who is calling, as the web process tells the loopback processes behind it (dashboards, later audits).

The web process checks the session and the role, then adds the caller's username, role, county and
address to the forwarded request with a timestamp and an HMAC-SHA256 over all of them, keyed with the shared
forward secret (config.resolve_forward_secret). The process behind verifies every request: a header
changed after signing, a signature from another key or an old timestamp is refused, so nothing that
bypassed the web process, or replays what it once sent, is served.

Values travel percent-encoded UTF-8: HTTP header values are Latin-1, county names are Chinese.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
import urllib.parse
from typing import Mapping

USER, ROLE, COUNTY, ADDRESS, TIME, SIGNATURE = ("X-Realname-User", "X-Realname-Role", "X-Realname-County",
                                                "X-Realname-Address", "X-Realname-Time", "X-Realname-Signature")
HEADERS = (USER, ROLE, COUNTY, ADDRESS, TIME, SIGNATURE)
# Signed and verified on the same machine a moment apart: a wider window would only help a replay.
MAX_AGE_SECONDS = 30
_VERSION = "realname-forward-v1"


class ForwardRefused(Exception):
    """The request did not come, signed and fresh, from the web process; the message is for people."""


@dataclasses.dataclass(frozen=True)
class Caller:
    username: str
    role: str
    county: str | None = None
    address: str = ""  # the browser's, for the audit log (the dashboards see only the web process's)


def _message(*fields: str) -> bytes:
    return "\n".join((_VERSION, *fields)).encode()


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, caller: Caller, now: float | None = None) -> dict[str, str]:
    """The headers that carry caller to the process behind the web process."""
    fields = [urllib.parse.quote(v or "", safe="") for v in (caller.username, caller.role, caller.county,
                                                             caller.address)]
    fields.append(str(int(time.time() if now is None else now)))
    return {**dict(zip(HEADERS, fields)), SIGNATURE: _digest(secret, _message(*fields))}


def verify(secret: str, headers: Mapping[str, str], now: float | None = None) -> Caller:
    """The caller the headers carry, or ForwardRefused."""
    user, role, county, address, stamp, signature = (headers.get(name) or "" for name in HEADERS)
    if not (user and role and stamp and signature):
        raise ForwardRefused("请通过平台登录后访问监管看板")
    expected = _digest(secret, _message(user, role, county, address, stamp))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise ForwardRefused("身份签名无效，请通过平台登录后访问")
    try:
        age = (time.time() if now is None else now) - int(stamp)
    except ValueError:
        raise ForwardRefused("身份签名无效，请通过平台登录后访问") from None
    if abs(age) > MAX_AGE_SECONDS:
        raise ForwardRefused("身份签名已过期，请刷新页面")
    user, role, county, address = (urllib.parse.unquote(v) for v in (user, role, county, address))
    return Caller(user, role, county or None, address)
