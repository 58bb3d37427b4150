"""Where a session cookie may go: HTTPS (direct or behind a trusted TLS proxy), this machine's
loopback address, or plain HTTP elsewhere only when the operator chose it."""
from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request

import pytest

from server.api.transport import plain_http_warning

from support import CAPTCHA_ANSWER, WebThread


def _login(web, *, headers=None, scheme="http", context=None):
    """Log in with a chosen Host and forwarded headers; (status, reply, Set-Cookie header)."""
    base = f"{scheme}://127.0.0.1:{web.port}"

    def call(path, body=None):
        request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                         method="POST" if body else "GET",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as resp:
                return resp.status, json.loads(resp.read()), resp.headers.get("Set-Cookie", "")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), exc.headers.get("Set-Cookie", "")
    _, captcha, _ = call("/api/captcha")
    return call("/api/login", {"username": "kim", "password": "Passw0rd-1", "captcha_id": captcha["id"],
                               "captcha": CAPTCHA_ANSWER})


@pytest.fixture
def kim(make_account):
    make_account("kim", "supervisor")


def test_plain_http_to_another_machine_refuses_login_with_a_reason(web, kim, sdb):
    status, reply, cookie = _login(web, headers={"Host": f"192.0.2.50:{web.port}"})
    assert (status, reply["code"]) == (403, "https_required") and "HTTPS" in reply["message"]
    assert cookie == "" and sdb.sessions.count_documents({}) == 0
    assert sdb.audit_log.find_one({"action": "login_failure"})["detail"]["reason"] == "plain_http"
    page = web.raw("GET", "/login", headers={"Host": f"192.0.2.50:{web.port}"})[1].decode()
    assert 'id="transport-notice"' in page and "HTTPS" in page
    # From this machine (loopback, a secure context to browsers) the Secure cookie is kept: no notice.
    assert 'id="transport-notice"' not in web.raw("GET", "/login")[1].decode()
    status, _, cookie = _login(web, headers={"Host": f"localhost:{web.port}"})
    assert status == 200 and "Secure" in cookie


def test_operator_may_choose_plain_http(mongo_uri, db_name, kim):
    web = WebThread(mongo_uri, db_name, plain_http_login=True)
    try:
        status, _, cookie = _login(web, headers={"Host": f"192.0.2.50:{web.port}"})
    finally:
        web.stop()
    assert status == 200 and cookie.startswith("realname_session=") and "Secure" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_behind_a_trusted_tls_proxy_the_cookie_is_secure(mongo_uri, db_name, kim):
    web = WebThread(mongo_uri, db_name)  # 127.0.0.1 is a trusted proxy in tests
    untrusted = WebThread(mongo_uri, db_name, trusted_proxies=())
    try:
        proxied = {"Host": "jmzhgd.example.cn", "X-Forwarded-Proto": "https", "Origin": "https://jmzhgd.example.cn"}
        status, _, cookie = _login(web, headers=proxied)
        assert status == 200 and "Secure" in cookie
        # The same headers from a peer that is not a configured proxy are not believed.
        status, reply, _ = _login(untrusted, headers=proxied)
        assert (status, reply["code"]) == (403, "https_required")
    finally:
        web.stop()
        untrusted.stop()


def test_tls_served_directly_when_certificate_and_key_are_configured(mongo_uri, db_name, kim, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lan",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    web = WebThread(mongo_uri, db_name, tls_cert=str(cert), tls_key=str(key), trusted_proxies=())
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    try:
        status, _, cookie = _login(web, scheme="https", context=context,
                                   headers={"Host": f"192.0.2.50:{web.port}"})
    finally:
        web.stop()
    assert status == 200 and "Secure" in cookie


def test_the_log_says_when_other_machines_cannot_log_in(web):
    assert "REALNAME_TLS_CERT" in plain_http_warning(web.config.replace(trusted_proxies=()))
    assert plain_http_warning(web.config.replace(trusted_proxies=(), plain_http_login=True)) is None
