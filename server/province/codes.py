"""The provincial / national platform's code tables, in one place.

参建类型 (corpType) follows the national platform's dictionary as published clients list it: 009 总承包单位,
008 建设单位, 007 监理 are the issue's facts; the other rows are the same table as we read it.
"""
from __future__ import annotations

from ..domain import vocabulary

# --- methods ---------------------------------------------------------------------------------

SUB_CONTRACTOR = "ProjectSubContractor"
TEAM = "Team"
WORKER = "ProjectWorker"
ENTRY_EXIT = "WorkerEntryExit"
CONTRACT = "WorkerContract"
ATTENDANCE = "WorkerAttendance"
ASYNC_RESULT_QUERY = "AsyncHandleResult.Query"

# Our upload kinds → the platform's method family (Add / Update; Query where the platform offers one).
METHOD_BY_KIND: dict[str, str] = {
    "unit": SUB_CONTRACTOR,
    "team": TEAM,
    "worker": WORKER,
    "entry_exit": ENTRY_EXIT,
    "contract": CONTRACT,
    "attendance": ATTENDANCE,
}
UPLOAD_METHODS: tuple[str, ...] = tuple(
    f"{family}.{verb}" for family in METHOD_BY_KIND.values() for verb in ("Add", "Update"))
QUERY_METHODS: tuple[str, ...] = (ASYNC_RESULT_QUERY, f"{TEAM}.Query", f"{WORKER}.Query")

# --- 参建类型 (corpType) --------------------------------------------------------------------------

CORP_TYPE_BY_UNIT_TYPE: dict[str, str] = {
    vocabulary.SPECIALIST_SUBCONTRACTOR: "001",
    vocabulary.LABOUR_SUBCONTRACTOR: "006",
    vocabulary.SUPERVISOR: "007",
    vocabulary.BUILDER: "008",
    vocabulary.GENERAL_CONTRACTOR: "009",
    vocabulary.SURVEYOR: "010",
    vocabulary.DESIGNER: "011",
}
CORP_TYPE_OTHER = "012"  # 其它: a unit type the table has no row for
CORP_TYPES = frozenset(CORP_TYPE_BY_UNIT_TYPE.values()) | {"002", "003", "004", "005", CORP_TYPE_OTHER}


def corp_type(unit_type: str) -> str:
    return CORP_TYPE_BY_UNIT_TYPE.get(unit_type, CORP_TYPE_OTHER)


# --- people ----------------------------------------------------------------------------------

ID_CARD_TYPE_RESIDENT = "01"      # 居民身份证
WORK_ROLE_MANAGER = "10"          # 管理人员
WORK_ROLE_WORKER = "20"           # 建筑工人
WORK_ROLES = frozenset({WORK_ROLE_MANAGER, WORK_ROLE_WORKER})

# --- entry / exit and attendance ---------------------------------------------------------------

ENTRY = "1"                       # WorkerEntryExit type: 1 进场
EXIT = "0"                        #                       0 退场
ENTRY_EXIT_TYPES = frozenset({ENTRY, EXIT})
DIRECTION_IN = "01"               # WorkerAttendance direction: 01 进
DIRECTION_OUT = "02"              #                             02 出
DIRECTIONS = frozenset({DIRECTION_IN, DIRECTION_OUT})

# --- contracts -------------------------------------------------------------------------------

# 合同期限类型 in the vocabulary's order (固定期限, 无固定期限, 以完成一定工作任务为期限) → the platform's code.
CONTRACT_PERIOD_BY_TERM: dict[str, str] = dict(zip(vocabulary.CONTRACT_TERM_TYPES, ("0", "2", "1")))
# Our pay units (server/store/contracts.PAY_UNITS) → the platform's 计量单位 code, as we read the table.
PAY_UNIT_CODES: dict[str, str] = {"按月": "1", "按天": "2", "按小时": "3", "按工程量": "4"}
PAY_UNIT_OTHER = "9"

# --- AsyncHandleResult.Query status --------------------------------------------------------------

PENDING = 0                       # 待处理
FAILED = 10                       # 处理失败 (with the reason)
SUCCEEDED = 20                    # 处理成功 (with the platform's ids)
STATUS_WORDS = {PENDING: "待处理", FAILED: "处理失败", SUCCEEDED: "处理成功"}

# --- answer codes (code ≠ 0 is a refusal; the message says why) ---------------------------------

OK = 0
BAD_SIGNATURE = 1001
BAD_TIMESTAMP = 1002
UNKNOWN_APPID = 1003
MISSING_FIELD = 1004
INVALID_VALUE = 1005
UNKNOWN_METHOD = 1006
UNKNOWN_SERIAL = 1007

# "Already exists" answers a careful client treats as success and reconciles with the platform's copy.
ALREADY_EXISTS_MARK = "已存在"


def is_already_exists(message: str) -> bool:
    return ALREADY_EXISTS_MARK in (message or "")
