"""Demo data for the project library and 项目申报: declarations in every state, 场所码, coordinates and a
project that was stopped (停工) for a while. Idempotent: each step looks for what it made before.
"""
from __future__ import annotations

import datetime as dt
import random

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import project_status
from ..store import declarations
from ..domain.site_clock import site_today

# Rough centres of each county's built-up area (WGS-84); demo sites are scattered a few km around them.
COUNTY_CENTRES = {
    "市辖区": (113.0815, 22.5790), "蓬江区": (113.0780, 22.5950), "江海区": (113.1110, 22.5600),
    "新会区": (113.0320, 22.4590), "台山市": (112.7940, 22.2520), "开平市": (112.6980, 22.3760),
    "鹤山市": (112.9640, 22.7650), "恩平市": (112.3050, 22.1830),
}
DEMO_SUPPLIER = "江门智慧工地科技有限公司"
DEMO_IP = "demo-seed"  # not an address: keeps the public form's per-address limit free for real visitors
DEMO_DECLARATIONS = (
    # (name, county, decision, opinion, project already in the library)
    ("江门市蓬江区滨江花园二期住宅工程", "蓬江区", None, "", None),
    ("台山市广海湾安置房项目", "台山市", None, "", None),
    # The demo city's project 1 came in through a passed declaration (linked: the city keeps its 24 projects).
    (None, None, "pass", "材料齐全，同意入库", 1),
    ("鹤山市沙坪镇学校教学楼改造工程", "鹤山市", "fail", "施工许可证编号与证明文件不一致，请核对后重新申报", None),
)


def proof_pdf(title: str) -> bytes:
    """A small valid one-page PDF (ASCII text: the standard 14 fonts have no Chinese glyphs)."""
    text = f"BT /F1 14 Tf 72 720 Td (Demo proof document: {title}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


async def _declarations(db: AsyncDatabase, login_url: str) -> int:
    made = 0
    for n, (name, county, decision, opinion, project_id) in enumerate(DEMO_DECLARATIONS, 1):
        if project_id is not None:
            project = await db.projects.find_one({"_id": project_id}, {"name": 1, "county": 1})
            if project is None:
                continue
            name, county = project["name"], project["county"]
        doc = await db.declarations.find_one({"name": name, "ip": DEMO_IP}, {"proof": 0})
        if doc is None:
            doc = await declarations.submit(db, {
                "name": name, "county": county, "supplier": DEMO_SUPPLIER, "category": "房屋建筑工程",
                "status": "在建", "permit_no": f"4407{n:02d}2026{n:04d}0101", "address": f"{county}示范路{n}号",
                "applicant_name": "陈申报", "applicant_mobile": f"1381234{n:04d}",
                "applicant_email": f"applicant{n}@example.cn"}, proof=proof_pdf(f"declaration {n}"),
                proof_kind="pdf", ip=DEMO_IP)
            made += 1
        if decision and doc["state"] == declarations.PENDING:
            await declarations.decide(db, doc["_id"], passed=decision == "pass", opinion=opinion,
                                      reviewer="jm_jianguan", scope={}, login_url=login_url,
                                      existing_project_id=project_id)
    return made


async def _venues_and_locations(db: AsyncDatabase) -> int:
    done = 0
    async for project in db.projects.find({"demo_complete": True, "location": {"$exists": False}},
                                          {"county": 1, "supplier": 1}):
        rng = random.Random(project["_id"] * 104729)
        lon, lat = COUNTY_CENTRES[project["county"]]
        changes = {"location": {"longitude": round(lon + rng.uniform(-0.03, 0.03), 6),
                                "latitude": round(lat + rng.uniform(-0.03, 0.03), 6), "by": "demo"},
                   # 服务商 is required on the library's edit form: the seeded projects carry the demo one.
                   "supplier": project.get("supplier") or DEMO_SUPPLIER}
        if project["_id"] % 3:  # some projects have not registered their 场所码 yet, as in the guide's list
            code = f"JMCSM{project['_id']:04d}{rng.randrange(10**6):06d}"
            day = site_today().isoformat()
            changes.update(venue_code=code, venue_code_date=day,
                           venue={"code": code, "venue_name": "工地大门", "admin_name": "", "admin_mobile": "",
                                  "date": day, "by": "demo"})
        await db.projects.update_one({"_id": project["_id"]}, {"$set": changes})
        done += 1
    return done


# 建设单位 of the demo projects (the library's column falls back to the project's own field when no
# 建设单位 has entered the site as a unit); "{place}" is the county, or the city for 市辖区.
DEMO_BUILDERS = ("{place}城市建设投资集团有限公司", "{place}代建项目管理中心", "{place}房地产开发有限公司",
                 "{place}交通投资有限公司", "{place}教育局")


async def _builders_and_start_dates(db: AsyncDatabase) -> int:
    """建设单位 and 计划开工日期 of every seeded project that lacks them, 4–16 months before today."""
    done = 0
    async for project in db.projects.find({"demo_complete": True, "planned_start": {"$in": ["", None]}},
                                          {"county": 1, "builder": 1}):
        rng = random.Random(project["_id"] * 7907)
        place = "江门市" if project["county"] == "市辖区" else "江门市" + project["county"]
        start = site_today() - dt.timedelta(days=rng.randint(120, 480))
        await db.projects.update_one({"_id": project["_id"]}, {"$set": {
            "builder": project.get("builder") or rng.choice(DEMO_BUILDERS).format(place=place),
            "planned_start": start.isoformat()}})
        done += 1
    return done


async def _stopped_once(db: AsyncDatabase, project_id: int = 2) -> bool:
    """Project 2 stopped for ten days last month and resumed: its history and stop period are backdated."""
    project = await db.projects.find_one({"_id": project_id}, {"status": 1, "demo_stop": 1})
    if project is None or project.get("demo_stop") or project["status"] != "在建":
        return False
    today = site_today()
    history = [{"status": "在建", "date": (today - dt.timedelta(days=90)).isoformat(), "reason": "登记", "by": "demo"},
               {"status": "停工", "date": (today - dt.timedelta(days=30)).isoformat(), "reason": "材料供应中断",
                "by": "demo"},
               {"status": "在建", "date": (today - dt.timedelta(days=20)).isoformat(), "reason": "复工", "by": "demo"}]
    await db.projects.update_one({"_id": project_id}, {"$set": {
        "status_history": history, "stop_periods": project_status.stop_periods(history), "demo_stop": True}})
    return True


async def seed_projects(db: AsyncDatabase, *, login_url: str = "http://127.0.0.1:8080/login") -> str:
    made = await _declarations(db, login_url)
    located = await _venues_and_locations(db)
    await _builders_and_start_dates(db)
    stopped = await _stopped_once(db)
    return (f"{made} declarations made, {located} projects located"
            + (", project 2 stopped for ten days" if stopped else ""))
