"""Hostile and careless input: malformed JSON, invisible characters, oversized fields and bodies.

Each case is a request a client can send; the platform answers 400 (or refuses the body) with a
reason, stores nothing, and never answers 500.
"""
from __future__ import annotations

import json
import random
import socket

import pytest

from server.demo import synthetic

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
