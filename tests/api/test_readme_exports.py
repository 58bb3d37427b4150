"""README promises: "Every table has an Excel export". Every page of the README's portal table that
shows a list table offers an export link, and the export answers with a workbook."""
from __future__ import annotations

import pathlib
import re

from support import ADMIN_TOKEN

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
# A supplier's own pages export the supplier's own records: the admin token here sees the page and its
# export link, but the export answers only a supplier (its own records), so only the link is checked.
SUPPLIER_OWN = {"/supplier", "/access"}


def portal_pages() -> list[str]:
    """The page paths of the README's portal table (its first column), without parameters."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## The portal", 1)[1].split("\n\n| page |", 1)[1].split("\n\n", 1)[0]
    paths = []
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        paths += [p for p in re.findall(r"`(/[^`]*)`", first) if "{" not in p]
    return paths


def test_the_readme_portal_table_is_read():
    pages = portal_pages()
    assert {"/projects", "/enterprises", "/people", "/roster", "/audit", "/devices"} <= set(pages), pages


def test_every_portal_table_in_the_readme_has_an_export(web, site):
    missing = []
    for path in portal_pages():
        if path.startswith("/dash"):
            continue  # the dashboards process, not this web process (its own exports: dashboards/README.md)
        status, body, _ = web.raw("GET", f"{path}?project={site['project_id']}", token=ADMIN_TOKEN)
        html = body.decode()
        if status != 200 or '<table class="list"' not in html:
            continue  # a form, or a page an admin token is sent away from: no table to export
        exports = re.findall(r'href="(/api/[^"]*export[^"]*)"', html)
        if not exports:
            missing.append(path)
            continue
        for url in exports if path not in SUPPLIER_OWN else ():
            got, data, headers = web.raw("GET", url.replace("&amp;", "&"), token=ADMIN_TOKEN)
            assert got == 200 and data[:2] == b"PK", (path, url, got)
    assert not missing, f"README pages with a table but no export: {missing}"
