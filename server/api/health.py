"""Liveness for load balancers and operators: is the web process up and does the database answer."""
from __future__ import annotations

from pymongo.errors import PyMongoError

from .base import APIHandler
from .openapi import enum, obj, operation


class HealthHandler(APIHandler):
    async def get(self):
        try:
            await self.db.command("ping")
            database = "ok"
        except PyMongoError:
            database = "unreachable"
        self.write_json({"status": "ok" if database == "ok" else "degraded", "database": database},
                        status=200 if database == "ok" else 503)


default_handlers = [(r"/api/health", HealthHandler)]

openapi = {"/api/health": {"get": operation(
    "进程与数据库是否可用", tag="meta", public=True, errors=(503,),
    response=obj(["status", "database"], status=enum("ok", "degraded"), database=enum("ok", "unreachable")))}}
