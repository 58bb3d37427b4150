"""项目合格 (the supervisors' guide 2.3): whether a project's records all reached the provincial platform.

All three must hold:
1. the project and every one of its participating units (参建单位) are 上传成功;
2. every team in the site (在场班组) is 上传成功;
3. of its current workers (在职人员, entered and not exited), at least the configured share
   (REALNAME_QUALIFIED_WORKER_SHARE, default 100 %) are 上传成功. No current workers: nothing to miss.

"The project uploaded": the contract has no method for a project itself. The platform issues appid
and secret per project it already has, and a project's records reach it through its units
(ProjectSubContractor, corpType 009 ties the project to its general contractor). So a project counts
as uploaded when it carries its platform credentials and its general contractor unit is 上传成功 (and,
should a project record ever be sent, that record too). Pure: the store reads the facts
(server/store/qualification.py).
"""
from __future__ import annotations

import dataclasses

SUCCEEDED = "上传成功"
NOT_SENT = "未上传"
NAMES_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class Record:
    name: str
    state: str | None          # the upload record's state; None: no record yet (未上传)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.state == SUCCEEDED

    def text(self) -> str:
        state = self.state or NOT_SENT
        return f"{self.name}（{state}：{self.reason}）" if self.reason and not self.ok else f"{self.name}（{state}）"


@dataclasses.dataclass(frozen=True)
class Facts:
    has_credentials: bool
    general_contractor: Record | None   # None: no general contractor unit on the project
    units: tuple[Record, ...] = ()
    teams_in_site: tuple[Record, ...] = ()
    workers_succeeded: int = 0
    workers_current: int = 0
    project_record: Record | None = None


def _listed(records: list[Record]) -> str:
    shown = "、".join(r.text() for r in records[:NAMES_SHOWN])
    return shown + (f" 等 {len(records)} 个" if len(records) > NAMES_SHOWN else "")


def worker_share(facts: Facts) -> float:
    """Percent of current workers 上传成功 (100 when there are none)."""
    return 100.0 if not facts.workers_current else 100.0 * facts.workers_succeeded / facts.workers_current


def qualify(facts: Facts, *, worker_share_required: float = 100.0) -> tuple[bool, list[str]]:
    """(qualified, the reasons it is not, in Chinese, in the rule's order)."""
    reasons = []
    if not facts.has_credentials:
        reasons.append("项目未上传成功（未配置省厅平台 appid）")
    elif facts.general_contractor is None:
        reasons.append("项目未上传成功（未登记总承包单位）")
    elif not facts.general_contractor.ok:
        reasons.append("项目未上传成功（总承包单位未上传成功）")
    if facts.project_record is not None and not facts.project_record.ok:
        reasons.append(f"项目信息未上传成功：{facts.project_record.text()}")
    failing_units = [u for u in facts.units if not u.ok]
    if failing_units:
        reasons.append("参建单位未上传成功：" + _listed(failing_units))
    failing_teams = [t for t in facts.teams_in_site if not t.ok]
    if failing_teams:
        reasons.append("在场班组未上传成功：" + _listed(failing_teams))
    share = worker_share(facts)
    if share < worker_share_required:
        reasons.append(f"在职人员上传成功 {facts.workers_succeeded}/{facts.workers_current}（{share:.0f}%），"
                       f"低于 {worker_share_required:g}%")
    return not reasons, reasons
