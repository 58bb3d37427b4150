"""Demo: complete every 企业库 field of the demo enterprises and the 项目经理 details of every unit.

The seeder registers enterprises with only a name and a credit code (企业信息完善 comes later, as in
the guide); this fills the rest through the same store functions the pages use, so the data obeys
the same rules. A unit's 项目经理 is the person entered in its manager team's lead post when there
is one (项目经理, 总监理工程师, ...), so the units page and the roster agree. Idempotent: records
already completed are left alone; values derive from the credit code, so reruns give the same data.
"""
from __future__ import annotations

import datetime as dt
import random
import re

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import jobs
from ..store import enterprises, units
from .. import synthetic

# The post whose holder a unit names as its 项目经理 / 项目负责人, by manager team.
LEAD_POSTS = {team: posts[0] for team, posts in jobs.MANAGER_JOBS_BY_TEAM.items()}
_POSTCODES = {"蓬江区": "529000", "江海区": "529040", "新会区": "529100", "台山市": "529200", "开平市": "529300",
              "鹤山市": "529700", "恩平市": "529400", "市辖区": "529000"}


def _short_name(name: str) -> str:
    core = re.sub(r"^(广东省?|江门市)?(蓬江区|江海区|新会区|台山市|开平市|鹤山市|恩平市)?", "", name)
    core = re.sub(r"(有限责任公司|股份有限公司|有限公司|集团)$", "", core)
    return (core[:6] or name[:6])


def _county_of(enterprise: dict) -> str:
    area = enterprise.get("registered_area", "") or enterprises.area_from_credit_code(enterprise["credit_code"])
    return next((c for c in jobs.COUNTIES if c != "市辖区" and c in area), "蓬江区")


def enterprise_details(enterprise: dict) -> dict:
    """Every optional and required field for one demo enterprise, derived from its credit code."""
    rng = random.Random(enterprise["credit_code"])
    county = _county_of(enterprise)
    registered = dt.date(rng.randint(1995, 2021), rng.randint(1, 12), rng.randint(1, 28))
    capital = rng.choice((500, 1000, 2000, 3000, 5000, 8000, 10000, 20000))
    return {
        "short_name": _short_name(enterprise["name"]),
        "registered_area": enterprise.get("registered_area") or f"广东省江门市{county}",
        "business_address": synthetic.address(rng, county),
        "registration_date": registered.isoformat(), "established_date": registered.isoformat(),
        "registered_capital": capital, "paid_in_capital": round(capital * rng.choice((0.2, 0.5, 0.8, 1.0)), 2),
        "unit_nature": rng.choice(("有限责任公司", "有限责任公司", "私营企业", "股份有限公司", "国有企业")),
        "capital_currency": enterprises.DEFAULT_CURRENCY,
        "office_phone": f"0750-{rng.randint(2000000, 8999999)}", "fax": f"0750-{rng.randint(2000000, 8999999)}",
        "email": f"office{enterprise['credit_code'][-6:].lower()}@example.cn",
        "business_license_no": enterprise["credit_code"][2:8] + f"{rng.randrange(10**9):09d}",
        "postcode": _POSTCODES.get(county, "529000"),
        "legal_representative": synthetic.chinese_name(rng),
        "contact_name": synthetic.chinese_name(rng), "contact_phone": synthetic.phone(rng),
    }


async def _manager_of(db: AsyncDatabase, unit: dict) -> dict:
    """The unit's 项目经理 details: its manager team's lead post holder, else a made-up person."""
    rng = random.Random(str(unit["_id"]))
    team = await db.teams.find_one({"unit_id": unit["_id"], "kind": jobs.MANAGER_TEAM_KIND}, {"name": 1})
    post = LEAD_POSTS.get(team["name"]) if team else None
    entry = await db.roster.find_one({"unit_id": unit["_id"], "job": post}, {"worker_no": 1}) if post else None
    person = await db.people.find_one({"worker_no": entry["worker_no"]}, {"name": 1, "id_number": 1}) if entry else None
    if person:
        name, number = person["name"], person["id_number"]
    else:
        name, number = synthetic.chinese_name(rng), synthetic.id_number(rng, area="440703")
    return {"manager_name": name, "manager_id_type": "居民身份证", "manager_id_number": number,
            "manager_phone": synthetic.phone(rng)}


async def seed_enterprise_details(db: AsyncDatabase) -> str:
    completed = managers = 0
    for enterprise in await db.enterprises.find({"registration_date": {"$exists": False}}).to_list(None):
        await enterprises.update(db, enterprise["_id"], enterprise_details(enterprise), by="demo")
        completed += 1
    missing = {"$or": [{"manager_id_number": ""}, {"manager_id_number": {"$exists": False}}]}
    for unit in await db.units.find(missing).to_list(None):
        await units.update(db, unit["project_id"], unit["_id"], await _manager_of(db, unit))
        managers += 1
    return f"{completed} enterprises completed, {managers} units given their 项目经理"
