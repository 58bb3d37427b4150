"""The person library over HTTP; ID numbers and addresses masked unless the principal may and asks."""
from __future__ import annotations

from ..domain.identity import mask_id_number
from ..domain.nations import nation_name
from ..store import people
from ..store.db import utcnow
from .base import APIError, APIHandler, requires
from .openapi import BOOL, DATETIME, INT, STR, arr, enum, nullable, obj, operation, path_param, query_param


def mask_address(address: str) -> str:
    # Keep the district so a supervisor can still see where someone is from.
    return address[:6] + "*" * max(0, len(address) - 6) if address else ""


def person_view(person: dict, *, unmasked: bool) -> dict:
    id_number = person["id_number"]
    address = person.get("address", "")
    return {
        "worker_no": person["worker_no"], "name": person.get("name", ""),
        "id_number": id_number if unmasked else mask_id_number(id_number),
        "sex": {"1": "男", "0": "女"}.get(person.get("sex", ""), ""),
        "nation": nation_name(person.get("nation", "")) or "",
        "address": address if unmasked else mask_address(address),
        "has_id_photo": bool(person.get("id_photo_id")), "has_capture_photo": bool(person.get("capture_photo_id")),
        "id_warnings": person.get("id_warnings", []), "created_at": person.get("created_at"),
        "masked": not unmasked,
    }


class PersonHandler(APIHandler):
    @requires("people:read")
    async def get(self, worker_no: str):
        number = self.int_argument("worker_no", worker_no)
        unmask = self.get_query_argument("unmask", "false").lower() in ("1", "true", "yes")
        if unmask and not self.principal.may("people:unmask"):
            await self.refuse(403, "forbidden", "unmask: 无权查看未脱敏的个人信息")
        person = await people.by_worker_no(self.db, number)
        if person is None or not await self._in_scope(person):
            raise APIError(404, "not_found", f"工人编号 {number} 不存在")
        if unmask:
            await self.db.audit_log.insert_one({
                "at": utcnow(), "actor": self.principal.name, "action": "person_view_unmasked",
                "target": {"worker_no": number}, "detail": {"ip": self.request.remote_ip}})
        self.write_json(person_view(person, unmasked=unmask))

    async def _in_scope(self, person: dict) -> bool:
        """Scoped principals see people who are or were entered on a project they can see."""
        if not self.principal.project_filter():
            return True
        # By person (the career index), not by project: that index answers this filter exactly.
        project_ids = {r["project_id"] async for r in self.db.roster.find({"person_id": person["_id"]}, {"project_id": 1})}
        async for project in self.db.projects.find({"_id": {"$in": sorted(project_ids)}}, {"county": 1}):
            if self.principal.can_see_project(project):
                return True
        return False


default_handlers = [(r"/api/people/([0-9]+)", PersonHandler)]

PERSON = obj(["worker_no", "name", "id_number", "masked"], worker_no=INT, name=STR, id_number=STR, sex=STR,
             nation=STR, address=STR, has_id_photo=BOOL, has_capture_photo=BOOL, id_warnings=arr(STR),
             created_at=nullable(DATETIME), masked=BOOL)
openapi = {"/api/people/{worker_no}": {"get": operation(
    "人员库：一名人员（默认脱敏；unmask=true 需权限并记入审计）", tag="人员库", permission="people:read",
    params=[path_param("worker_no"), query_param("unmask", enum("true", "false"))], response=PERSON)}}
