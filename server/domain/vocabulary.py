"""The platform's one vocabulary: unit types, manager teams, jobs and posts, team kinds, counties,
project statuses, contract term types and the states of the review workflows.

Words are the source's own (the city's notice and the project guide). Where the source leaves a
list open ("..."), the additions are marked below so they can be pruned without hunting. Every
other module names these words through this one (the store's $jsonSchema validators are built
from the tuples here; tests/domain/test_vocabulary.py fails on a copy elsewhere in server/).
Roles are not here: they belong to the access model.
"""
from __future__ import annotations

# --- participating units (参建单位) -------------------------------------------------------------

BUILDER = "建设单位"
GENERAL_CONTRACTOR = "施工总承包单位"
SPECIALIST_SUBCONTRACTOR = "专业分包"
LABOUR_SUBCONTRACTOR = "劳务分包"
SUPERVISOR = "监理单位"
SURVEYOR = "勘察单位"
DESIGNER = "设计单位"

UNIT_TYPES: tuple[str, ...] = (
    BUILDER, GENERAL_CONTRACTOR, SPECIALIST_SUBCONTRACTOR, LABOUR_SUBCONTRACTOR,
    SUPERVISOR, SURVEYOR, DESIGNER,
)

# The project guide's tables abbreviate the type ("监理", "总承包单位"); imports and the provincial
# platform's replies use those short forms.
UNIT_TYPE_ALIASES: dict[str, str] = {
    "建设": BUILDER,
    "总承包单位": GENERAL_CONTRACTOR,
    "总承包": GENERAL_CONTRACTOR,
    "总包单位": GENERAL_CONTRACTOR,
    "总包": GENERAL_CONTRACTOR,
    "施工总承包": GENERAL_CONTRACTOR,
    "专业分包单位": SPECIALIST_SUBCONTRACTOR,
    "劳务分包单位": LABOUR_SUBCONTRACTOR,
    "监理": SUPERVISOR,
    "勘察": SURVEYOR,
    "设计": DESIGNER,
}


def normalise_unit_type(value: str) -> str | None:
    """The canonical unit type for a full or abbreviated name, None when not a unit type."""
    value = (value or "").strip()
    if value in UNIT_TYPES:
        return value
    return UNIT_TYPE_ALIASES.get(value)


# --- manager teams (管理人员班组), created automatically per unit by its type ---------------------

GC_MANAGER_TEAM = "总承包单位项目部"
SUPERVISOR_MANAGER_TEAM = "监理项目部"
BUILDER_MANAGER_TEAM = "建设单位项目部"
SUBCONTRACTOR_MANAGER_TEAM = "分包单位项目部"
# Not named by the source; kept so every unit type has somewhere to put its managers.
SURVEYOR_MANAGER_TEAM = "勘察单位项目部"
DESIGNER_MANAGER_TEAM = "设计单位项目部"

MANAGER_TEAM_BY_UNIT_TYPE: dict[str, str] = {
    GENERAL_CONTRACTOR: GC_MANAGER_TEAM,
    SUPERVISOR: SUPERVISOR_MANAGER_TEAM,
    BUILDER: BUILDER_MANAGER_TEAM,
    SPECIALIST_SUBCONTRACTOR: SUBCONTRACTOR_MANAGER_TEAM,
    LABOUR_SUBCONTRACTOR: SUBCONTRACTOR_MANAGER_TEAM,
    SURVEYOR: SURVEYOR_MANAGER_TEAM,
    DESIGNER: DESIGNER_MANAGER_TEAM,
}

# Key posts the figures and warnings are about.
PROJECT_MANAGER = "项目经理"
TECHNICAL_LEAD = "技术负责人"
SAFETY_OFFICER = "安全员"
CHIEF_SUPERVISOR = "总监理工程师"
LABOUR_OFFICER = "劳资专管员"

# Job names are unique across manager teams so that a job alone tells which team (and so which
# unit type) offers it; the guide makes the user pick the unit whose team has the job.
MANAGER_JOBS_BY_TEAM: dict[str, tuple[str, ...]] = {
    GC_MANAGER_TEAM: (
        PROJECT_MANAGER, TECHNICAL_LEAD, SAFETY_OFFICER, "质量员", "施工员", "材料员", "资料员",
        LABOUR_OFFICER,
        # The notice's 项目负责人 list also names these; the last two are the remaining 八大员.
        "安全负责人", "质量负责人", "机械员", "标准员",
    ),
    SUPERVISOR_MANAGER_TEAM: (CHIEF_SUPERVISOR, "总监理工程师代表", "专业监理工程师", "监理员"),
    # The source does not list these teams' posts; plausible ones, prefixed to stay unique.
    BUILDER_MANAGER_TEAM: ("建设单位项目负责人", "建设单位现场代表", "建设单位专业工程师"),
    SUBCONTRACTOR_MANAGER_TEAM: ("分包项目负责人", "分包技术负责人", "分包安全员", "分包施工员", "分包劳资员"),
    SURVEYOR_MANAGER_TEAM: ("勘察项目负责人", "勘察工程师"),
    DESIGNER_MANAGER_TEAM: ("设计项目负责人", "设计工程师"),
}

MANAGER_JOBS: tuple[str, ...] = tuple(j for jobs in MANAGER_JOBS_BY_TEAM.values() for j in jobs)

_TEAM_BY_MANAGER_JOB: dict[str, str] = {
    job: team for team, jobs in MANAGER_JOBS_BY_TEAM.items() for job in jobs
}


def manager_team_for(unit_type: str) -> str | None:
    """The manager team a unit of this type gets automatically (None for an unknown type)."""
    canonical = normalise_unit_type(unit_type)
    return MANAGER_TEAM_BY_UNIT_TYPE.get(canonical) if canonical else None


def manager_jobs_for(unit_type: str) -> tuple[str, ...]:
    """The manager jobs a unit of this type offers (empty for an unknown type)."""
    team = manager_team_for(unit_type)
    return MANAGER_JOBS_BY_TEAM.get(team, ()) if team else ()


def is_manager_job(job: str) -> bool:
    return job in _TEAM_BY_MANAGER_JOB


def manager_team_of_job(job: str) -> str | None:
    """The manager team whose list holds this job."""
    return _TEAM_BY_MANAGER_JOB.get(job)


def unit_types_offering(job: str) -> tuple[str, ...]:
    """Unit types whose manager team offers this job, in UNIT_TYPES order."""
    team = _TEAM_BY_MANAGER_JOB.get(job)
    return tuple(t for t in UNIT_TYPES if team and MANAGER_TEAM_BY_UNIT_TYPE[t] == team)


# --- workers and other staff -------------------------------------------------------------------

ORDINARY_WORKER = "普通工人"

WORKER_JOBS: tuple[str, ...] = (
    ORDINARY_WORKER, "钢筋工", "木工", "模板工", "混凝土工", "架子工", "电工", "焊工", "砌筑工",
    "抹灰工", "油漆工", "防水工", "管道工", "水电安装工", "机械操作工", "起重信号工", "司索工",
    "起重机械司机", "施工升降机司机", "测量工", "装饰装修工", "幕墙安装工", "桩基工", "通风工",
    "电梯安装工",
)

# 特种作业人员 (the notice counts them among 作业工人): jobs needing a special operation certificate.
SPECIAL_OPERATION_JOBS: frozenset[str] = frozenset({
    "电工", "焊工", "架子工", "起重信号工", "司索工", "起重机械司机", "施工升降机司机", "幕墙安装工",
})

OTHER_STAFF_JOBS: tuple[str, ...] = ("保安", "厨师", "保洁", "采购", "后勤")


def job_category(job: str) -> str | None:
    """"manager", "worker" or "other" for a known job, None otherwise."""
    if job in _TEAM_BY_MANAGER_JOB:
        return "manager"
    if job in WORKER_JOBS:
        return "worker"
    if job in OTHER_STAFF_JOBS:
        return "other"
    return None


# --- teams (班组) -------------------------------------------------------------------------------

MANAGER_TEAM_KIND = "管理人员班组"
WORKER_TEAM_KIND = "普通工人班组"
OTHER_TEAM_KIND = "其他人员班组"

TEAM_KINDS: tuple[str, ...] = (MANAGER_TEAM_KIND, WORKER_TEAM_KIND, OTHER_TEAM_KIND)


def is_generated_team_kind(kind: str) -> bool:
    """Manager teams are made by the platform: no edit, delete, entry or exit by the project."""
    return kind == MANAGER_TEAM_KIND


def team_kind_changes(kind: str) -> tuple[str, ...]:
    """Kinds a team of this kind may be changed to (the guide: only 普通工人班组 → 其他人员班组)."""
    return (OTHER_TEAM_KIND,) if kind == WORKER_TEAM_KIND else ()


def jobs_for_team_kind(kind: str, unit_type: str | None = None) -> tuple[str, ...]:
    """Jobs a person may hold in a team of this kind; manager teams depend on the unit's type."""
    if kind == WORKER_TEAM_KIND:
        return WORKER_JOBS
    if kind == OTHER_TEAM_KIND:
        return OTHER_STAFF_JOBS
    if kind == MANAGER_TEAM_KIND:
        return manager_jobs_for(unit_type) if unit_type else ()
    return ()


# --- projects ----------------------------------------------------------------------------------

# 市辖区: the city itself; it has no territory of its own (its projects lie in the districts).
CITY_COUNTY = "市辖区"
COUNTIES: tuple[str, ...] = (CITY_COUNTY, "蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市")

# GB/T 2260 codes; project numbers in the source start with them (e.g. 440781202207200501).
COUNTY_AREA_CODES: dict[str, str] = {
    "市辖区": "440701", "蓬江区": "440703", "江海区": "440704", "新会区": "440705",
    "台山市": "440781", "开平市": "440783", "鹤山市": "440784", "恩平市": "440785",
}


def county_for_area_code(code: str) -> str | None:
    for county, area in COUNTY_AREA_CODES.items():
        if area == code:
            return county
    return None


PROJECT_UNDER_CONSTRUCTION = "在建"
PROJECT_SUSPENDED = "停工"
PROJECT_COMPLETED = "完工"
PROJECT_CANCELLED = "注销"

PROJECT_STATUSES: tuple[str, ...] = (
    PROJECT_UNDER_CONSTRUCTION, PROJECT_SUSPENDED, PROJECT_COMPLETED, PROJECT_CANCELLED,
)

# The platform covers 房屋市政 works; the source shows only 房屋建筑工程, the rest are the usual
# 房屋市政 sub-categories.
PROJECT_CATEGORIES: tuple[str, ...] = (
    "房屋建筑工程", "市政公用工程", "装饰装修工程", "园林绿化工程", "城市轨道交通工程", "其他工程",
)


# --- contracts (劳动合同) -------------------------------------------------------------------------

OPEN_ENDED_TERM = "无固定期限"
CONTRACT_TERM_TYPES: tuple[str, ...] = ("固定期限", OPEN_ENDED_TERM, "以完成一定工作任务为期限")

# --- workflow states ----------------------------------------------------------------------------
# Stored codes are English (machines, URLs); each maps to the Chinese name people read.

# 项目申报 → 项目审核
DECLARATION_PENDING, DECLARATION_PASSED, DECLARATION_FAILED = "pending", "passed", "failed"
DECLARATION_STATE_NAMES: dict[str, str] = {
    DECLARATION_PENDING: "待审核", DECLARATION_PASSED: "审核通过", DECLARATION_FAILED: "审核不通过",
}
DECLARATION_STATES: tuple[str, ...] = tuple(DECLARATION_STATE_NAMES)

# 供应商 business scopes (申请业务范围, 供应商指引 2.3) and their review.
SCOPE_COLLECTION, SCOPE_ATTENDANCE, SCOPE_DUST_NOISE = "collection", "attendance", "dust_noise"
SCOPE_NAMES: dict[str, str] = {SCOPE_COLLECTION: "采集设备", SCOPE_ATTENDANCE: "考勤设备", SCOPE_DUST_NOISE: "噪音扬尘"}
SCOPE_CODES: tuple[str, ...] = tuple(SCOPE_NAMES)

SCOPE_PENDING, SCOPE_APPROVED, SCOPE_REFUSED = "pending", "approved", "refused"
SCOPE_STATE_NAMES: dict[str, str] = {SCOPE_PENDING: "待审核", SCOPE_APPROVED: "已通过", SCOPE_REFUSED: "不通过"}
SCOPE_STATES: tuple[str, ...] = tuple(SCOPE_STATE_NAMES)

# 设备接入申请 (供应商指引 2.4); server/domain/device_access_flow.py says who acts in each state.
ACCESS_APPLIED = "applied"
ACCESS_TEST_AUTHORISED = "test_authorised"
ACCESS_TEST_PASSED = "test_passed"
ACCESS_PRODUCTION_AUTHORISED = "production_authorised"
ACCESS_CHECK_REQUESTED = "check_requested"
ACCESS_COMPLETED = "completed"
ACCESS_REFUSED = "refused"
ACCESS_REVOKED = "revoked"
DEVICE_ACCESS_STATE_NAMES: dict[str, str] = {
    ACCESS_APPLIED: "待设备接入审核",
    ACCESS_TEST_AUTHORISED: "测试环境已授权，待测试环境联调",
    ACCESS_TEST_PASSED: "测试环境联调成功，待正式环境授权",
    ACCESS_PRODUCTION_AUTHORISED: "正式环境已授权，待正式环境联调",
    ACCESS_CHECK_REQUESTED: "已申请联网结果核查",
    ACCESS_COMPLETED: "办结（核查通过）",
    ACCESS_REFUSED: "办结（审核不通过）",
    ACCESS_REVOKED: "办结（已撤销授权）",
}
DEVICE_ACCESS_STATES: tuple[str, ...] = tuple(DEVICE_ACCESS_STATE_NAMES)

# The gateway environments a device may be admitted to (843 login answers differ per environment).
TEST_ENVIRONMENT, PRODUCTION_ENVIRONMENT = "test", "production"
ENVIRONMENT_NAMES: dict[str, str] = {TEST_ENVIRONMENT: "测试环境", PRODUCTION_ENVIRONMENT: "正式环境"}
ENVIRONMENTS: tuple[str, ...] = tuple(ENVIRONMENT_NAMES)
