"""The OpenAPI document covers exactly the routes the app serves, with the methods their handlers define."""
from __future__ import annotations

import re

from server.api.app import API_MODULES
from server.api.base import APIHandler

_SAMPLE = {"integer": "1", "string": "000000000000000000000001"}


def _sample_path(path: str, operation: dict) -> str:
    params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}
    return re.sub(r"\{(\w+)\}", lambda m: _SAMPLE[params[m.group(1)]["schema"].get("type", "string")], path)


def test_every_route_is_documented_and_every_documented_path_is_served():
    for module in API_MODULES:
        routes = [(re.compile(pattern + "$"), handler) for pattern, handler in module.default_handlers]
        paths = getattr(module, "openapi", {})
        assert len(paths) == len(routes), f"{module.__name__}: {len(routes)} routes, {len(paths)} documented paths"
        for path, methods in paths.items():
            for method, op in methods.items():
                sample = _sample_path(path, op)
                matches = [h for rx, h in routes if rx.match(sample)]
                assert matches, f"{module.__name__}: {path} matches no route"
                handler = matches[0]
                assert issubclass(handler, APIHandler)
                assert method.upper() in handler.SUPPORTED_METHODS and method in vars(handler) or any(
                    method in vars(base) for base in handler.__mro__[:-1] if base is not APIHandler), \
                    f"{path}: {handler.__name__} has no {method}"


def test_each_declared_permission_matches_the_handler(web):
    """The served document's x-permission of every operation is its handler's requires() word."""
    status, doc = web.get("/api/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.")
    for module in API_MODULES:
        for pattern, handler in module.default_handlers:
            for method in ("get", "post", "put", "patch", "delete"):
                fn = getattr(handler, method, None)
                needed = getattr(fn, "permission", None)
                if needed is None:
                    continue
                # As served: the module's paths, with what the document built for them.
                documented = [op.get("x-permission") for path in getattr(module, "openapi", {})
                              for m, op in doc["paths"][path].items() if m == method
                              and re.compile(pattern + "$").match(_sample_path(path, op))]
                assert documented == [needed], f"{handler.__name__}.{method}: {documented} vs {needed}"
