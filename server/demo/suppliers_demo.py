"""Demo suppliers and device access applications in every state of the workflow.

Three suppliers log in with the demo password (accounts_demo.DEMO_PASSWORD): two with approved
business scopes (one of them with a scope still pending), one waiting for its first approval.
Their applications are walked through the real store functions, so each has a true flow record,
and those past the test authorisation have their device registered in the gateway (test or
production environment; a revoked one removed). Idempotent: what exists is left as it is.
"""
from __future__ import annotations

import random

from pymongo.asynchronous.database import AsyncDatabase

from ..domain.device_access_flow import SUPERVISOR, SUPPLIER
from ..store import device_access, suppliers
from .. import synthetic
from .accounts_demo import DEMO_PASSWORD

REVIEWER = "jm_jianguan"
DEMO_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% demo application\n%%EOF\n"

# (username, name, vendor code, {scope: approve?})
SUPPLIERS = (
    ("gys_zhigan", "江门智感科技有限公司", "JMZG", {"attendance": True, "collection": True}),
    ("gys_huashi", "广东华视安防设备有限公司", "GDHS", {"attendance": True, "dust_noise": None}),
    ("gys_xinrui", "江门新锐电子有限公司", "JMXR", {"attendance": None}),
)
_REMARKS = {
    "authorise_test": "测试环境访问地址：test.jmzhgd.jiangmen.cn:20028；项目账号 test_{p}；密码 Test{p}2022",
    "report_test": "测试环境联调成功：登录、心跳、白名单、考勤上传均正常",
    "authorise_production": "正式环境访问地址：jmzhgd.jiangmen.cn:20028；项目账号 xm_{p}；密码另行通知",
    "report_production": "正式环境联调成功，申请联网结果核查",
    "verify": "设备作业核查通过",
    "refuse": "申请资料不全：缺少设备检测报告",
    "revoke": "设备活体检测被关闭，撤销授权",
}
_WALK = ("authorise_test", "report_test", "authorise_production", "report_production", "verify")
_SIDE = {"authorise_test": SUPERVISOR, "report_test": SUPPLIER, "authorise_production": SUPERVISOR,
         "report_production": SUPPLIER, "verify": SUPERVISOR, "refuse": SUPERVISOR, "revoke": SUPERVISOR}
# (supplier username, project, serial, device type, actions after submitting) — one per state.
APPLICATIONS = (
    ("gys_zhigan", 2, "ZG-0002", "attendance", ()),                      # applied
    ("gys_zhigan", 4, "ZG-0004", "attendance", _WALK[:1]),               # test_authorised
    ("gys_zhigan", 13, "ZG-0013", "attendance", _WALK[:2]),              # test_passed (台山市)
    ("gys_zhigan", 5, "ZG-0005", "collection", _WALK[:3]),               # production_authorised
    ("gys_huashi", 14, "HS-0014", "attendance", _WALK[:4]),              # check_requested (台山市)
    ("gys_huashi", 7, "HS-0007", "attendance", _WALK),                   # completed
    ("gys_zhigan", 8, "ZG-0008", "attendance", _WALK),                   # completed
    ("gys_huashi", 10, "HS-0010", "attendance", ("refuse",)),            # refused
    ("gys_huashi", 11, "HS-0011", "attendance", _WALK[:3] + ("revoke",)),  # revoked
)


async def _supplier(db: AsyncDatabase, username: str, name: str, vendor_code: str, scopes: dict) -> dict:
    found = await db.suppliers.find_one({"vendor_code": vendor_code})
    if found is not None:
        return found
    rng = random.Random(vendor_code)
    supplier, _ = await suppliers.register(db, {
        "name": name, "credit_code": synthetic.credit_code(rng), "vendor_code": vendor_code,
        "contact_name": synthetic.chinese_name(rng), "contact_phone": f"139{rng.randrange(10**8):08d}",
        "email": f"{username}@example.cn", "address": "广东省江门市蓬江区", "username": username,
        "password": DEMO_PASSWORD})
    for code, approve in scopes.items():
        await suppliers.apply_scope(db, supplier["_id"], {
            "scope": code, "contact_name": supplier["contact_name"], "contact_phone": supplier["contact_phone"],
            "device_models": "JM-FACE-7, JM-FACE-9", "biometric_method": "人脸识别", "collection_method": "设备采集",
            "monitor_items": "PM2.5、PM10、噪音"}, actor=username)
        if approve:
            await suppliers.review_scope(db, supplier["_id"], code, decision="approve", opinion="资料齐全，同意",
                                         actor=REVIEWER)
    return await suppliers.must_get(db, supplier["_id"])


async def seed_suppliers(db: AsyncDatabase) -> int:
    """Returns how many applications the demo holds."""
    by_username = {}
    for username, name, vendor_code, scopes in SUPPLIERS:
        by_username[username] = await _supplier(db, username, name, vendor_code, scopes)
    for username, project_id, serial, device_type, actions in APPLICATIONS:
        supplier = by_username[username]
        if await db.device_access.find_one({"vendor_code": supplier["vendor_code"], "serial": serial}, {"_id": 1}):
            continue
        if await db.projects.find_one({"_id": project_id}, {"_id": 1}) is None:
            continue
        app = await device_access.submit(db, supplier, {
            "project_id": project_id, "device_type": device_type, "serial": serial, "install_place": "工地大门",
            "model": "JM-FACE-7", "collection_method": "设备采集", "biometric_method": "人脸识别",
            "description": "项目新装人脸识别考勤机，申请接入市新平台"}, [(DEMO_PDF, "pdf")], actor=username)
        for action in actions:
            actor = username if _SIDE[action] == SUPPLIER else REVIEWER
            app = await device_access.act(db, app, action, side=_SIDE[action], actor=actor,
                                          remark=_REMARKS[action].format(p=project_id))
    return await db.device_access.count_documents({})
