"""The audit log in Chinese: action codes (stored, for machines) → names people read and search by,
and the readable form of an entry's target and detail (with personal data masked in before/after).

One table here: the page, the export and the search all name actions through it.
"""
from __future__ import annotations

import datetime as dt

from bson import ObjectId

from .contact import mask_address, mask_mobile
from .device_access_flow import ACTIONS as DEVICE_ACCESS_ACTIONS
from .field_labels import label_of
from .identity import mask_id_number
from .site_clock import site_day

ACTION_NAMES: dict[str, str] = {
    "login": "登录", "login_failure": "登录失败", "logout": "退出登录", "password_change": "修改密码",
    "refused": "拒绝访问", "token_issue": "发放访问令牌", "account_create": "创建账号",
    "account_issue": "发放项目账号", "enterprise_account_issue": "发放企业账号",
    "audit_export": "导出审计日志",
    "project_register": "登记项目", "project_edit": "修改项目", "project_status": "变更项目状态",
    "project_venue_code": "登记场所码", "project_location": "项目定位", "project_province": "设置省厅对接参数", "project_export": "导出项目库",
    "declaration_submit": "提交项目申报", "declaration_pass": "项目申报审核通过",
    "declaration_fail": "项目申报审核不通过", "declaration_view_unmasked": "查看申报完整信息",
    "declaration_proof_download": "下载申报材料", "declaration_export": "导出项目申报",
    "enterprise_register": "登记企业", "enterprise_view_unmasked": "查看企业完整信息",
    "enterprises_export_unmasked": "导出企业库完整信息", "enterprise_edit": "修改企业", "enterprise_delete": "删除企业",
    "unit_add": "添加参建单位", "unit_edit": "修改参建单位", "unit_delete": "删除参建单位",
    "unit_exit": "参建单位退场", "unit_view_unmasked": "查看参建单位完整信息",
    "units_export_unmasked": "导出参建单位完整信息",
    "team_add": "添加班组", "team_edit": "修改班组", "team_delete": "删除班组", "team_exit": "班组退场",
    "person_add": "新增人员", "person_view_unmasked": "查看人员完整信息",
    "people_export": "导出人员库", "people_export_unmasked": "导出人员库完整信息",
    "roster_entry": "人员进场", "roster_exit": "人员退场", "roster_import": "批量导入进场",
    "roster_export_unmasked": "导出花名册完整信息",
    "contract_register": "登记劳动合同", "contract_scan_replace": "更换合同扫描件",
    "contract_scan_download": "下载合同扫描件",
    "punch_photo_view": "查看考勤照片", "outbox_send": "发送邮件",
    "supplier_register": "供应商注册", "supplier_profile_update": "修改供应商资料",
    "supplier_scope_apply": "供应商申请业务范围", "supplier_scope_review": "审核供应商业务范围",
    "device_access_submit": "设备接入：提交资料", "device_access_attachment_download": "设备接入：下载附件",
    "device_person_fetch": "设备下发人员信息",
    **{f"device_access_{code}": f"设备接入：{a.label}" for code, a in DEVICE_ACCESS_ACTIONS.items()},
}

# Entries a device writes by itself, one per person it fetches: many, so the log folds them away
# unless asked for (their action name, or 包含设备记录).
DEVICE_ACTIONS: tuple[str, ...] = ("device_person_fetch",)

_DETAIL_LABELS: dict[str, str] = {
    "ip": "来源地址", "unmasked": "完整查看", "rows": "行数", "count": "条数", "fields": "修改项",
    "changes": "变更", "filters": "条件", "label": "说明", "reason": "原因", "method": "请求",
    "path": "地址", "code": "代码", "worker_no": "工人编号", "worker_nos": "工人编号", "contract_id": "合同",
    "photos": "照片", "bytes": "文件字节数", "status": "状态", "name": "名称", "role": "角色", "username": "账号",
}

# Personal data never appears in full in a before/after (README: masked by default everywhere).
_MASKS = {"id_number": mask_id_number, "manager_id_number": mask_id_number, "legal_id_number": mask_id_number,
          "phone": mask_mobile, "contact_phone": mask_mobile, "manager_phone": mask_mobile,
          "legal_phone": mask_mobile, "address": mask_address}


def action_name(code: str) -> str:
    return ACTION_NAMES.get(code, code)


def codes_matching(text: str) -> list[str]:
    """The action codes a search names: its code exactly, or every action whose Chinese name holds the text."""
    text = text.strip()
    if not text:
        return []
    return [code for code, name in ACTION_NAMES.items() if code == text or text in name] or [text]


def _label(key: str) -> str:
    return _DETAIL_LABELS.get(key) or label_of(key) or key


def _value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(_label(v) if isinstance(v, str) else str(v) for v in value)
    if value is None or value == "":
        return "（空）"
    return str(value)


def masked(field: str, value):
    mask = _MASKS.get(field)
    return mask(value) if mask and isinstance(value, str) and value else value


def _shown(field: str, value):
    if isinstance(value, dt.datetime) and field.endswith("_date"):
        return site_day(value).isoformat()  # a day kept as its site midnight reads as the day
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    return masked(field, value)


def changes(before: dict, after: dict) -> dict:
    """{field: [before, after]} of the record's fields that differ, personal data masked; bookkeeping
    (times of change, the "_"-prefixed values a view adds) left out."""
    return {k: [_shown(k, before.get(k)), _shown(k, after.get(k))] for k in after
            if before.get(k) != after.get(k) and not k.endswith("_at") and not k.startswith("_")}


def describe(values: dict | None) -> str:
    """A target or detail as one readable cell: "项目 3；来源地址 10.0.0.1；变更 名称：甲 → 乙"."""
    parts = []
    for key, value in (values or {}).items():
        if key == "changes" and isinstance(value, dict):
            value = "；".join(f"{_label(k)}：{_value(v[0])} → {_value(v[1])}" for k, v in value.items()) or "无"
        elif isinstance(value, dict):
            value = "，".join(f"{_label(k)} {_value(v)}" for k, v in value.items())
        else:
            value = _value(value)
        parts.append(f"{_label(key)} {value}")
    return "；".join(parts)
