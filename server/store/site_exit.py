"""退场 of a participating unit or a team: the checks both share (guide 2.5.2 and 2.6.2)."""
from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase

from ..domain.rules import Conflict, RuleError
from ..domain.site_clock import site_day
from . import fields


async def exit_date_for(db: AsyncDatabase, record: dict, body: dict, *, field: str, noun: str,
                        member_key: str) -> dt.datetime:
    """The exit date asked for; refused when already exited, before the entry, or while people
    entered under the record (roster[member_key] == record id) are still in the site."""
    if record.get("exit_date") is not None:
        raise Conflict(field, f"该{noun}已于 {site_day(record['exit_date'])} 退场")
    when = fields.day(body, "exit_date", "退场时间", required=True)
    if when < record["entry_date"]:
        raise RuleError("exit_date", f"退场时间不能早于进场时间 {site_day(record['entry_date'])}")
    in_site = await db.roster.count_documents({member_key: record["_id"], "exit_date": None})
    if in_site:
        raise Conflict(field, f"该{noun}仍有 {in_site} 名人员在场，请先办理人员退场")
    return when
