"""The signed caller on its own: what verify() accepts and refuses, and the secret kept in the data folder."""
from __future__ import annotations

import time

import pytest

from server.config import Config, resolve_cookie_secret, resolve_forward_secret
from server.forwarded_caller import ADDRESS, MAX_AGE_SECONDS, ROLE, USER, Caller, ForwardRefused, sign, verify


def test_a_caller_survives_signing_with_chinese_county_and_address():
    caller = Caller("监管员", "supervisor", "蓬江区", "10.1.2.3")
    headers = sign("k", caller)
    assert all(value.isascii() for value in headers.values())  # HTTP header values are Latin-1
    assert verify("k", headers) == caller
    assert verify("k", sign("k", Caller("city", "analyst"))) == Caller("city", "analyst", None, "")


@pytest.mark.parametrize("change", [
    {ROLE: "admin"}, {USER: "someone"}, {ADDRESS: "10.9.9.9"},
])
def test_any_field_changed_after_signing_is_refused(change):
    headers = {**sign("k", Caller("sup", "supervisor", "蓬江区", "10.1.2.3")), **change}
    with pytest.raises(ForwardRefused, match="签名无效"):
        verify("k", headers)


def test_the_signature_is_fresh_for_max_age_seconds_only():
    now = float(int(time.time()))  # the stamp is whole seconds
    headers = sign("k", Caller("sup", "supervisor"), now=now)
    assert verify("k", headers, now=now + MAX_AGE_SECONDS).username == "sup"
    with pytest.raises(ForwardRefused, match="过期"):
        verify("k", headers, now=now + MAX_AGE_SECONDS + 1)


def test_the_forward_secret_is_generated_once_private_and_apart_from_the_cookie_secret(tmp_path):
    config = Config.from_env({"REALNAME_DATA_DIR": str(tmp_path)})
    first = resolve_forward_secret(config)
    assert len(first) >= 40 and (tmp_path / "forward_secret").stat().st_mode & 0o777 == 0o600
    assert resolve_forward_secret(config) == first != resolve_cookie_secret(config)
    assert resolve_forward_secret(config.replace(forward_secret="given")) == "given"
