"""A stand-in of the provincial platform (`realname province-sim`): the same contract, validated like the real one.

Submissions are checked at once (signature, clock, appid, required fields, ID check characters, credit
codes, photo, dates — a failure is an answer with code ≠ 0) and, when taken, answered with a
``requestSerialCode``; the business rules that need the platform's own records (team before worker,
worker before attendance and entry/exit, dates after the previous entry/exit, "already exists") are
applied later, as the real platform does, and their outcome is read with ``AsyncHandleResult.Query``.

What it accepted stays in memory and is dumped by ``GET /_sim/state`` (so a test can compare it with
ours and count how often each record arrived); ``POST /_sim/inject`` adds failure rules, ``POST
/_sim/apps`` registers a project's appid. docs/province-upload.md lists the rules and the injections.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import dataclasses
import datetime as dt
import io
import itertools
import json
import secrets

import tornado.web
from PIL import Image, UnidentifiedImageError

from ..domain.identity import check_credit_code, check_id_number
from ..domain.site_clock import SITE_TZ, parse_local, site_today
from . import codes, signing

HEAD_IMAGE_MAX = 50 * 1024
DAY = "%Y-%m-%d"
MOMENT = "%Y-%m-%d %H:%M:%S"

# Required fields per method family: top-level, and per item of the list the payload carries.
REQUIRED: dict[str, tuple[tuple[str, ...], str | None, tuple[str, ...]]] = {
    codes.SUB_CONTRACTOR: (("projectCode", "corpCode", "corpName", "corpType", "entryTime"), None, ()),
    codes.TEAM: (("projectCode", "corpCode", "corpName", "teamName"), None, ()),
    codes.WORKER: (("projectCode", "corpCode", "corpName", "teamSysNo", "workerList"), "workerList",
                   ("workerName", "idCardType", "idCardNumber", "workRole", "workType", "headImage")),
    codes.ENTRY_EXIT: (("projectCode", "corpCode", "corpName", "teamSysNo", "dataList"), "dataList",
                       ("idCardType", "idCardNumber", "date", "type")),
    codes.CONTRACT: (("projectCode", "contractList"), "contractList",
                     ("corpCode", "corpName", "idCardType", "idCardNumber", "contractPeriodType", "startDate")),
    codes.ATTENDANCE: (("projectCode", "teamSysNo", "dataList"), "dataList",
                       ("idCardType", "idCardNumber", "date", "direction")),
}


class Refusal(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _mask(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:] if len(id_number) == 18 else "****"


def _parse(value, fmt: str, field: str) -> dt.datetime:
    when = parse_local(value, fmt)
    if when is None:
        raise Refusal(codes.INVALID_VALUE, f"{field} 格式错误，应为 {fmt.replace('%Y', 'yyyy').replace('%m', 'MM').replace('%d', 'dd')}")
    return when


def _not_future(value, fmt: str, field: str) -> dt.datetime:
    when = _parse(value, fmt, field)
    if when.date() > site_today():
        raise Refusal(codes.INVALID_VALUE, f"{field} 不能晚于今天")
    return when


def _check_head_image(value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(codes.INVALID_VALUE, "头像 headImage 不是有效的 Base64")
    if len(raw) > HEAD_IMAGE_MAX:
        raise Refusal(codes.INVALID_VALUE, f"头像 headImage 大于 50KB ({len(raw)} 字节)")
    try:
        Image.open(io.BytesIO(raw)).verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Refusal(codes.INVALID_VALUE, "头像 headImage 无法识别")


@dataclasses.dataclass
class Rule:
    """One injected failure: applies to `times` matching requests (None: every one)."""
    kind: str                      # refuse | fail | error | timeout | slow | lost_reply
    method: str = "*"
    match: str = ""                # substring of the plain `data` (a team name, a worker's name)
    times: int | None = 1
    message: str = "平台注入的拒绝"
    delay: float = 0.0
    status: int = 500

    KINDS = ("refuse", "fail", "error", "timeout", "slow", "lost_reply")

    def applies(self, method: str, data: str) -> bool:
        return (self.method in ("*", method, method.split(".")[0])) and self.match in data and self.times != 0


class PlatformState:
    """Everything the stand-in knows: apps, accepted records, pending requests, injected rules."""

    def __init__(self, *, clock_window: float = 600.0, process_delay: float = 0.05):
        self.clock_window, self.process_delay = clock_window, process_delay
        self.apps: dict[str, dict] = {}               # appid → {appsecret, projectCode}
        self.units: dict[tuple, dict] = {}            # (projectCode, corpCode)
        self.teams: dict[int, dict] = {}              # teamSysNo
        self.workers: dict[tuple, dict] = {}          # (projectCode, idCardNumber)
        self.entry_exits: dict[tuple, dict] = {}      # (projectCode, idCardNumber, date, type)
        self.contracts: dict[tuple, dict] = {}        # (projectCode, idCardNumber, corpCode, startDate)
        self.attendance: dict[tuple, dict] = {}       # (projectCode, idCardNumber, date, direction)
        self.requests: dict[str, dict] = {}           # requestSerialCode → status, message, result
        self.rules: list[Rule] = []
        self.counts = collections.Counter()           # submissions per method, duplicates, refusals
        self._team_numbers = itertools.count(100001)
        # Nonces seen within the clock window, oldest first: a replay inside the window is refused, and the
        # expired fall off the front (a scan of them all on every request grew with the traffic).
        self._nonces: collections.OrderedDict[str, dt.datetime] = collections.OrderedDict()

    # --- control ------------------------------------------------------------------------------

    def add_app(self, appid: str, appsecret: str, project_code: str) -> None:
        signing.aes_key_iv(appsecret)  # refuse a secret too short to derive the key from
        self.apps[appid] = {"appsecret": appsecret, "projectCode": project_code}

    def rule_for(self, method: str, data: str) -> Rule | None:
        for rule in self.rules:
            if rule.applies(method, data):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def dump(self) -> dict:
        def rows(store):
            return [dict(v) for v in store.values()]
        return {"units": rows(self.units), "teams": rows(self.teams), "workers": rows(self.workers),
                "entry_exits": rows(self.entry_exits), "contracts": rows(self.contracts),
                "attendance": rows(self.attendance), "counts": dict(self.counts),
                "requests": {k: {"status": v["status"], "method": v["method"]} for k, v in self.requests.items()}}

    # --- the envelope -------------------------------------------------------------------------

    def check_envelope(self, form: dict[str, str]) -> tuple[dict, dict]:
        """(app, payload) of a well-formed, signed, fresh request; Refusal otherwise."""
        for name in signing.FORM_FIELDS:
            if not form.get(name):
                raise Refusal(codes.MISSING_FIELD, f"缺少参数 {name}")
        app = self.apps.get(form["appid"])
        if app is None:
            raise Refusal(codes.UNKNOWN_APPID, "appid 无效")
        if not signing.signature_matches(form, app["appsecret"]):
            raise Refusal(codes.BAD_SIGNATURE, "签名错误")
        if form["format"] != signing.FORMAT or form["version"] != signing.VERSION:
            raise Refusal(codes.INVALID_VALUE, "format 须为 json，version 须为 1.0")
        sent = signing.parse_timestamp(form["timestamp"])
        now = dt.datetime.now(SITE_TZ)
        if sent is None or abs((now - sent).total_seconds()) > self.clock_window:
            raise Refusal(codes.BAD_TIMESTAMP, "timestamp 无效或与平台时间相差过大")
        while self._nonces and (now - next(iter(self._nonces.values()))).total_seconds() > self.clock_window:
            self._nonces.popitem(last=False)
        key = f"{form['appid']}:{form['nonce']}"
        if key in self._nonces:
            raise Refusal(codes.INVALID_VALUE, "nonce 重复")
        self._nonces[key] = now
        try:
            payload = json.loads(form["data"])
        except ValueError:
            raise Refusal(codes.INVALID_VALUE, "data 不是有效的 JSON")
        if not isinstance(payload, dict):
            raise Refusal(codes.INVALID_VALUE, "data 须为 JSON 对象")
        return app, payload

    # --- checks at submission -------------------------------------------------------------------

    def _id_number(self, item: dict, app: dict, field: str = "idCardNumber") -> str:
        if str(item.get("idCardType", codes.ID_CARD_TYPE_RESIDENT)) != codes.ID_CARD_TYPE_RESIDENT:
            raise Refusal(codes.INVALID_VALUE, "idCardType 须为 01 居民身份证")
        try:
            number = signing.decrypt(str(item[field]), app["appsecret"])
        except ValueError:
            raise Refusal(codes.INVALID_VALUE, f"{field} 解密失败")
        check = check_id_number(number)
        if not check.ok:
            raise Refusal(codes.INVALID_VALUE, f"{field} {check.reason}")
        return check.number

    def check_payload(self, method: str, app: dict, payload: dict) -> dict:
        """The payload with ID numbers decrypted, after the checks that need no platform records."""
        family, _, verb = method.partition(".")
        top, list_field, item_fields = REQUIRED[family]
        if verb == "Update" and family == codes.TEAM:
            top = top + ("teamSysNo",)
        for name in top:
            if payload.get(name) in (None, "", []):
                raise Refusal(codes.MISSING_FIELD, f"缺少必填字段 {name}")
        if payload["projectCode"] != app["projectCode"]:
            raise Refusal(codes.INVALID_VALUE, "projectCode 与 appid 不符")
        plain = dict(payload)
        if "corpCode" in payload:
            self._credit_code(payload["corpCode"])
        if family == codes.SUB_CONTRACTOR:
            if payload["corpType"] not in codes.CORP_TYPES:
                raise Refusal(codes.INVALID_VALUE, "corpType 参建类型无效")
            _not_future(payload["entryTime"], DAY, "entryTime")
            if payload.get("pmIDCardNumber"):
                plain["pmIDCardNumber"] = self._id_number(payload, app, "pmIDCardNumber")
        if family == codes.TEAM and payload.get("entryTime"):
            _not_future(payload["entryTime"], DAY, "entryTime")
        if family == codes.TEAM and payload.get("responsiblePersonIDNumber"):
            plain["responsiblePersonIDNumber"] = self._id_number(payload, app, "responsiblePersonIDNumber")
        if list_field is None:
            return plain
        items = payload[list_field]
        if not isinstance(items, list) or not items:
            raise Refusal(codes.INVALID_VALUE, f"{list_field} 须为非空列表")
        plain_items = []
        for n, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise Refusal(codes.INVALID_VALUE, f"{list_field} 第 {n} 项须为对象")
            for name in item_fields:
                if item.get(name) in (None, ""):
                    raise Refusal(codes.MISSING_FIELD, f"{list_field} 第 {n} 项缺少必填字段 {name}")
            row = dict(item, idCardNumber=self._id_number(item, app))
            self._check_item(family, row)
            plain_items.append(row)
        plain[list_field] = plain_items
        return plain

    @staticmethod
    def _credit_code(value) -> None:
        check = check_credit_code(str(value))
        if not check.ok:
            raise Refusal(codes.INVALID_VALUE, f"corpCode {check.reason}")

    def _check_item(self, family: str, row: dict) -> None:
        if family == codes.WORKER:
            if str(row["workRole"]) not in codes.WORK_ROLES:
                raise Refusal(codes.INVALID_VALUE, "workRole 须为 10 管理人员 或 20 建筑工人")
            _check_head_image(str(row["headImage"]))
            row["headImage"] = f"<{len(base64.b64decode(row['headImage']))} bytes>"
        elif family == codes.ENTRY_EXIT:
            if str(row["type"]) not in codes.ENTRY_EXIT_TYPES:
                raise Refusal(codes.INVALID_VALUE, "type 须为 1 进场 或 0 退场")
            _not_future(row["date"], DAY, "date")
        elif family == codes.CONTRACT:
            self._credit_code(row["corpCode"])
            _parse(row["startDate"], DAY, "startDate")
            if row.get("signDate"):
                _not_future(row["signDate"], DAY, "signDate")
        elif family == codes.ATTENDANCE:
            if str(row["direction"]) not in codes.DIRECTIONS:
                raise Refusal(codes.INVALID_VALUE, "direction 须为 01 进 或 02 出")
            _not_future(row["date"], MOMENT, "date")

    # --- submission and later processing ----------------------------------------------------------

    def submit(self, method: str, app: dict, plain: dict, *, forced_failure: str | None = None) -> str:
        serial = secrets.token_hex(12)
        self.requests[serial] = {"status": codes.PENDING, "method": method, "message": "", "result": {}}
        self.counts[method] += 1

        def process():
            request = self.requests[serial]
            if forced_failure is not None:
                request.update(status=codes.FAILED, message=forced_failure)
                return
            try:
                result = self.apply(method, plain)
            except Refusal as refusal:
                if codes.is_already_exists(refusal.message):
                    self.counts["already_exists"] += 1
                request.update(status=codes.FAILED, message=refusal.message)
                return
            failed = [item for item in result.get("items", []) if item["code"] != 0]
            if failed:
                request.update(status=codes.FAILED, message=failed[0]["message"], result=result)
            else:
                request.update(status=codes.SUCCEEDED, message="处理成功", result=result)

        asyncio.get_running_loop().call_later(self.process_delay, process)
        return serial

    def apply(self, method: str, p: dict) -> dict:
        family, _, verb = method.partition(".")
        project = p["projectCode"]
        if family == codes.SUB_CONTRACTOR:
            key = (project, p["corpCode"])
            if verb == "Add" and key in self.units:
                raise Refusal(codes.INVALID_VALUE, f"项目中已存在统一社会信用代码为{p['corpCode']}的参建单位")
            if verb == "Update" and key not in self.units:
                raise Refusal(codes.INVALID_VALUE, "参建单位不存在")
            self.units[key] = p
            return {}
        if family == codes.TEAM:
            if (project, p["corpCode"]) not in self.units:
                raise Refusal(codes.INVALID_VALUE, f"参建单位 {p['corpCode']} 未在项目中登记")
            if verb == "Update":
                team = self._team(project, p["teamSysNo"])
                team.update(p, teamSysNo=team["teamSysNo"])
                return {"teamSysNo": team["teamSysNo"]}
            if any(t["projectCode"] == project and t["corpCode"] == p["corpCode"] and t["teamName"] == p["teamName"]
                   for t in self.teams.values()):
                raise Refusal(codes.INVALID_VALUE, f"班组已存在：{p['teamName']}")
            number = next(self._team_numbers)
            self.teams[number] = dict(p, teamSysNo=number)
            return {"teamSysNo": number}
        team = self._team(project, p["teamSysNo"]) if "teamSysNo" in p else None
        if family == codes.WORKER:
            for w in p["workerList"]:
                key = (project, w["idCardNumber"])
                if verb == "Add" and key in self.workers:
                    raise Refusal(codes.INVALID_VALUE, f"项目中已存在身份证为{_mask(w['idCardNumber'])}的工人")
                if verb == "Update" and key not in self.workers:
                    raise Refusal(codes.INVALID_VALUE, f"项目中不存在身份证为{_mask(w['idCardNumber'])}的工人")
            for w in p["workerList"]:
                self.workers[(project, w["idCardNumber"])] = dict(w, projectCode=project, corpCode=p["corpCode"],
                                                                  teamSysNo=team["teamSysNo"])
            return {}
        if family == codes.ENTRY_EXIT:
            for e in p["dataList"]:
                self._worker(project, e["idCardNumber"])
                key = (project, e["idCardNumber"], e["date"], str(e["type"]))
                if key in self.entry_exits:
                    raise Refusal(codes.INVALID_VALUE, f"进退场记录已存在：{_mask(e['idCardNumber'])} {e['date']}")
                previous = [d for (pc, n, d, _t) in self.entry_exits if pc == project and n == e["idCardNumber"]]
                if previous and e["date"] < max(previous):
                    raise Refusal(codes.INVALID_VALUE, f"进退场日期 {e['date']} 早于上一次进退场日期 {max(previous)}")
                self.entry_exits[key] = dict(e, projectCode=project, teamSysNo=team["teamSysNo"])
            return {}
        if family == codes.CONTRACT:
            for c in p["contractList"]:
                self._worker(project, c["idCardNumber"])
                key = (project, c["idCardNumber"], c["corpCode"], c["startDate"])
                if verb == "Add" and key in self.contracts:
                    raise Refusal(codes.INVALID_VALUE, f"合同已存在：{_mask(c['idCardNumber'])} {c['startDate']}")
                self.contracts[key] = dict(c, projectCode=project)
            return {}
        if family == codes.ATTENDANCE:
            items = []
            for n, a in enumerate(p["dataList"]):
                key = (project, a["idCardNumber"], a["date"], str(a["direction"]))
                worker = self.workers.get((project, a["idCardNumber"]))
                if worker is None:
                    items.append({"index": n, "code": codes.INVALID_VALUE,
                                  "message": f"项目中不存在身份证为{_mask(a['idCardNumber'])}的工人"})
                elif key in self.attendance:
                    self.counts["already_exists"] += 1
                    items.append({"index": n, "code": codes.INVALID_VALUE,
                                  "message": f"考勤记录已存在：{_mask(a['idCardNumber'])} {a['date']}"})
                else:
                    self.attendance[key] = dict(a, projectCode=project, teamSysNo=team["teamSysNo"])
                    items.append({"index": n, "code": codes.OK, "message": "成功"})
            return {"items": items}
        raise Refusal(codes.UNKNOWN_METHOD, f"未知的 method {method}")

    def _team(self, project: str, number) -> dict:
        try:
            team = self.teams.get(int(number))
        except (TypeError, ValueError):
            team = None
        if team is None or team["projectCode"] != project:
            raise Refusal(codes.INVALID_VALUE, f"班组编号 teamSysNo {number} 不存在，请先上传班组")
        return team

    def _worker(self, project: str, id_number: str) -> dict:
        worker = self.workers.get((project, id_number))
        if worker is None:
            raise Refusal(codes.INVALID_VALUE, f"项目中不存在身份证为{_mask(id_number)}的工人，请先上传工人")
        return worker

    def query(self, method: str, app: dict, payload: dict) -> object:
        if method == codes.ASYNC_RESULT_QUERY:
            request = self.requests.get(str(payload.get("requestSerialCode", "")))
            if request is None:
                raise Refusal(codes.UNKNOWN_SERIAL, "requestSerialCode 不存在")
            return {"status": request["status"], "message": request["message"], "result": request["result"]}
        project = app["projectCode"]
        if method == f"{codes.TEAM}.Query":
            return [{"teamSysNo": t["teamSysNo"], "teamName": t["teamName"], "corpCode": t["corpCode"]}
                    for t in self.teams.values() if t["projectCode"] == project
                    and all(t.get(k) == v for k, v in payload.items() if k in ("corpCode", "teamName"))]
        if method == f"{codes.WORKER}.Query":
            number = self._id_number(payload, app) if payload.get("idCardNumber") else None
            return [{"teamSysNo": w["teamSysNo"], "workerName": w["workerName"], "corpCode": w["corpCode"],
                     "idCardNumber": signing.encrypt(w["idCardNumber"], app["appsecret"])}
                    for (pc, n), w in self.workers.items() if pc == project and number in (None, n)]
        raise Refusal(codes.UNKNOWN_METHOD, f"未知的 method {method}")


class ApiHandler(tornado.web.RequestHandler):
    def initialize(self, state: PlatformState):
        self.state = state

    def answer(self, code: int, message: str, data=None) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"code": code, "message": message, "data": data}, ensure_ascii=False))

    async def post(self):
        form = {k: self.get_body_argument(k, "") for k in signing.FORM_FIELDS}
        method = form["method"]
        rule = self.state.rule_for(method, form["data"])
        if rule is not None and rule.kind in ("slow", "timeout"):
            await asyncio.sleep(rule.delay)
            if rule.kind == "timeout":
                self.set_status(504)
                return self.finish("gateway timeout")
        if rule is not None and rule.kind == "error":
            self.set_status(rule.status)
            return self.finish("platform error")
        try:
            app, payload = self.state.check_envelope(form)
            if method in codes.QUERY_METHODS:
                return self.answer(codes.OK, "成功", self.state.query(method, app, payload))
            if method not in codes.UPLOAD_METHODS:
                raise Refusal(codes.UNKNOWN_METHOD, f"未知的 method {method}")
            if rule is not None and rule.kind == "refuse":
                raise Refusal(codes.INVALID_VALUE, rule.message)
            plain = self.state.check_payload(method, app, payload)
        except Refusal as refusal:
            self.state.counts["refused"] += 1
            return self.answer(refusal.code, refusal.message)
        serial = self.state.submit(method, app, plain,
                                   forced_failure=rule.message if rule is not None and rule.kind == "fail" else None)
        if rule is not None and rule.kind == "lost_reply":
            # Taken and processed, but the answer never reaches the caller.
            self.request.connection.close()
            self._finished = True
            return
        self.answer(codes.OK, "成功", {"requestSerialCode": serial})


class StateHandler(tornado.web.RequestHandler):
    def initialize(self, state: PlatformState):
        self.state = state

    def get(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(self.state.dump(), ensure_ascii=False, default=str))


class InjectHandler(StateHandler):
    def post(self):
        body = json.loads(self.request.body or b"{}")
        if body.get("clear"):
            self.state.rules.clear()
        for raw in body.get("rules", []):
            if raw.get("kind") not in Rule.KINDS:
                raise tornado.web.HTTPError(400, f"kind must be one of {Rule.KINDS}")
            self.state.rules.append(Rule(**{k: raw[k] for k in raw if k in Rule.__dataclass_fields__}))
        self.finish({"rules": len(self.state.rules)})


class AppsHandler(StateHandler):
    def post(self):
        body = json.loads(self.request.body or b"{}")
        try:
            self.state.add_app(body["appid"], body["appsecret"], body["projectCode"])
        except (KeyError, ValueError) as exc:
            raise tornado.web.HTTPError(400, str(exc))
        self.finish({"apps": len(self.state.apps)})


def make_app(state: PlatformState) -> tornado.web.Application:
    routes = [(r"/_sim/state", StateHandler), (r"/_sim/inject", InjectHandler), (r"/_sim/apps", AppsHandler),
              (r"/(?:api)?", ApiHandler)]
    return tornado.web.Application([(path, handler, {"state": state}) for path, handler in routes])


def parse_app(text: str) -> tuple[str, str, str]:
    """`APPID:SECRET:PROJECTCODE` from the command line."""
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--app must be APPID:SECRET:PROJECTCODE, not {text!r}")
    return parts[0], parts[1], parts[2]


async def serve(host: str, port: int, state: PlatformState, *, ready=None) -> None:
    server = make_app(state).listen(port, address=host)
    bound = next(iter(server._sockets.values())).getsockname()[1]
    print(f"province-sim listening on http://{host}:{bound}/api", flush=True)
    if ready is not None:
        ready(bound)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed at start)")
    parser.add_argument("--app", action="append", default=[], metavar="APPID:SECRET:PROJECTCODE",
                        help="a project's credentials; repeat for more (or POST /_sim/apps)")
    parser.add_argument("--clock-window", type=float, default=600.0, help="seconds a timestamp may be off")
    parser.add_argument("--process-delay", type=float, default=0.05,
                        help="seconds before a submission's outcome is ready (AsyncHandleResult.Query)")


def main(args) -> int:
    state = PlatformState(clock_window=args.clock_window, process_delay=args.process_delay)
    for text in args.app:
        state.add_app(*parse_app(text))
    asyncio.run(serve(args.host, args.port, state))
    return 0
