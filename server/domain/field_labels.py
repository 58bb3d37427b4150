"""Chinese names of the request fields, for a refusal shown where its field is not on the page.

A refusal carries `field` (for the page to place the reason beside that input) and a Chinese
`message` that is only the reason; where the page has no such input it shows "标签：原因" from here.
"""
from __future__ import annotations

FIELD_LABELS: dict[str, str] = {
    "username": "用户名", "password": "密码", "old_password": "原密码", "new_password": "新密码",
    "new_password_confirm": "确认新密码", "password_confirm": "确认密码", "captcha": "验证码",
    "captcha_id": "验证码", "role": "角色", "county": "区县", "project": "项目", "project_id": "项目",
    "enterprise_id": "企业", "supplier_id": "供应商", "unit": "参建单位", "unit_id": "参建单位",
    "unit_type": "单位类型", "team": "班组", "team_id": "班组", "job": "工种/岗位", "worker_no": "工人编号",
    "worker_nos": "工人编号", "id_number": "身份证号码", "manager_id_number": "负责人身份证号码",
    "name": "名称", "sex": "性别", "nation": "民族", "address": "住址", "registered_area": "户籍地",
    "entry_date": "进场日期", "exit_date": "退场日期", "effective_date": "生效日期", "expiry_date": "到期日期",
    "established_date": "成立日期", "date": "日期", "month": "月份", "from": "开始日期", "to": "结束日期",
    "credit_code": "统一社会信用代码", "paid_in_capital": "实缴资本", "permit_no": "施工许可证号",
    "status": "状态", "state": "状态", "result": "审核结果", "decision": "审核结果", "opinion": "审核意见",
    "reason": "原因", "term_type": "合同期限类型", "pay_unit": "计量单位", "unit_price": "计量单价",
    "serial": "设备序列号", "device_type": "设备型号", "device_id": "设备编号", "vendor_code": "厂商代码",
    "venue_code": "场地编号", "scope": "范围", "kind": "类型", "file": "文件", "proof": "申报材料",
    "attachment": "附件", "punch_id": "考勤记录", "job_id": "导入任务", "declaration_id": "申报",
    "application_id": "申请", "id": "编号", "unmask": "查看完整信息", "action": "操作",
    "phone": "手机号码", "contact_name": "联系人", "contact_phone": "联系电话", "manager_name": "项目经理",
    "manager_phone": "项目经理电话", "legal_representative": "法定代表人", "short_name": "简称",
    "leader_name": "班组长", "leader_phone": "班组长电话", "remark": "备注", "longitude": "经度", "latitude": "纬度",
    "appid": "省厅 appid", "appsecret": "省厅 appsecret", "project_code": "省厅项目编码",
}


def label_of(field: str | None) -> str | None:
    """The Chinese name of a request field, None for a field without one (the reason then stands alone)."""
    return FIELD_LABELS.get(field or "")
