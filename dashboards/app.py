"""The dashboards' shell: the Dash app, its Chinese navigation, and the identity check on every request.

Only the shell lives here (Dash's pages feature): each page is a module of dashboards/pages. The app
is mounted under /dash/, the address the web process forwards, so its pages, assets and callbacks
resolve the same through the proxy. Every asset is served by this process (no CDN: sites may be offline).
"""
from __future__ import annotations

import urllib.parse

import dash
from dash import Input, Output, callback, dcc, html

from server.web.pages import ROLE_NAMES
from server.config import Config, resolve_forward_secret

from . import caller, database

PREFIX = "/dash/"
TITLE = "监管看板 — 江门市智慧工地监管平台"


def create_app(config: Config, uri: str) -> dash.Dash:
    database.configure(uri, config.db_name)
    app = ChineseDash("dashboards", use_pages=True, pages_folder="pages", url_base_pathname=PREFIX,
                    serve_locally=True, title=TITLE, update_title=None, suppress_callback_exceptions=True)
    caller.install(app.server, resolve_forward_secret(config))
    app.layout = shell
    _secure_headers(app)
    return app


def _secure_headers(app: dash.Dash) -> None:
    """Scripts only from here, plus Dash's own inline scripts by their hashes; no framing.

    Styles may be inline: plotly and the date picker insert <style> elements as they draw. The
    hashes are taken at the first answer, once the pages feature has added its inline callback.
    """
    policy: list[str] = []

    @app.server.after_request
    def add_headers(response):
        if not policy:
            policy.append("; ".join(("default-src 'self'", "script-src 'self' " + " ".join(app.csp_hashes()),
                                     "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
                                     "frame-ancestors 'none'")))
        response.headers["Content-Security-Policy"] = policy[0]
        response.headers["X-Frame-Options"] = "DENY"
        return response


class ChineseDash(dash.Dash):
    """Dash whose page frame speaks Chinese from the first byte (its own says "Loading..." in English)."""

    def interpolate_index(self, **kwargs):
        kwargs["app_entry"] = '<div id="react-entry-point"><div class="_dash-loading">正在加载监管看板…</div></div>'
        return super().interpolate_index(**kwargs).replace("<html>", '<html lang="zh-CN">', 1)


def shell() -> html.Div:
    pages = sorted(dash.page_registry.values(), key=lambda p: p["order"])
    return html.Div([
        dcc.Location(id="shell-url"),
        html.Header([html.A("江门市智慧工地监管平台 — 实名制管理子系统", href="/", className="brand"),
                     html.Span(id="shell-identity", className="identity")]),
        html.Nav([dcc.Link(p["name"], href=p["relative_path"]) for p in pages if not p.get("hidden")]
                 + [html.A("返回平台", href="/")], className="shell-nav"),
        html.Main(dash.page_container),
    ], className="shell")


@callback(Output("shell-identity", "children"), Input("shell-url", "search"))
def show_identity(search: str | None):
    """Who is signed in and which projects the figures cover; the scope is the verified caller's."""
    who = caller.current()
    scope = caller.scope().get("county", "全市")
    asked = urllib.parse.parse_qs((search or "").lstrip("?")).get("county", [""])[0]
    note = f"（仅可查看{scope}）" if asked and scope != "全市" and asked != scope else ""
    return f"{who.username}（{ROLE_NAMES.get(who.role, who.role)}）· 范围：{scope}{note}"
