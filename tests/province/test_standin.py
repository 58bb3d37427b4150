"""The adapter against the stand-in over HTTP: acceptance, refusals, ordering rules, async outcomes, injections."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import os
import random
import socket
import subprocess
import sys
import time

from PIL import Image

from server import synthetic
from server.province import codes, payloads
from server.province.client import Accepted, Credentials, HttpPlatform, Outcome, Refused, Transient

from standin_helpers import CREDS, PROJECT_CODE, SECRET, control, credit_code, running_standin, valid_ids

ENTERPRISE = {"credit_code": credit_code(), "name": "江门市测试建筑工程有限公司"}
TODAY = dt.datetime.now(dt.timezone.utc)


async def outcome(platform: HttpPlatform, serial: str, deadline: float = 10.0) -> Outcome:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = await platform.query_result(CREDS, serial)
        assert isinstance(result, Outcome), result
        if not result.pending:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"{serial} still pending after {deadline}s")


async def submit(platform: HttpPlatform, kind: str, payload: dict, *, update: bool = False) -> Outcome:
    accepted = await platform.upload(CREDS, kind, payload, update=update)
    assert isinstance(accepted, Accepted), accepted
    return await outcome(platform, accepted.serial)


def photo(size: int) -> bytes:
    return synthetic.jpeg_photo(random.Random(1), target_bytes=size)


async def _site(platform: HttpPlatform) -> int:
    """Unit and team uploaded; the team's teamSysNo."""
    unit = {"unit_type": "施工总承包单位", "created_at": TODAY}
    assert (await submit(platform, "unit", payloads.unit_payload(PROJECT_CODE, unit, ENTERPRISE, SECRET))).succeeded
    team = await submit(platform, "team", payloads.team_payload(PROJECT_CODE, {"name": "钢筋班", "created_at": TODAY}, ENTERPRISE))
    assert team.succeeded, team
    return team.data["teamSysNo"]


def _worker(number: str, team_sys_no, image: bytes) -> dict:
    return payloads.worker_payload(PROJECT_CODE, {"job": "钢筋工"}, {"name": "王五", "id_number": number},
                                   ENTERPRISE, team_sys_no, image, SECRET)


def test_team_before_worker_before_attendance_and_outcomes_carry_the_platform_ids():
    async def main():
        async with running_standin() as (state, base):
            platform = HttpPlatform(base + "/api", request_timeout=5)
            number, other = valid_ids(2)
            early = await submit(platform, "worker", _worker(number, 999999, photo(8000)))
            assert early.failed and "teamSysNo" in early.message
            team_sys_no = await _site(platform)
            punch = {"_id": "p1", "worker_no": 1, "date": TODAY.strftime("%Y-%m-%d"), "device_time": TODAY}
            [(batch, _ids)] = payloads.attendance_batches(PROJECT_CODE, [punch], {1: {"id_number": number}},
                                                          {1: team_sys_no}, {"p1": "01"}, SECRET, 10)
            before = await submit(platform, "attendance", batch)
            assert before.failed and "不存在" in before.message and before.data["items"][0]["code"] != 0
            assert (await submit(platform, "worker", _worker(number, team_sys_no, photo(8000)))).succeeded
            again = await submit(platform, "worker", _worker(number, team_sys_no, photo(8000)))
            assert again.already_exists and "项目中已存在身份证为" in again.message
            duplicate_team = await submit(platform, "team", payloads.team_payload(
                PROJECT_CODE, {"name": "钢筋班", "created_at": TODAY}, ENTERPRISE))
            assert duplicate_team.already_exists and duplicate_team.message.startswith("班组已存在")
            # Reconciling: the platform's copy of the team, by name.
            found = await platform.query(CREDS, "Team.Query", {"projectCode": PROJECT_CODE, "teamName": "钢筋班"})
            assert found.data[0]["teamSysNo"] == team_sys_no
            assert (await submit(platform, "attendance", batch)).succeeded
            # Entry/exit dates: not before the previous one.
            for day, kind, ok in (("2026-01-10", codes.ENTRY, True), ("2026-01-05", codes.EXIT, False)):
                result = await submit(platform, "entry_exit", payloads.entry_exit_payload(
                    PROJECT_CODE, {"id_number": number}, ENTERPRISE, team_sys_no, kind, day, SECRET))
                assert result.succeeded is ok, result
            assert "早于上一次" in result.message
            never = await submit(platform, "contract", payloads.contract_payload(PROJECT_CODE, {
                "term_type": "固定期限", "pay_unit": "按天", "unit_price": 300, "effective_date": TODAY},
                {"id_number": other}, ENTERPRISE, SECRET))
            assert never.failed and "请先上传工人" in never.message
            dump = await control(base, "/_sim/state")
            assert [w["idCardNumber"] for w in dump["workers"]] == [number]
            assert len(dump["attendance"]) == 1 and len(dump["teams"]) == 1 and len(dump["entry_exits"]) == 1

    asyncio.run(main())


def test_submission_checks_refuse_at_once_with_the_reason():
    async def main():
        async with running_standin() as (_state, base):
            platform = HttpPlatform(base + "/api", request_timeout=5)
            team_sys_no = await _site(platform)
            number = valid_ids(1)[0]
            wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
            unreadable = base64.b64decode(_worker(number, 1, b"not an image at all")["workerList"][0]["headImage"])
            big = io.BytesIO()
            Image.effect_noise((400, 400), 100).convert("RGB").save(big, "PNG")
            assert len(big.getvalue()) > 50 * 1024
            cases = {
                "身份证校验位错误": _worker(wrong_check, team_sys_no, photo(8000)),
                "大于 50KB": _worker(number, team_sys_no, big.getvalue()),
                "无法识别": _worker(number, team_sys_no, unreadable),
                "缺少必填字段 headImage": _worker(number, team_sys_no, b""),
            }
            for reason, payload in cases.items():
                result = await platform.upload(CREDS, "worker", payload)
                assert isinstance(result, Refused) and reason in result.message, (reason, result)
            bad_code = payloads.unit_payload(PROJECT_CODE, {"unit_type": "监理单位", "created_at": TODAY},
                                             {**ENTERPRISE, "credit_code": ENTERPRISE["credit_code"][:-1] + "0"}, SECRET)
            result = await platform.upload(CREDS, "unit", bad_code)
            assert isinstance(result, Refused) and "信用代码" in result.message, result
            future = payloads.entry_exit_payload(PROJECT_CODE, {"id_number": number}, ENTERPRISE, team_sys_no, "1",
                                                 (TODAY + dt.timedelta(days=3)).strftime("%Y-%m-%d"), SECRET)
            result = await platform.upload(CREDS, "entry_exit", future)
            assert isinstance(result, Refused) and "不能晚于今天" in result.message, result
            assert not isinstance(await platform.upload(CREDS, "entry_exit", {**future, "projectCode": "x"}), Accepted)

    asyncio.run(main())


def test_injected_failures_are_told_apart():
    async def main():
        async with running_standin() as (state, base):
            platform = HttpPlatform(base + "/api", request_timeout=0.5, connect_timeout=0.5)
            unit = payloads.unit_payload(PROJECT_CODE, {"unit_type": "施工总承包单位", "created_at": TODAY}, ENTERPRISE, SECRET)
            await control(base, "/_sim/inject", {"rules": [
                {"kind": "error", "method": "ProjectSubContractor.Add", "status": 503},
                {"kind": "timeout", "method": "ProjectSubContractor", "delay": 3},
                {"kind": "refuse", "message": "项目未开通接口权限"},
                {"kind": "lost_reply"},
                {"kind": "fail", "message": "单位资质不符"},
            ]})
            first, second, third, fourth = [await platform.upload(CREDS, "unit", unit) for _ in range(4)]
            assert isinstance(first, Transient) and "503" in first.reason
            assert isinstance(second, Transient) and "no answer" in second.reason
            assert isinstance(third, Refused) and third.message == "项目未开通接口权限" and not third.already_exists
            assert isinstance(fourth, Transient)
            # The lost reply was taken: the unit is there, and sending it again says so.
            await asyncio.sleep(0)  # let the stand-in's processing run (process_delay is short)
            end = time.monotonic() + 5
            while not state.units and time.monotonic() < end:
                await asyncio.sleep(0.02)
            assert len(state.units) == 1
            fifth = await submit(platform, "unit", unit)
            assert fifth.failed and fifth.message == "单位资质不符"
            sixth = await submit(platform, "unit", unit)
            assert sixth.already_exists
            slow = HttpPlatform(base + "/api", request_timeout=5)
            await control(base, "/_sim/inject", {"rules": [{"kind": "slow", "delay": 0.3}]})
            started = time.monotonic()
            answer = await slow.query(CREDS, "Team.Query", {"projectCode": PROJECT_CODE})
            assert answer.data == [] and time.monotonic() - started >= 0.3
            closed = socket.socket()
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
            closed.close()
            refused = await HttpPlatform(f"http://127.0.0.1:{port}/api").upload(CREDS, "unit", unit)
            assert isinstance(refused, Transient)

    asyncio.run(main())


def test_province_sim_command_runs_its_own_process():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "province-sim", "--port", "0",
                             "--app", f"{CREDS.appid}:{SECRET}:{PROJECT_CODE}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line
        url = line.split("listening on ")[1].strip()

        async def main():
            result = await HttpPlatform(url).query(CREDS, "Team.Query", {"projectCode": PROJECT_CODE})
            assert result.data == []
            wrong = await HttpPlatform(url).call(Credentials(CREDS.appid, "x" * 16), "Team.Query",
                                                 {"projectCode": PROJECT_CODE})
            assert isinstance(wrong, Refused) and wrong.code == codes.BAD_SIGNATURE
        asyncio.run(main())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_replayed_nonce_is_refused_and_fresh_ones_are_taken():
    from server.province import signing
    from server.province.standin import PlatformState, Refusal
    state = PlatformState()
    state.add_app(CREDS.appid, CREDS.appsecret, PROJECT_CODE)

    def envelope(nonce: str):
        return state.check_envelope(signing.build_form(CREDS.appid, CREDS.appsecret, "Team.Query",
                                                       {"projectCode": PROJECT_CODE}, nonce=nonce))
    for nonce in ("n1", "n2", "n3"):
        envelope(nonce)
    try:
        envelope("n2")
    except Refusal as refusal:
        assert refusal.message == "nonce 重复"
    else:
        raise AssertionError("a replayed nonce was taken")
    envelope("n4")


def test_the_adapter_reaches_an_address_without_a_resolver_thread_and_a_name_through_one():
    """Tornado's client resolves its host on every request (a connection each); the default resolver
    asks getaddrinfo on an executor thread even for an address: thousands of thread hops per upload."""
    from concurrent.futures import ThreadPoolExecutor

    from server.province.client import AddressResolver

    class Counting(ThreadPoolExecutor):
        submitted = 0

        def submit(self, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(*args, **kwargs)

    async def main():
        asyncio.get_running_loop().set_default_executor(Counting(max_workers=2))
        async with running_standin() as (_, base):
            by_address = HttpPlatform(base + "/api")
            for _ in range(5):
                assert (await by_address.query(CREDS, "Team.Query", {"projectCode": PROJECT_CODE})).data == []
            assert Counting.submitted == 0
            by_name = HttpPlatform(base.replace("127.0.0.1", "localhost") + "/api")
            assert (await by_name.query(CREDS, "Team.Query", {"projectCode": PROJECT_CODE})).data == []
            assert Counting.submitted >= 1
        resolver = AddressResolver()
        assert await resolver.resolve("::1", 80) == [(socket.AF_INET6, ("::1", 80, 0, 0))]
        assert await resolver.resolve("127.0.0.1", 80, socket.AF_INET) == [(socket.AF_INET, ("127.0.0.1", 80))]
        try:
            await resolver.resolve("127.0.0.1", 80, socket.AF_INET6)
        except OSError:
            pass
        else:
            raise AssertionError("an IPv4 address resolved as IPv6")

    asyncio.run(main())
