"""Liveness for load balancers and operators: is the web process up, does the database answer, and
(under `realname serve`) the supervised processes with their restarts."""
from __future__ import annotations

from pymongo.errors import PyMongoError

from ..process_status import read_status
from .base import APIHandler
from .openapi import INT, STR, enum, nullable, obj, operation


class HealthHandler(APIHandler):
    async def get(self):
        try:
            await self.db.command("ping")
            database = "ok"
        except PyMongoError:
            database = "unreachable"
        reply = {"status": "ok" if database == "ok" else "degraded", "database": database}
        supervisor = read_status(self.config)
        if supervisor is not None:
            # A restarting child does not make the web unhealthy; operators read it here.
            reply["processes"] = supervisor["children"]
        self.write_json(reply, status=200 if database == "ok" else 503)


default_handlers = [(r"/api/health", HealthHandler)]

openapi = {"/api/health": {"get": operation(
    "进程与数据库是否可用", tag="meta", public=True, errors=(503,),
    response=obj(["status", "database"], status=enum("ok", "degraded"), database=enum("ok", "unreachable"),
                 processes={"type": "object", "description": "under realname serve: gateway, web, worker",
                            "additionalProperties": obj(["state", "restarts"], state=enum("running", "restarting"),
                                                        pid=nullable(INT), restarts=INT,
                                                        last_exit=nullable(obj(["code", "at"], code=INT, at=STR)))}))}}
