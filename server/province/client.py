"""The adapter: calls the provincial platform over HTTP and sorts every answer into one of a few kinds.

``Platform`` is the small interface the upload pipeline needs; ``HttpPlatform`` implements it for the
contract in ``signing`` (another province's platform implements the same three methods). Every call
answers one of:

- ``Accepted(serial)``: an upload was taken; its outcome is polled with ``query_result``;
- ``Refused(code, message)``: code ≠ 0, the platform said no and why — resending the same will not help
  (``already_exists`` marks the answers a careful client treats as success and reconciles);
- ``Transient(reason)``: time-out, connection refused, 5xx or an answer that is not the contract's —
  nothing is known, so the caller retries later;
- ``Outcome(status, message, data)`` for ``query_result``; ``Answer(data)`` for queries.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import socket
import weakref
from typing import Any, Protocol, Union

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.ioloop import IOLoop
from tornado.netutil import DefaultLoopResolver, Resolver

from . import codes, signing


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A project's appid and secret (the platform issues them per project)."""
    appid: str
    appsecret: str

    def __repr__(self) -> str:  # never print a secret into a log
        return f"Credentials(appid={self.appid!r})"


@dataclasses.dataclass(frozen=True)
class Accepted:
    serial: str


@dataclasses.dataclass(frozen=True)
class Refused:
    code: int
    message: str

    @property
    def already_exists(self) -> bool:
        return codes.is_already_exists(self.message)


@dataclasses.dataclass(frozen=True)
class Transient:
    reason: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int
    message: str = ""
    data: dict = dataclasses.field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return self.status == codes.PENDING

    @property
    def succeeded(self) -> bool:
        return self.status == codes.SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.status == codes.FAILED

    @property
    def already_exists(self) -> bool:
        return self.failed and codes.is_already_exists(self.message)


@dataclasses.dataclass(frozen=True)
class Answer:
    data: object


SubmitResult = Union[Accepted, Refused, Transient]
QueryResult = Union[Outcome, Refused, Transient]
CallResult = Union[Answer, Refused, Transient]


class Platform(Protocol):
    async def upload(self, creds: Credentials, kind: str, payload: dict, *, update: bool = False) -> SubmitResult: ...

    async def query_result(self, creds: Credentials, serial: str) -> QueryResult: ...

    async def query(self, creds: Credentials, method: str, payload: dict) -> CallResult: ...


def upload_method(kind: str, *, update: bool = False) -> str:
    return f"{codes.METHOD_BY_KIND[kind]}.{'Update' if update else 'Add'}"


class AddressResolver(Resolver):
    """An address (the URL's host is an IP) answered at once, a name by the default resolver.

    Tornado's client opens a connection per request and resolves its host each time; the default
    resolver asks getaddrinfo on an executor thread even for an address: for an upload of a day's
    punches (thousands of requests) about a fifth of the pass's own samples under py-spy."""

    def initialize(self) -> None:
        self.names = DefaultLoopResolver()

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
                      ) -> list[tuple[int, Any]]:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return await self.names.resolve(host, port, family)
        own = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        if family not in (socket.AF_UNSPEC, own):
            raise OSError(f"{host} is not an address of family {family!r}")
        return [(own, (str(address), port) if own == socket.AF_INET else (str(address), port, 0, 0))]


_CLIENTS: "weakref.WeakKeyDictionary[IOLoop, AsyncHTTPClient]" = weakref.WeakKeyDictionary()


def platform_http_client() -> AsyncHTTPClient:
    """The client the adapter calls the platform with: one per event loop, as tornado's shared one, but
    with its own resolver (tornado's shared client keeps whatever it was first made with)."""
    loop = IOLoop.current()
    if loop not in _CLIENTS:
        _CLIENTS[loop] = AsyncHTTPClient(force_instance=True, resolver=AddressResolver())
    return _CLIENTS[loop]


class HttpPlatform:
    """The contract over HTTP (tornado's client); time-outs from the settings."""

    def __init__(self, base_url: str, *, connect_timeout: float = 5.0, request_timeout: float = 20.0,
                 http: AsyncHTTPClient | None = None):
        self.base_url = base_url
        self.connect_timeout, self.request_timeout = connect_timeout, request_timeout
        self.http = http or platform_http_client()

    @classmethod
    def from_config(cls, config) -> "HttpPlatform":
        return cls(config.province_url, connect_timeout=config.province_connect_timeout,
                   request_timeout=config.province_request_timeout)

    async def call(self, creds: Credentials, method: str, payload: dict) -> CallResult:
        form = signing.build_form(creds.appid, creds.appsecret, method, payload)
        request = HTTPRequest(self.base_url, method="POST", body=signing.form_body(form),
                              headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                              connect_timeout=self.connect_timeout, request_timeout=self.request_timeout)
        try:
            response = await self.http.fetch(request, raise_error=False)
        except HTTPClientError as exc:              # tornado raises time-outs even with raise_error=False
            return Transient(f"no answer: {exc}" if exc.code == 599 else f"HTTP {exc.code}")
        except OSError as exc:                      # connection refused, reset, DNS
            return Transient(f"{type(exc).__name__}: {exc}")
        if response.code == 599:                    # tornado's code for time-outs and closed connections
            return Transient(f"no answer: {response.error}")
        if response.code >= 500:
            return Transient(f"HTTP {response.code}")
        try:
            answer = json.loads(response.body)
            code = int(answer["code"])
        except (ValueError, TypeError, KeyError):
            # 4xx pages, proxies' HTML: not the contract's answer, so nothing is known about the request.
            return Transient(f"HTTP {response.code}: answer is not the platform's JSON")
        if code != codes.OK:
            return Refused(code, str(answer.get("message") or ""))
        return Answer(answer.get("data"))

    async def upload(self, creds: Credentials, kind: str, payload: dict, *, update: bool = False) -> SubmitResult:
        result = await self.call(creds, upload_method(kind, update=update), payload)
        if not isinstance(result, Answer):
            return result
        serial = (result.data or {}).get("requestSerialCode") if isinstance(result.data, dict) else None
        if not serial:
            return Transient("accepted without requestSerialCode")
        return Accepted(str(serial))

    async def query_result(self, creds: Credentials, serial: str) -> QueryResult:
        result = await self.call(creds, codes.ASYNC_RESULT_QUERY, {"requestSerialCode": serial})
        if not isinstance(result, Answer):
            return result
        data = result.data if isinstance(result.data, dict) else {}
        try:
            status = int(data["status"])
        except (KeyError, TypeError, ValueError):
            return Transient("AsyncHandleResult without status")
        return Outcome(status, str(data.get("message") or ""), data.get("result") or {})

    async def query(self, creds: Credentials, method: str, payload: dict) -> CallResult:
        return await self.call(creds, method, payload)
