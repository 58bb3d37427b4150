"""The web process: one Tornado application serving the REST API and the portal pages (dashboards later)."""
from __future__ import annotations

import asyncio
import logging
import signal

import tornado.web
from pymongo.asynchronous.database import AsyncDatabase

from ..config import Config, resolve_cookie_secret
from ..web import (attendance_pages, audit_pages, contract_pages, dash_proxy, device_pages, pages, people_pages,
                   project_pages, roster_pages, supplier_pages, upload_pages, workforce_pages)
from . import (accounts, attendance, audit, auth, contracts, declarations, device_access, devices, enterprises, health,
               imports, openapi, outbox, people, projects, roster, suppliers, teams, units, uploads)
from .base import APIError, APIHandler
from .transport import Application, plain_http_warning, tls_context

log = logging.getLogger("realname.web")


class NotFoundHandler(APIHandler):
    async def prepare(self):
        await super().prepare()
        raise APIError(404, "not_found", "接口不存在")


# Every module serving /api/... : its `default_handlers` are routed and its `openapi` paths documented.
API_MODULES = [health, openapi, auth, accounts, projects, declarations, outbox, enterprises, units, teams, people, roster,
               imports, contracts, attendance, devices, suppliers, device_access, audit, uploads]
# Server-rendered pages (server/web); they call the same store functions and post forms to the API.
PAGE_MODULES = [pages, project_pages, workforce_pages, roster_pages, people_pages, attendance_pages, contract_pages,
                supplier_pages, device_pages, audit_pages, upload_pages, dash_proxy]


def make_app(config: Config, db: AsyncDatabase) -> tornado.web.Application:
    handlers = [h for module in API_MODULES + PAGE_MODULES for h in module.default_handlers]
    # Unknown addresses: JSON under /api/, a Chinese page everywhere else.
    handlers.append((r"/(?!api/).*", pages.NotFoundPage))
    nav = sorted((entry for module in PAGE_MODULES for entry in module.nav), key=lambda e: e["order"])
    return Application(handlers, config=config, db=db, default_handler_class=NotFoundHandler,
                                   nav=nav,
                                   xsrf_cookies=False, compress_response=True,
                                   cookie_secret=resolve_cookie_secret(config),
                                   openapi=openapi.build_document(API_MODULES),
                                   **dash_proxy.application_settings(config),
                                   **pages.application_settings())


async def run_web(config: Config, db: AsyncDatabase) -> None:
    app = make_app(config, db)
    # No xheaders: the forwarded headers are believed only from REALNAME_TRUSTED_PROXIES (transport.py).
    server = app.listen(config.web_port, address=config.web_host, ssl_options=tls_context(config))
    log.info("web listening on %s://%s:%s", "https" if config.tls_cert else "http", config.web_host, config.web_port)
    if (warning := plain_http_warning(config)) is not None:
        log.warning(warning)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Background work (imports, mail retry) runs in `realname worker` processes, not here.
    await stop.wait()
    server.stop()
