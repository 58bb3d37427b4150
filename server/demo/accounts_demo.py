"""Demo accounts, one per kind of user, with a fixed password printed by `make demo`.

Only the demonstration city has these: real accounts are issued by supervisors and must change
their initial password at first login.
"""
from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..store import accounts
from ..store.db import utcnow

DEMO_PASSWORD = "Demo2026jm"
# (username, role, scope, what the banner says it is for)
DEMO_ACCOUNTS = (
    ("jm_jianguan", "supervisor", {}, "市级监管"),
    ("taishan_jianguan", "supervisor", {"county": "台山市"}, "台山市监管"),
    ("xiangmu1", "project", {"project_id": 1}, "项目 1 劳资专管员"),
    ("fenxi", "analyst", {}, "合规分析"),
)
# The enterprise account of project 1's general contractor (企业库 发账号 names real ones by credit code).
DEMO_ENTERPRISE_ACCOUNT = ("qiye1", "项目 1 总承包企业")


async def seed_accounts(db: AsyncDatabase) -> list[tuple[str, str]]:
    for username, role, scope, _ in DEMO_ACCOUNTS:
        if await accounts.by_username(db, username) is None:
            await accounts.create_account(db, username=username, role=role, password=DEMO_PASSWORD,
                                          must_change_password=False, **scope)
    await _seed_enterprise_account(db)
    return [(username, purpose) for username, _, _, purpose in DEMO_ACCOUNTS] + [DEMO_ENTERPRISE_ACCOUNT]


async def _seed_enterprise_account(db: AsyncDatabase) -> None:
    username = DEMO_ENTERPRISE_ACCOUNT[0]
    unit = await db.units.find_one({"project_id": 1, "unit_type": vocabulary.GENERAL_CONTRACTOR})
    if unit is None or await accounts.by_username(db, username) is not None:
        return
    await accounts.create_account(db, username=username, role="enterprise", enterprise_id=unit["enterprise_id"],
                                  password=DEMO_PASSWORD, must_change_password=False)
    await db.enterprises.update_one({"_id": unit["enterprise_id"]},
                                    {"$set": {"account_username": username, "account_issued_at": utcnow()}})
