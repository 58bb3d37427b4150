"""/dash/: the door to the dashboards process (Dash under waitress on loopback).

The page base checks the session (login, idle timeout, forced password change) and the role; then
the request goes on, method, address, body and the few headers Dash needs, with the caller's
identity and scope signed (server.forwarded_caller), and the answer streams back as it arrives. The
browser's own cookies and any identity headers it made up never reach Dash: only the listed headers
are passed. Only I/O happens here; everything a dashboard computes runs in the dashboards process.
"""
from __future__ import annotations

import logging

import tornado.httputil
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .. import access
from ..api.base import APIError
from ..config import resolve_forward_secret
from ..forwarded_caller import Caller, sign
from .pages import PageHandler

log = logging.getLogger("realname.web")

PREFIX = "/dash/"
# Request headers Dash uses; everything else (cookies, Authorization, X-Realname-*) stays here.
_PASSED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language", "If-None-Match", "If-Modified-Since",
                           "X-Requested-With")
# Hop-by-hop headers, and those this server sets itself for its own connection.
_DROPPED_RESPONSE_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                             "proxy-authenticate", "content-length", "server", "date"}


def forwarded_caller(principal, address: str) -> Caller:
    """The caller as the dashboards see it: the scope is the principal's, never anything the browser sent."""
    return Caller(principal.username or principal.name, principal.role, access.county_of(principal), address)


class DashboardsProxy(PageHandler):
    page_permission = "dashboards:read"
    SUPPORTED_METHODS = ("GET", "HEAD", "POST")

    async def get(self, _path: str = ""):
        await self._forward()

    head = post = get

    async def _forward(self) -> None:
        config = self.config
        headers = {name: self.request.headers[name] for name in _PASSED_REQUEST_HEADERS
                   if name in self.request.headers}
        headers.update(sign(self.settings["forward_secret"], forwarded_caller(self.principal, self.request.remote_ip)))
        self._headers_sent = False
        request = HTTPRequest(f"http://127.0.0.1:{config.dash_port}{self.request.uri}", method=self.request.method,
                              headers=headers, body=self.request.body if self.request.method == "POST" else None,
                              follow_redirects=False, decompress_response=False, request_timeout=120,
                              header_callback=self._upstream_header, streaming_callback=self._upstream_chunk)
        try:
            await AsyncHTTPClient().fetch(request, raise_error=False)
            failure = None
        except (OSError, HTTPClientError) as exc:  # refused, reset, timed out
            failure = exc
        if not self._headers_sent:
            # Nothing came back (the dashboards process is down or timed out): a Chinese page, no details.
            log.warning("dashboards process did not answer: %s", failure)
            raise APIError(502, "dashboards_unavailable", "监管看板服务暂不可用，请稍后再试")
        self.finish()

    def _upstream_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self._status_line = tornado.httputil.parse_response_start_line(line.strip())
            self._upstream = tornado.httputil.HTTPHeaders()
        elif line.strip():
            self._upstream.parse_line(line)
        elif self._status_line.code != 100:
            self.set_status(self._status_line.code, self._status_line.reason)
            # Dash's own headers replace the portal's defaults (its script policy allows Dash's inline
            # start-up script by hash); those it does not send, such as no-store, stay.
            replaced = set()
            for name, value in self._upstream.get_all():
                if name.lower() in _DROPPED_RESPONSE_HEADERS:
                    continue
                if name.lower() in replaced:
                    self.add_header(name, value)
                else:
                    self.set_header(name, value)
                    replaced.add(name.lower())
            self._headers_sent = True

    def _upstream_chunk(self, chunk: bytes) -> None:
        self.write(chunk)
        self.flush()


class DashboardsRoot(PageHandler):
    page_permission = "dashboards:read"

    async def get(self):
        self.redirect(PREFIX)


def application_settings(config) -> dict:
    return {"forward_secret": resolve_forward_secret(config)}


default_handlers = [(r"/dash", DashboardsRoot), (r"/dash/(.*)", DashboardsProxy)]
nav = [{"title": "监管看板", "url": PREFIX, "permission": "dashboards:read", "order": 5}]
