"""Liveness for load balancers and operators: is the web process up and does the database answer."""
from __future__ import annotations

from pymongo.errors import PyMongoError

from .base import APIHandler


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
