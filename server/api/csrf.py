"""Cross-site request forgery: what a page on another origin could make a signed-in browser send.

SameSite=Strict is not enough: another port of the same host is the same *site*, so its pages get
the cookie sent along. Two checks, before any handler runs:

- a state-changing request (POST, PUT, PATCH, DELETE) that carries the session cookie must come
  from this origin: its Origin header (or, without one, its Referer) must be scheme://host:port of
  the request itself. Requests with a bearer token are judged by the token, never by a cookie, and
  are not affected.
- a request body must be of a type the route documents (JSON; multipart for uploads): an HTML form
  can send text/plain or urlencoded bodies across origins without asking, but never JSON.
"""
from __future__ import annotations

import urllib.parse

from tornado.httputil import HTTPServerRequest

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON, MULTIPART = "application/json", "multipart/form-data"


def _origin_of(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def _has_body(request: HTTPServerRequest) -> bool:
    return bool(request.body) or request.headers.get("Content-Length", "0") not in ("", "0") \
        or "Transfer-Encoding" in request.headers


def refusal(request: HTTPServerRequest, body_types: tuple[str, ...], session_cookie: str) -> tuple | None:
    """(status, code, message) when the request must be refused, else None."""
    if request.method not in STATE_CHANGING:
        return None
    if _has_body(request):
        media = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media not in body_types:
            return 415, "unsupported_media_type", f"请求体类型须为 {' 或 '.join(body_types)}"
    if "Authorization" not in request.headers and session_cookie in request.cookies:
        origin = request.headers.get("Origin")
        origin = origin.lower() if origin else _origin_of(request.headers.get("Referer", ""))
        if origin != f"{request.protocol}://{request.host}".lower():
            return 403, "cross_site_request", "跨站请求已拒绝：请从本平台的页面提交 (Origin does not match)"
    return None
