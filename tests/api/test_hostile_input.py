"""Hostile and careless input: malformed JSON, invisible characters, oversized fields and bodies.

Each case is a request a client can send; the platform answers 400 (or refuses the body) with a
reason, stores nothing, and never answers 500.
"""
from __future__ import annotations

import json
import random
import socket

import pytest

from server import synthetic

from support import ADMIN_TOKEN


def _post_raw(web, path: str, data: bytes, token: str | None = ADMIN_TOKEN) -> tuple[int, dict]:
    status, body, _ = web.raw("POST", path, data, token=token, headers={"Content-Type": "application/json"})
    return status, json.loads(body)


DEEP = b'{"name":' + b"[" * 100000 + b"]" * 100000 + b"}"
SURROGATE = b'{"name":"\\ud800","username":"\\ud800","password":"x","captcha_id":"x","captcha":"x"}'


@pytest.mark.parametrize("body", [DEEP, SURROGATE], ids=["deep", "surrogate"])
def test_malformed_json_is_a_400_everywhere(web, site, body):
    for path, token in (("/api/login", None), ("/api/people", ADMIN_TOKEN),
                        (f"/api/projects/{site['project_id']}/teams", ADMIN_TOKEN)):
        status, reply = _post_raw(web, path, body, token)
        assert status == 400 and reply["code"] == "invalid_json", (path, status, reply)


def test_moderately_deep_json_is_refused_by_depth(web):
    nested = b'{"name":' + b"[" * 40 + b"]" * 40 + b"}"
    status, reply = _post_raw(web, "/api/people", nested)
    assert status == 400 and "嵌套" in reply["message"]


def test_static_path_with_null_byte_is_not_found(web):
    status, _, _ = web.raw("GET", "/static/app.js%00.css")
    assert status == 404
    status, body, _ = web.raw("GET", "/static/app.js")
    assert status == 200 and body


@pytest.mark.parametrize("char", ["\x00", "\u202e", "\u200d", "\ufeff", "\u200b", "\x7f"],
                         ids=["nul", "rtl-override", "zwj", "bom", "zero-width-space", "del"])
def test_invisible_characters_refused_in_person_and_team_fields(web, site, sdb, char):
    rng = random.Random(ord(char))
    for field, label in (("name", "姓名"), ("address", "住址")):
        body = {"id_number": synthetic.id_number(rng), "name": "张三", "address": "江门市蓬江区"}
        body[field] = body[field][:1] + char + body[field][1:]
        status, reply, _ = web.request("POST", "/api/people", body, token=ADMIN_TOKEN)
        assert status == 400 and reply["field"] == field and label in reply["message"], reply
    status, reply, _ = web.request("POST", f"/api/projects/{site['project_id']}/teams",
                                   {"unit_id": str(site["unit_id"]), "name": f"木{char}工班"}, token=ADMIN_TOKEN)
    assert status == 400 and reply["field"] == "name" and "班组名称" in reply["message"], reply
    assert sdb.people.count_documents({"name": {"$regex": "张"}}) == 0
    assert sdb.teams.count_documents({"name": {"$regex": "^木"}}) == 0


def test_oversized_fields_are_refused_before_anything_is_logged(web, sdb):
    big = "u" * 100_000
    for body in ({"username": big, "password": "x", "captcha_id": "x", "captcha": "wrong"},
                 {"username": "someone", "password": big, "captcha_id": "x", "captcha": "wrong"}):
        status, reply, _ = web.request("POST", "/api/login", body)
        assert status == 400 and reply["code"] == "invalid_argument", reply
    assert sdb.audit_log.count_documents({}) == 0
    assert sdb.login_failures.count_documents({}) == 0
    status, reply, _ = web.request("POST", "/api/people", {"id_number": "x", "name": big}, token=ADMIN_TOKEN)
    assert status == 400 and reply["field"] in ("id_number", "name")


def _declared_body(web, path: str, length: int, content_type: str = "application/json") -> bytes:
    """Send only the headers of a request whose body would be `length` bytes; return the first answer bytes."""
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {length}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode())
        return sock.recv(200)


def test_a_body_over_the_route_limit_is_refused_before_it_is_read(web, site):
    # Without a limit the server would wait for the 50 MB (and hold them); with one it answers at once.
    assert _declared_body(web, "/api/login", 50 * 1024 * 1024).startswith(b"HTTP/1.1 400")
    assert _declared_body(web, "/api/people", 2 * 1024 * 1024).startswith(b"HTTP/1.1 400")
    # An upload route keeps its larger limit: 3 MB is read (the socket waits for it), so the handler can
    # answer a modestly oversized file with a 413 naming the field.
    with socket.create_connection(("127.0.0.1", web.port), timeout=1) as sock:
        sock.sendall(f"POST /api/projects/{site['project_id']}/roster/import HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {3 * 1024 * 1024}\r\n"
                     f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode())
        with pytest.raises(socket.timeout):
            sock.recv(200)


def test_cookie_requests_must_come_from_this_origin_and_be_json(web, site, make_account, sdb):
    make_account("ivy", "supervisor")
    cookie = web.login("ivy")
    path = f"/api/projects/{site['project_id']}/location"
    body = json.dumps({"longitude": 113.08, "latitude": 22.58}).encode()
    own = {"Content-Type": "application/json", "Origin": web.origin}
    for headers, status, code in (
            ({**own, "Origin": "http://127.0.0.1:18999"}, 403, "cross_site_request"),
            ({**own, "Origin": "null"}, 403, "cross_site_request"),
            ({"Content-Type": "application/json", "Origin": "", "Referer": "http://127.0.0.1:18999/x"}, 403,
             "cross_site_request"),
            ({**own, "Content-Type": "text/plain"}, 415, "unsupported_media_type"),
            ({**own, "Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type")):
        got, reply, _ = web.raw("POST", path, body, cookie=cookie, headers=headers)
        assert (got, json.loads(reply)["code"]) == (status, code), headers
    assert sdb.projects.find_one({"_id": site["project_id"]}).get("location") is None
    # Without Origin, a Referer from our own pages passes; a bearer token is judged by the token alone.
    assert web.raw("POST", path, body, cookie=cookie, headers={"Content-Type": "application/json", "Origin": "",
                                                               "Referer": web.origin + "/projects"})[0] == 200
    assert web.raw("POST", path, body, token=ADMIN_TOKEN,
                   headers={"Content-Type": "application/json", "Origin": "http://elsewhere.example"})[0] == 200


def test_static_files_read_no_large_body_either(web):
    assert _declared_body(web, "/static/app.js", 50 * 1024 * 1024).startswith(b"HTTP/1.1 400")


def test_an_upload_far_over_its_limit_is_refused_before_it_is_read(web, site):
    path = f"/api/projects/{site['project_id']}/roster/import"
    assert _declared_body(web, path, 50 * 1024 * 1024, "multipart/form-data; boundary=b").startswith(b"HTTP/1.1 400")
