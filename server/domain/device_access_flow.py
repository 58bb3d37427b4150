"""The supplier's business scopes and the device access workflow (供应商指引 2.3–2.4), without I/O.

The guide's four steps are 设备接入申请 → 设备接入审核 → 联网结果核查申请 → 联网结果核查. Between them
the supervisor grants 测试环境授权 and 正式环境授权 (the remark carries the gateway address and the
credentials) and the supplier reports 测试环境联调成功 and 正式环境联调成功. This module fixes, as
data, which state an application is in, who acts next, which actions move it where, and which
gateway environment each state grants; the store applies the side effects.

Reading of the guide (it leaves these open):
- 设备接入审核 either grants the test environment or refuses (办结, refused);
- 联网结果核查申请 covers the supplier's two reports and, between them, the production grant;
- 联网结果核查 either closes the application (办结, device in production) or returns it to the
  supplier for another production run;
- the supervisor may revoke an authorised device at any time (撤销授权, 办结): the device is removed
  from the gateway.
"""
from __future__ import annotations

import dataclasses
import re

from . import vocabulary as v

SUPPLIER, SUPERVISOR = "supplier", "supervisor"

# --- business scopes (申请业务范围) -------------------------------------------------------------
# The guide names 采集设备, 考勤设备, 噪音扬尘 "等"; the required fields of each are ours (the guide's
# screenshots are not in the source text). Each field: (name, Chinese label, choices or None).
BIOMETRIC_METHODS = ("人脸识别", "指纹识别", "虹膜识别")
COLLECTION_METHODS = ("移动应用", "设备采集")


@dataclasses.dataclass(frozen=True)
class Scope:
    code: str
    label: str
    fields: tuple[tuple[str, str, tuple[str, ...] | None], ...]
    # Whether its devices speak the attendance protocol and so go through the device gateway.
    gateway: bool


_CONTACT = (("contact_name", "业务联系人", None), ("contact_phone", "联系电话", None))
_SCOPE_FIELDS = {
    v.SCOPE_COLLECTION: (_CONTACT + (
        ("device_models", "设备型号", None), ("collection_method", "采集方式", COLLECTION_METHODS)), True),
    v.SCOPE_ATTENDANCE: (_CONTACT + (
        ("device_models", "设备型号", None), ("biometric_method", "生物识别方式", BIOMETRIC_METHODS)), True),
    v.SCOPE_DUST_NOISE: (_CONTACT + (
        ("device_models", "设备型号", None), ("monitor_items", "监测指标", None)), False),
}
SCOPES: dict[str, Scope] = {code: Scope(code, v.SCOPE_NAMES[code], *_SCOPE_FIELDS[code]) for code in v.SCOPE_CODES}
SCOPE_STATES = v.SCOPE_STATE_NAMES

# --- device access applications -------------------------------------------------------------------
STEPS = ("设备接入申请", "设备接入审核", "联网结果核查申请", "联网结果核查")

# state → step number 1–4 the application is at, who acts next or None when 办结
_STEP_AND_ACTOR: dict[str, tuple[int, str | None]] = {
    v.ACCESS_APPLIED: (2, SUPERVISOR),
    v.ACCESS_TEST_AUTHORISED: (3, SUPPLIER),
    v.ACCESS_TEST_PASSED: (3, SUPERVISOR),
    v.ACCESS_PRODUCTION_AUTHORISED: (3, SUPPLIER),
    v.ACCESS_CHECK_REQUESTED: (4, SUPERVISOR),
    v.ACCESS_COMPLETED: (4, None),
    v.ACCESS_REFUSED: (2, None),
    v.ACCESS_REVOKED: (4, None),
}
# state → (Chinese label, step, who acts next or None when 办结)
STATES: dict[str, tuple[str, int, str | None]] = {
    state: (v.DEVICE_ACCESS_STATE_NAMES[state], *_STEP_AND_ACTOR[state]) for state in v.DEVICE_ACCESS_STATES
}
# The gateway environment an application's device is admitted to in each state (None: not admitted).
ENVIRONMENT = {v.ACCESS_TEST_AUTHORISED: v.TEST_ENVIRONMENT, v.ACCESS_TEST_PASSED: v.TEST_ENVIRONMENT,
               v.ACCESS_PRODUCTION_AUTHORISED: v.PRODUCTION_ENVIRONMENT,
               v.ACCESS_CHECK_REQUESTED: v.PRODUCTION_ENVIRONMENT, v.ACCESS_COMPLETED: v.PRODUCTION_ENVIRONMENT}


@dataclasses.dataclass(frozen=True)
class Action:
    code: str
    label: str            # the button and the flow record's wording
    actor: str
    sources: tuple[str, ...]
    target: str
    step: int             # the guide's step this action belongs to
    remark_label: str     # what the remark holds; every action except the first requires one


ACTIONS: dict[str, Action] = {a.code: a for a in (
    Action("submit", "提交资料", SUPPLIER, (), "applied", 1, "申请说明"),
    Action("authorise_test", "审核通过（测试环境授权）", SUPERVISOR, ("applied",), "test_authorised", 2,
           "备注：测试环境访问地址、项目账号及密码"),
    Action("refuse", "审核不通过", SUPERVISOR, ("applied",), "refused", 2, "审核意见"),
    Action("report_test", "测试环境联调成功", SUPPLIER, ("test_authorised",), "test_passed", 3, "联调情况"),
    Action("authorise_production", "正式环境授权", SUPERVISOR, ("test_passed",), "production_authorised", 3,
           "备注：正式环境访问地址、项目账号及密码"),
    Action("return_test", "退回重新联调（测试环境）", SUPERVISOR, ("test_passed",), "test_authorised", 3, "退回原因"),
    Action("report_production", "正式环境联调成功（申请联网结果核查）", SUPPLIER, ("production_authorised",),
           "check_requested", 3, "联网结果核查申请说明"),
    Action("verify", "联网结果核查通过（设备作业核查通过）", SUPERVISOR, ("check_requested",), "completed", 4, "核查意见"),
    Action("return_check", "核查不通过，退回", SUPERVISOR, ("check_requested",), "production_authorised", 4, "核查意见"),
    Action("revoke", "撤销授权", SUPERVISOR, tuple(ENVIRONMENT), "revoked", 4, "撤销原因"),
)}

# Lists (待办 / 已办 / 办结) per side: 待办 waits for this side, 已办 waits for the other side.
LISTS = {"todo": "待办", "done": "已办", "closed": "办结"}


class FlowError(ValueError):
    """An action that may not happen now; `status` is 403 (wrong side) or 409 (wrong moment)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def transition(state: str | None, action_code: str, actor: str) -> Action:
    """The action if `actor` may take it from `state` (None: not yet applied); FlowError otherwise."""
    action = ACTIONS.get(action_code)
    if action is None:
        raise FlowError(f"未知的操作 {action_code}，可选：{'、'.join(ACTIONS)}", 400)
    if action.actor != actor:
        who = "监管" if action.actor == SUPERVISOR else "供应商"
        raise FlowError(f"“{action.label}”只能由{who}办理", 403)
    if state not in action.sources and not (state is None and not action.sources):
        label = STATES[state][0] if state in STATES else "未申请"
        raise FlowError(f"当前状态为“{label}”，不能办理“{action.label}”", 409)
    return action


def next_actions(state: str, actor: str) -> list[Action]:
    """What `actor` may do now (the buttons a page shows)."""
    return [a for a in ACTIONS.values() if a.actor == actor and state in a.sources]


def states_in_list(side: str, name: str) -> tuple[str, ...]:
    if name not in LISTS:
        raise FlowError(f"列表须为 {'、'.join(LISTS)} 之一", 400)
    if name == "closed":
        return tuple(s for s, (_, _, who) in STATES.items() if who is None)
    mine = name == "todo"
    return tuple(s for s, (_, _, who) in STATES.items() if who is not None and (who == side) == mine)


def step_of(state: str) -> int:
    return STATES[state][1]


# --- field rules shared by registration and applications -----------------------------------------
# Vendor code and device id travel in 32-byte text fields of 843 (codec LoginRequest, UTF-8, NUL
# padded); ASCII letters, digits and - _ . keep bytes = characters and survive every device UI.
PROTOCOL_TEXT_BYTES = 32
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def code_problem(value: str) -> str | None:
    """Why a vendor code or device id cannot be used in 843, or None."""
    if not _CODE.match(value or ""):
        return f"须为 1–{PROTOCOL_TEXT_BYTES} 位字母、数字或 _ . -（设备登录报文字段为 {PROTOCOL_TEXT_BYTES} 字节）"
    return None
