"""What the web process takes from the connection rather than from a handler: the client's real
address and scheme (forwarded headers only from configured proxies), each route's body limit
(applied before the body is read), and the headers every response carries.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

import tornado.web
from tornado.httputil import HTTPServerRequest

from ..config import Config, Network

# A JSON form of the platform is a few kilobytes; 1 MB leaves room for long lists without letting
# anyone make the process hold 100 MB (Tornado's default) per request. Upload routes set their own.
DEFAULT_BODY_LIMIT = 1024 * 1024
# Room for the text fields sent beside an upload.
FORM_FIELDS_ALLOWANCE = 256 * 1024


def upload_body_limit(file_bytes: int, files: int = 1) -> int:
    """An upload route's body limit: up to twice its files' limit is read, so that the handler's own
    check answers a modestly oversized file with a 413 naming the field; anything larger is cut off
    (400, connection closed) before it is read."""
    return 2 * file_bytes * files + FORM_FIELDS_ALLOWANCE


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address, proxies: Iterable[Network]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in proxies)


def apply_forwarded(request: HTTPServerRequest, proxies: tuple[Network, ...]) -> None:
    """Take X-Forwarded-For / X-Real-Ip / X-Forwarded-Proto only when the peer is a trusted proxy.

    X-Forwarded-For is read from the right: each trusted proxy appends the address it saw, so the
    first untrusted address from the right is the client; anything further left was written by the
    client and may be forged.
    """
    if not _trusted(_address(request.remote_ip or ""), proxies):
        return
    client = None
    for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    if client is None:
        client = _address(request.headers.get("X-Real-Ip", ""))
    if client is not None:
        request.remote_ip = str(client)
    proto = request.headers.get("X-Forwarded-Proto", request.headers.get("X-Scheme", "")).split(",")[-1].strip()
    if proto.lower() in ("http", "https"):
        request.protocol = proto.lower()


def tls_context(config: Config):
    """The TLS context when a certificate and key are configured, else None (plain HTTP)."""
    if not config.tls_cert:
        return None
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def plain_http_warning(config: Config) -> str | None:
    """Said in the log at start when browsers on other machines cannot keep a session."""
    if config.tls_cert or config.trusted_proxies or config.plain_http_login:
        return None
    return ("no TLS: REALNAME_TLS_CERT/REALNAME_TLS_KEY and REALNAME_TRUSTED_PROXIES are unset, so logins work only "
            "from this machine (http://127.0.0.1 or http://localhost); browsers elsewhere are refused with a message. "
            "Configure TLS or a TLS reverse proxy (docs/access.md), or REALNAME_PLAIN_HTTP_LOGIN=yes to accept "
            "session cookies over plain HTTP.")


# Browsers count these as secure contexts even over plain HTTP, and keep Secure cookies for them.
_LOCAL_NAMES = ("localhost",)


def local_host(request: HTTPServerRequest) -> bool:
    """Whether the browser addressed this machine by a loopback name (as it typed it: the Host header)."""
    name = request.host_name.strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    address = _address(name)
    return address is not None and address.is_loopback


def session_cookie_secure(request: HTTPServerRequest, config: Config) -> bool | None:
    """How the session cookie may be sent on this request: True (Secure), False (plain HTTP, only
    because the operator chose REALNAME_PLAIN_HTTP_LOGIN=yes), or None: it cannot be sent at all
    (plain HTTP to another machine: a Secure cookie would be dropped by the browser, an unsecured
    one readable on the network)."""
    if request.protocol == "https" or local_host(request):
        return True
    return False if config.plain_http_login else None


PLAIN_HTTP_REFUSAL = ("本平台未对此地址启用 HTTPS，浏览器不会保存登录会话：请使用 https:// 地址访问，"
                      "或请管理员配置 HTTPS 或 HTTPS 反向代理（见 docs/access.md）")


class NoSniff(tornado.web.OutputTransform):
    """Every response, pages, API, static files and errors alike: the declared type is final."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        headers["X-Content-Type-Options"] = "nosniff"
        return status_code, headers, chunk


class Application(tornado.web.Application):
    """Tornado's application, with the client address and the body limit settled per request as
    soon as its headers are in, before the handler runs and before its body is read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_transform(NoSniff)

    def find_handler(self, request: HTTPServerRequest, **kwargs):
        config = self.settings["config"]
        apply_forwarded(request, config.trusted_proxies)
        delegate = super().find_handler(request, **kwargs)
        handler_class = getattr(delegate, "handler_class", None)
        limit = getattr(handler_class, "body_limit", None)  # static files have none: they read no body
        if request.connection is not None:
            request.connection.set_max_body_size(limit(config) if limit is not None else DEFAULT_BODY_LIMIT)
        return delegate
