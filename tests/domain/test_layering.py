"""The import rules docs/architecture.md states, checked on the source so a new import that breaks one fails here."""
from __future__ import annotations

import ast
import pathlib

import pytest

SERVER = pathlib.Path(__file__).resolve().parents[2] / "server"

# package → packages of ours it must never import (architecture.md, "Packages, and which may import which")
FORBIDDEN = {
    "domain": ("store", "api", "web", "device", "workers", "province", "simulator", "demo", "access"),
    "store": ("api", "web", "device", "workers", "simulator", "demo"),
    "device": ("api", "web", "workers", "demo"),
}


def _our_imports(path: pathlib.Path) -> set[str]:
    """The server sub-packages a module imports (relative or absolute)."""
    package = path.relative_to(SERVER).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
                if not node.module:
                    parts += [alias.name for alias in node.names]
            elif node.module and node.module.startswith("server."):
                parts = node.module.split(".")[1:]
            else:
                continue
            if parts:
                found.add(parts[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("server.")}
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_what_the_architecture_allows(package):
    wrong = [f"{path.relative_to(SERVER)} imports server.{name}"
             for path in sorted((SERVER / package).rglob("*.py"))
             for name in sorted(_our_imports(path) & set(FORBIDDEN[package]))]
    assert not wrong, "\n".join(wrong)


def test_access_imports_only_the_domain():
    assert _our_imports(SERVER / "access.py") <= {"domain"}


def test_the_check_sees_a_forbidden_import(tmp_path):
    # The rule must be able to fail: a relative import two levels up is resolved to its package.
    module = SERVER / "domain" / "_layering_probe.py"
    module.write_text("from ..store import db\n")
    try:
        assert "store" in _our_imports(module)
    finally:
        module.unlink()
