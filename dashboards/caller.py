"""Who is asking, on every request the dashboards process serves, callbacks included.

The web process alone may send requests here (server.forwarded_caller): a Flask before_request
refuses anything unsigned, tampered with or stale, and keeps the verified caller for the callbacks.
The scope a callback reads comes from here, never from the browser's inputs: a county supervisor's
callbacks only ever read that county, whatever the page posts.
"""
from __future__ import annotations

import flask

from server.access import ROLE_PERMISSIONS
from server.forwarded_caller import Caller, ForwardRefused, verify
from server.store import audit

from .database import database

PERMISSION = "dashboards:read"


def install(server: flask.Flask, secret: str) -> None:
    @server.before_request
    def verify_caller():
        try:
            caller = verify(secret, flask.request.headers)
        except ForwardRefused as exc:
            return refusal(str(exc))
        if not may(caller, PERMISSION):
            return refusal("您的账号无权访问监管看板")
        flask.g.caller = caller
        return None


def refusal(message: str) -> flask.Response:
    page = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>拒绝访问</title><p>{message}</p></html>'
    return flask.Response(page, status=403, content_type="text/html; charset=utf-8")


def current() -> Caller:
    return flask.g.caller


def may(caller: Caller, permission: str) -> bool:
    permissions = ROLE_PERMISSIONS.get(caller.role, frozenset())
    return "*" in permissions or permission in permissions


def scope() -> dict:
    """The query fragment on projects every data function takes: the caller's county, or the city."""
    county = current().county
    return {"county": county} if county else {}


def may_unmask() -> bool:
    return may(current(), "people:unmask")


def audit_unmasked(action: str, **detail) -> None:
    """Every view or export of ID numbers in full is written to the audit log, as the web process does."""
    caller = current()
    database().audit_log.insert_one(audit.entry(actor=caller.username, action=action,
                                                detail={"ip": caller.address, "via": "dashboards", **detail}))
