"""The web process: one Tornado application serving the REST API (and, later, pages and dashboards)."""
from __future__ import annotations

import asyncio
import logging
import signal

import tornado.web
from pymongo.asynchronous.database import AsyncDatabase

from ..config import Config, resolve_cookie_secret
from . import audit, auth, devices, health, people, projects
from .base import APIError, APIHandler

log = logging.getLogger("realname.web")


class NotFoundHandler(APIHandler):
    async def prepare(self):
        await super().prepare()
        raise APIError(404, "not_found", "接口不存在")


def make_app(config: Config, db: AsyncDatabase) -> tornado.web.Application:
    handlers = [*health.default_handlers, *projects.default_handlers, *devices.default_handlers,
                *people.default_handlers, *auth.default_handlers, *audit.default_handlers]
    return tornado.web.Application(handlers, config=config, db=db, default_handler_class=NotFoundHandler,
                                   xsrf_cookies=False, compress_response=True,
                                   cookie_secret=resolve_cookie_secret(config))


async def run_web(config: Config, db: AsyncDatabase) -> None:
    app = make_app(config, db)
    server = app.listen(config.web_port, address=config.web_host, xheaders=True)
    log.info("web listening on %s:%s", config.web_host, config.web_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
