"""The roster vocabulary: every unit type has a manager team, jobs are unambiguous."""
from __future__ import annotations

import pytest

from server.domain import vocabulary


def test_unit_types_as_in_the_source():
    assert vocabulary.UNIT_TYPES == ("建设单位", "施工总承包单位", "专业分包", "劳务分包", "监理单位", "勘察单位", "设计单位")


@pytest.mark.parametrize("unit_type, team", [
    ("施工总承包单位", "总承包单位项目部"),
    ("监理单位", "监理项目部"),
    ("建设单位", "建设单位项目部"),
    ("专业分包", "分包单位项目部"),
    ("劳务分包", "分包单位项目部"),
    # The guide's abbreviations.
    ("总承包单位", "总承包单位项目部"),
    ("监理", "监理项目部"),
])
def test_manager_team_for(unit_type, team):
    assert vocabulary.manager_team_for(unit_type) == team


def test_every_unit_type_gets_a_manager_team_with_jobs():
    for unit_type in vocabulary.UNIT_TYPES:
        team = vocabulary.manager_team_for(unit_type)
        assert team in vocabulary.MANAGER_JOBS_BY_TEAM
        assert vocabulary.manager_jobs_for(unit_type)


def test_unknown_unit_type():
    assert vocabulary.manager_team_for("供应商") is None
    assert vocabulary.manager_jobs_for("") == ()
    assert vocabulary.normalise_unit_type("  监理单位 ") == "监理单位"
    assert vocabulary.normalise_unit_type("x") is None


def test_general_contractor_and_supervisor_jobs():
    gc = vocabulary.manager_jobs_for("施工总承包单位")
    for job in ("项目经理", "技术负责人", "安全员", "质量员", "施工员", "材料员", "资料员", "劳资专管员"):
        assert job in gc
    assert vocabulary.manager_jobs_for("监理单位")[:1] == ("总监理工程师",)
    for job in ("专业监理工程师", "监理员"):
        assert job in vocabulary.manager_jobs_for("监理单位")
    assert "项目经理" not in vocabulary.manager_jobs_for("监理单位")


def test_manager_jobs_are_unique_and_disjoint_from_other_lists():
    assert len(vocabulary.MANAGER_JOBS) == len(set(vocabulary.MANAGER_JOBS))
    assert len(vocabulary.WORKER_JOBS) == len(set(vocabulary.WORKER_JOBS))
    assert not set(vocabulary.MANAGER_JOBS) & set(vocabulary.WORKER_JOBS)
    assert not set(vocabulary.MANAGER_JOBS) & set(vocabulary.OTHER_STAFF_JOBS)
    assert not set(vocabulary.WORKER_JOBS) & set(vocabulary.OTHER_STAFF_JOBS)
    assert vocabulary.SPECIAL_OPERATION_JOBS <= set(vocabulary.WORKER_JOBS)


def test_job_lookups():
    assert vocabulary.is_manager_job("项目经理") and vocabulary.is_manager_job("总监理工程师")
    assert not vocabulary.is_manager_job("钢筋工") and not vocabulary.is_manager_job("保安")
    assert vocabulary.manager_team_of_job("监理员") == "监理项目部"
    assert vocabulary.unit_types_offering("项目经理") == ("施工总承包单位",)
    assert vocabulary.unit_types_offering("分包安全员") == ("专业分包", "劳务分包")
    assert vocabulary.unit_types_offering("钢筋工") == ()
    assert [vocabulary.job_category(j) for j in ("施工员", "木工", "厨师", "宇航员")] == ["manager", "worker", "other", None]
    for job in ("普通工人", "钢筋工", "木工", "混凝土工", "架子工", "电工", "焊工", "砌筑工", "抹灰工",
                "油漆工", "机械操作工", "起重信号工"):
        assert job in vocabulary.WORKER_JOBS
    assert vocabulary.OTHER_STAFF_JOBS == ("保安", "厨师", "保洁", "采购", "后勤")


def test_team_kinds():
    assert vocabulary.TEAM_KINDS == ("管理人员班组", "普通工人班组", "其他人员班组")
    assert vocabulary.is_generated_team_kind("管理人员班组")
    assert not vocabulary.is_generated_team_kind("普通工人班组")
    assert vocabulary.team_kind_changes("普通工人班组") == ("其他人员班组",)
    assert vocabulary.team_kind_changes("管理人员班组") == ()
    assert vocabulary.jobs_for_team_kind("普通工人班组") == vocabulary.WORKER_JOBS
    assert vocabulary.jobs_for_team_kind("其他人员班组") == vocabulary.OTHER_STAFF_JOBS
    assert vocabulary.jobs_for_team_kind("管理人员班组", "监理单位") == vocabulary.manager_jobs_for("监理单位")
    assert vocabulary.jobs_for_team_kind("管理人员班组") == ()


def test_counties_and_projects():
    assert vocabulary.COUNTIES == ("市辖区", "蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市")
    assert tuple(vocabulary.COUNTY_AREA_CODES) == vocabulary.COUNTIES
    assert vocabulary.county_for_area_code("440781") == "台山市"
    assert vocabulary.county_for_area_code("440000") is None
    assert vocabulary.PROJECT_STATUSES == ("在建", "停工", "完工", "注销")
    assert vocabulary.PROJECT_CATEGORIES[:2] == ("房屋建筑工程", "市政公用工程")
