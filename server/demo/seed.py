"""`realname seed-demo`: a small demonstration city, created idempotently.

Everything is derived from fixed seeds, so a second run finds every project, enterprise, person,
roster entry and device already there and creates nothing; an interrupted run resumes.
"""
from __future__ import annotations

import datetime as dt
import random
import sys

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..store import devices, people, workforce
from ..domain.site_clock import site_today
from .. import synthetic
from ..store import rollups
from . import accounts_demo, devices_demo, history_demo
from .suppliers_demo import seed_suppliers

DEMO_VENDOR_CODE = "JMDEMO"
DEMO_DEVICE_PREFIX = "DEMO-"
PROJECTS_PER_COUNTY = 3
SITE_OPENED_DAYS_AGO = 120  # units and teams entered then; people over the following months
WORKERS_PER_PROJECT = 30
PROJECT_KINDS = ("住宅楼工程", "市政道路工程", "学校教学楼工程", "厂房建设项目", "安置房项目", "医院综合楼工程")
GC_MANAGERS = ("项目经理", "技术负责人", "安全员", "质量员", "施工员")
SUPERVISOR_MANAGERS = ("总监理工程师", "专业监理工程师")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _enterprise(db: AsyncDatabase, rng: random.Random, county: str) -> dict:
    code = synthetic.credit_code(rng, region=vocabulary.COUNTY_AREA_CODES[county])
    name = synthetic.enterprise_name(rng, county)
    found = await db.enterprises.find_one({"credit_code": code})
    return found or await workforce.create_enterprise(db, credit_code=code, name=name, area=f"广东省江门市{county}")


def _days_ago(days: int) -> dt.date:
    return site_today() - dt.timedelta(days=days)


async def _unit(db: AsyncDatabase, project_id: int, enterprise: dict, unit_type: str) -> dict:
    found = await db.units.find_one({"project_id": project_id, "enterprise_id": enterprise["_id"], "unit_type": unit_type})
    return found or await workforce.add_unit(db, project_id=project_id, enterprise_id=enterprise["_id"],
                                             unit_type=unit_type, entry_date=_days_ago(SITE_OPENED_DAYS_AGO))


async def _team(db: AsyncDatabase, project_id: int, unit: dict, name: str, kind: str) -> dict:
    found = await db.teams.find_one({"project_id": project_id, "unit_id": unit["_id"], "name": name})
    return found or await workforce.add_team(db, project_id=project_id, unit_id=unit["_id"], name=name, kind=kind,
                                             entry_date=_days_ago(SITE_OPENED_DAYS_AGO))


async def _person(db: AsyncDatabase, rng: random.Random, photos: list[bytes], id_photos: list[bytes]) -> dict:
    # Draw every random value before looking the person up, so a resumed run follows the same sequence.
    id_number = synthetic.id_number(rng, area=rng.choice(synthetic_areas()))
    card = {"id_number": id_number, "name": synthetic.chinese_name(rng), "sex": "1" if int(id_number[16]) % 2 else "0",
            "nation": rng.choice(["01"] * 9 + ["08"]), "birth_date": id_number[6:14],
            "address": synthetic.address(rng, rng.choice(vocabulary.COUNTIES))}
    read = {"authority": "江门市公安局", "validity": "2018.01.01-2038.01.01"}
    id_photo, capture = rng.choice(id_photos), rng.choice(photos)
    found = await people.by_id_number(db, id_number)
    if found:
        return found
    person, _ = await people.enroll(db, people.check_person_card(card), read=read, id_photo=id_photo,
                                    capture_photo=capture, source={"demo": True})
    return person


def synthetic_areas() -> list[str]:
    # Mostly local workers, some from the provinces that send most migrant workers to Guangdong.
    return list(vocabulary.COUNTY_AREA_CODES.values()) * 3 + ["450102", "430102", "510104", "360102", "522601"]


async def _manager_of(db: AsyncDatabase, project_id: int, job: str) -> dict | None:
    entry = await db.roster.find_one({"project_id": project_id, "job": job, "exit_date": None}, {"worker_no": 1})
    return await db.people.find_one({"worker_no": entry["worker_no"]}) if entry else None


async def _enter(db: AsyncDatabase, project_id: int, person: dict, team: dict, job: str) -> None:
    if await db.roster.find_one({"project_id": project_id, "worker_no": person["worker_no"], "exit_date": None}):
        return
    # People came on site over the months before the attendance history starts (derived from the
    # worker number, so a resumed run gives the same dates).
    entered = _days_ago(history_demo.HISTORY_DAYS + 6 + (person["worker_no"] * 37) % 90)
    await workforce.enter_person(db, project_id=project_id, worker_no=person["worker_no"], team_id=team["_id"], job=job,
                                 entry_date=entered)


async def seed_demo(db: AsyncDatabase, *, scale: int = 1, history_days: int = history_demo.HISTORY_DAYS) -> int:
    rng = random.Random(20221110)
    photos = synthetic.photo_pool(rng, 8, 10_000)
    id_photos = synthetic.photo_pool(rng, 4, 8_000)
    shared_supervisors = {c: await _enterprise(db, rng, c) for c in vocabulary.COUNTIES}
    labour_firms = [await _enterprise(db, rng, rng.choice(vocabulary.COUNTIES)) for _ in range(4)]
    total = len(vocabulary.COUNTIES) * PROJECTS_PER_COUNTY
    project_no = 0
    for county in vocabulary.COUNTIES:
        for k in range(PROJECTS_PER_COUNTY):
            project_no += 1
            prng = random.Random(project_no * 7919)
            name = f"江门市{county}{prng.choice(PROJECT_KINDS)}{'一二三四五六'[k]}期"
            project = await db.projects.find_one({"_id": project_no})
            if project is None:
                status = "停工" if project_no % 11 == 0 else "在建"
                project = await workforce.create_project(
                    db, name=name, county=county, status=status, project_id=project_no,
                    permit_no=f"{vocabulary.COUNTY_AREA_CODES[county]}2022{project_no:04d}0101",
                    address=synthetic.address(prng, county))
            elif project.get("demo_complete"):
                _progress(f"[{project_no}/{total}] {project['name']}: already there")
                continue
            gc = await _enterprise(db, prng, county)
            gc_unit = await _unit(db, project_no, gc, "施工总承包单位")
            sv_unit = await _unit(db, project_no, shared_supervisors[county], "监理单位")
            lab_unit = await _unit(db, project_no, labour_firms[project_no % len(labour_firms)], "劳务分包")
            gc_managers = await workforce.manager_team(db, gc_unit["_id"])
            sv_managers = await workforce.manager_team(db, sv_unit["_id"])
            civil = await _team(db, project_no, lab_unit, "土建班组", "普通工人班组")
            steel = await _team(db, project_no, lab_unit, "钢筋班组", "普通工人班组")
            others = await _team(db, project_no, gc_unit, "后勤", "其他人员班组")
            # Some projects lack a key manager (every fifth has no 项目经理), as real ones do: the
            # statistics must show it. Project 2's 项目经理 is project 1's too (one manager, two projects).
            for job in GC_MANAGERS if project_no % 5 else GC_MANAGERS[1:3]:
                person = await _person(db, prng, photos, id_photos)
                if project_no == 2 and job == vocabulary.PROJECT_MANAGER:
                    person = await _manager_of(db, 1, job) or person
                await _enter(db, project_no, person, gc_managers, job)
            for job in SUPERVISOR_MANAGERS[: 2 if project_no % 7 else 0]:
                await _enter(db, project_no, await _person(db, prng, photos, id_photos), sv_managers, job)
            for i in range(WORKERS_PER_PROJECT * scale):
                team, job = ((civil, prng.choice(["普通工人", "木工", "混凝土工", "砌筑工"])) if i % 2 else
                             (steel, "钢筋工"))
                await _enter(db, project_no, await _person(db, prng, photos, id_photos), team, job)
            await _enter(db, project_no, await _person(db, prng, photos, id_photos), others, "保安")
            device_id = f"{DEMO_DEVICE_PREFIX}{project_no:04d}"
            if await devices.find_active(db, DEMO_VENDOR_CODE, device_id) is None:
                await devices.register(db, project_id=project_no, vendor_code=DEMO_VENDOR_CODE, device_id=device_id,
                                       registered_by="demo", install_place="工地大门", model="JM-FACE-7")
            await db.projects.update_one({"_id": project_no}, {"$set": {"demo_complete": True}})
            _progress(f"[{project_no}/{total}] {project['name']}: ready")
    troubled = await devices_demo.seed_device_states(db, vendor_code=DEMO_VENDOR_CODE, device_prefix=DEMO_DEVICE_PREFIX)
    _progress(f"devices offline or silent for the monitoring page: {troubled}")
    # Last: the history follows every roster and device state set above.
    await accounts_demo.seed_accounts(db)
    _progress(f"attendance history: {await history_demo.seed_history(db, days=history_days)} punches written")
    _progress(f"device access applications: {await seed_suppliers(db)}")
    from .projects_demo import seed_projects  # declarations in every state, 场所码, coordinates, a 停工 period
    _progress(f"project library: {await seed_projects(db)}")
    from .contracts_demo import seed_contracts  # a third of each project's workers get a contract with a PDF scan
    _progress(f"contracts: {await seed_contracts(db)} added")
    from .enterprises_demo import seed_enterprise_details  # every 企业库 field, each unit's 项目经理
    _progress(f"enterprise library: {await seed_enterprise_details(db)}")
    _progress(f"devices for `realname simulate`'s defaults: {await devices_demo.seed_simulator_devices(db)} added")
    # The dashboards read rollups: fold the history by the real rollup code (the worker folds what follows).
    _progress(f"attendance rollups: {await rollups.rebuild(db)} punches folded")
    counts = {name: await db[name].count_documents({}) for name in ("projects", "enterprises", "units", "teams",
                                                                     "people", "roster", "devices")}
    _progress("demo city: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
