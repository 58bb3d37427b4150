"""Demo accounts, one per kind of user, with a fixed password printed by `make demo`.

Only the demonstration city has these: real accounts are issued by supervisors and must change
their initial password at first login.
"""
from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from ..store import accounts

DEMO_PASSWORD = "Demo2026jm"
# (username, role, scope, what the banner says it is for)
DEMO_ACCOUNTS = (
    ("jm_jianguan", "supervisor", {}, "市级监管"),
    ("taishan_jianguan", "supervisor", {"county": "台山市"}, "台山市监管"),
    ("xiangmu1", "project", {"project_id": 1}, "项目 1 劳资专管员"),
    ("fenxi", "analyst", {}, "合规分析"),
)


async def seed_accounts(db: AsyncDatabase) -> list[tuple[str, str]]:
    for username, role, scope, _ in DEMO_ACCOUNTS:
        if await accounts.by_username(db, username) is None:
            await accounts.create_account(db, username=username, role=role, password=DEMO_PASSWORD,
                                          must_change_password=False, **scope)
    return [(username, purpose) for username, _, _, purpose in DEMO_ACCOUNTS]
