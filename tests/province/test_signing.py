"""Signing and ID encryption against the published facts: a hand-built request, one wrong byte, a fixed vector."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
import urllib.parse

import pytest

from server.domain.site_clock import SITE_TZ as CHINA_TZ
from server.province import signing

from standin_helpers import APPID, PROJECT_CODE, SECRET, post_form, running_standin

ID_NUMBER = "440703199001011238"
# Computed outside Python: printf '%s' 440703199001011238 | openssl enc -aes-128-cbc -base64
#   -K <hex of the secret's first 16 bytes> -iv <the same>  (the derivation signing.py states).
ID_VECTOR = "dw8dNZCbhihhUXcY6ifxq9Eccey4yy9PVsFeM8EHn4M="


def test_string_to_sign_is_the_published_order_lower_cased_with_the_secret_last():
    form = {"appid": APPID, "data": '{"projectCode":"44070320260001","teamSysNo":100001}', "format": "json",
            "method": "Team.Query", "nonce": "abc123", "timestamp": "20261201120000", "version": "1.0"}
    literal = ('appid=jm-app-001&data={"projectcode":"44070320260001","teamsysno":100001}&format=json'
               '&method=team.query&nonce=abc123&timestamp=20261201120000&version=1.0'
               '&appsecret=jm2026secret0123456789abcdef')
    assert signing.string_to_sign(form, SECRET) == literal
    # sha256sum of the literal above, computed outside Python.
    assert signing.sign(form, SECRET) == "d533ae5ccf7883d91dbe6f416512ac2796b382bb8c72a0aa833d02201c7df053"


def test_id_number_encryption_matches_an_independent_vector_and_round_trips():
    assert signing.encrypt(ID_NUMBER, SECRET) == ID_VECTOR
    assert signing.decrypt(ID_VECTOR, SECRET) == ID_NUMBER
    for text in ("", "4407031990010112", "港澳台 810000199001011234"):  # empty, one whole block, multibyte
        assert signing.decrypt(signing.encrypt(text, SECRET), SECRET) == text
    with pytest.raises(ValueError):
        signing.decrypt(ID_VECTOR, "another-secret-of-16-bytes")
    with pytest.raises(ValueError):
        signing.aes_key_iv("short")


def _hand_built(method: str, data: str, *, appid: str = APPID, nonce: str = "n-0001") -> dict:
    stamp = dt.datetime.now(CHINA_TZ).strftime("%Y%m%d%H%M%S")
    text = (f"appid={appid}&data={data}&format=json&method={method}&nonce={nonce}"
            f"&timestamp={stamp}&version=1.0&appsecret={SECRET}").lower()
    return {"appid": appid, "data": data, "format": "json", "method": method, "nonce": nonce,
            "timestamp": stamp, "version": "1.0", "sign": hashlib.sha256(text.encode()).hexdigest()}


def test_hand_built_request_is_accepted_and_one_wrong_byte_is_refused():
    data = '{"projectCode":"%s","teamName":"钢筋班"}' % PROJECT_CODE

    async def main():
        async with running_standin() as (_state, base):
            good = await post_form(base, _hand_built("Team.Query", data))
            assert good["code"] == 0, good
            bad_sign = _hand_built("Team.Query", data, nonce="n-0002")
            bad_sign["sign"] = ("0" if bad_sign["sign"][0] != "0" else "1") + bad_sign["sign"][1:]
            bad_data = _hand_built("Team.Query", data, nonce="n-0003")
            bad_data["data"] = bad_data["data"].replace("钢筋班", "钢筋斑")
            bad_appid = _hand_built("Team.Query", data, nonce="n-0004")
            bad_appid["appid"] = APPID[:-1] + "2"
            forged = _hand_built("Team.Query", data, appid=APPID[:-1] + "2", nonce="n-0005")
            answers = [await post_form(base, f) for f in (bad_sign, bad_data, bad_appid, forged)]
            assert [a["code"] for a in answers] == [1001, 1001, 1003, 1003], answers
            assert answers[0]["message"] == "签名错误"
            # The same nonce twice is a replay.
            again = await post_form(base, _hand_built("Team.Query", data))
            assert again["code"] != 0 and "nonce" in again["message"]

    asyncio.run(main())


def test_a_stale_timestamp_is_refused():
    async def main():
        async with running_standin(clock_window=60) as (_state, base):
            form = signing.build_form(APPID, SECRET, "Team.Query", {"projectCode": PROJECT_CODE},
                                      now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
            answer = await post_form(base, form)
            assert answer["code"] == 1002, answer

    asyncio.run(main())


def test_the_form_body_is_what_urlencode_makes_of_any_text():
    """The adapter's own encoder (for speed) against the standard library's, on the texts that trip one up:
    "%" and "+" that are already there, spaces, controls, Chinese, and an attendance payload."""
    rng = random.Random(7)
    pieces = ["%", "%25", "+", " ", "&", "=", "中文", "\x00", "\x7f", "é"]
    attendance = signing.encode_data({"projectCode": PROJECT_CODE, "teamSysNo": 100001, "dataList": [
        {"idCardType": "01", "idCardNumber": ID_VECTOR, "date": "2026-12-01 08:00:00", "direction": "01"}] * 3})
    forms = [{"appid": APPID, "data": attendance, "sign": "ab" * 32}]
    for _ in range(500):
        forms.append({name: "".join(rng.choice(pieces + [chr(rng.randrange(128))]) for _ in range(rng.randrange(12)))
                      for name in ("appid", "data", "method")})
        forms.append({"data": "".join(chr(rng.randrange(128)) for _ in range(rng.randrange(40)))})
    for form in forms:
        assert signing.form_body(form) == urllib.parse.urlencode(form)
