"""What every page is made of: its definitions, filters, the table, its Excel export, the message box.

A page's table and its export come from the same DataFrame of the data module, so the file holds
the same columns and the same figures as the screen. Bad input (DataError from the data module, or
a value the filters could not read) becomes a Chinese message on the page, never a traceback.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Callable

import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html

from server.api.exports import XLSX_TYPE, export_filename, xlsx_bytes
from server.domain import vocabulary
from server.domain.site_clock import site_today

from . import caller, data
from .data import UPDATED_AT
from .database import database


log = logging.getLogger("realname.dashboards")


class InputError(Exception):
    """A filter value the page could not read; shown like the data module's DataError."""


def fetch(query: Callable) -> tuple[pd.DataFrame | None, str]:
    """(result, "") from query(data module, db, scope), or (None, the reason in Chinese).

    Anything else that goes wrong is logged here and shown as a plain Chinese sentence: the page
    never shows a traceback, and never an empty table that looks like "no figures".
    """
    try:
        return query(data, database(), caller.scope()), ""
    except InputError as exc:
        return None, str(exc)
    except data.DataError as exc:
        # The reason alone, in Chinese; the field's code is for machines, not for the page.
        return None, getattr(exc, "message", str(exc))
    except Exception:
        log.exception("dashboard query failed")
        return None, "数据暂时无法读取，请稍后再试"


def as_day(value: str | None) -> dt.date:
    if not value:
        return site_today()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError("日期：格式须为 YYYY-MM-DD") from None


def as_month(value: str | None) -> str:
    """The month as YYYY-MM (the data module checks its range); default this month."""
    if not value:
        return site_today().strftime("%Y-%m")
    if not re.fullmatch(r"\d{4}-\d{2}", value.strip()):
        raise InputError("月份：格式须为 YYYY-MM")
    return value.strip()


def page_header(title: str, *definitions: str) -> html.Div:
    """The page's title and, always visible, the definitions its figures follow (domain.md)."""
    return html.Div([html.H2(title), html.Details([html.Summary("口径说明"),
                                                   html.Ul([html.Li(d) for d in definitions])],
                                                  open=True, className="definitions")])


def message(prefix: str) -> html.Div:
    return html.Div(id=f"{prefix}-message", className="message", role="alert")


def day_picker(prefix: str, value: str | None = None) -> dcc.DatePickerSingle:
    """`value`: a day a link carried (YYYY-MM-DD); anything else opens on today."""
    try:
        day = dt.date.fromisoformat(value).isoformat() if value else site_today().isoformat()
    except (TypeError, ValueError):
        day = site_today().isoformat()
    return dcc.DatePickerSingle(id=f"{prefix}-day", date=day, display_format="YYYY-MM-DD",
                                first_day_of_week=1, max_date_allowed=site_today().isoformat())


def month_picker(prefix: str) -> dcc.Input:
    return dcc.Input(id=f"{prefix}-month", type="text", value=site_today().strftime("%Y-%m"), placeholder="YYYY-MM",
                     debounce=True, className="month")


def county_dropdown(prefix: str, value: str | None = None) -> dcc.Dropdown:
    """A county supervisor sees only their county here; the data functions are scoped anyway."""
    own = caller.current().county
    counties = (own,) if own else vocabulary.COUNTIES
    return dcc.Dropdown(id=f"{prefix}-county", options=[{"label": c, "value": c} for c in counties],
                        value=own or (value if value in counties else None), disabled=bool(own),
                        placeholder="请选择项目所在地", clearable=not own)


def filters(*items) -> html.Div:
    return html.Div([html.Label([label, control]) for label, control in items], className="filters")


def export_button(prefix: str) -> html.Span:
    return html.Span([html.Button("导出 Excel", id=f"{prefix}-export", className="export"),
                      dcc.Download(id=f"{prefix}-download")])


def table(prefix: str, frame: pd.DataFrame | None, links: dict[str, Callable[..., str]] | None = None,
          filters: tuple = ()):
    """The DataFrame as a table; links maps a column to the address its cell opens (markdown, no HTML),
    made by link(row, *the filters' values) — a drill-down carries the filters it was read with."""
    if frame is None:
        return html.Div()
    links = links or {}
    records = frame.to_dict("records")
    for row in records:
        for column, href in links.items():
            target = href(row, *filters)
            if target:
                row[column] = f"[{_markdown_text(row[column])}]({target})"
    columns = [{"name": str(c), "id": str(c), **({"presentation": "markdown"} if c in links else {})}
               for c in frame.columns]
    grid = dash_table.DataTable(id=f"{prefix}-table", columns=columns,
                                data=[{str(k): _cell(v) for k, v in row.items()} for row in records],
                                page_size=50, sort_action="native", markdown_options={"html": False},
                                style_table={"overflowX": "auto"}, style_cell={"textAlign": "left"})
    # Figures kept current by the worker say how fresh they are (the data module sets frame.attrs).
    updated = frame.attrs.get(UPDATED_AT)
    return html.Div([html.P(f"{UPDATED_AT}：{_cell(updated)}", className="updated") if updated else None, grid])


def _markdown_text(value) -> str:
    # Names come from users: escaped so that they cannot become links or formatting of their own.
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>])", r"\\\1", str(value))


def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return str(value)
    return value


def download(frame: pd.DataFrame | None, title: str):
    """The same DataFrame as on screen, to Excel through the platform's formula-safe writer."""
    if frame is None:
        return None
    cells = frame.astype(object).where(frame.notna(), None)
    content = xlsx_bytes(title, [str(c) for c in frame.columns], cells.itertuples(index=False, name=None))
    return dcc.send_bytes(content, export_filename(title), type=XLSX_TYPE)


def result(prefix: str) -> html.Div:
    """Where a page's table appears, with its message box and export button above it."""
    return html.Div([html.Div([export_button(prefix), message(prefix)], className="toolbar"),
                     dcc.Loading(html.Div(id=f"{prefix}-result"))])


def table_callbacks(prefix: str, title: str, controls: list[tuple[str, str]], query: Callable,
                    links: dict[str, Callable[..., str]] | None = None) -> None:
    """The two callbacks of a page's table: show it as the filters change, export it on a click.

    controls: (component id, property) of each filter, passed in order to
    query(data, db, scope, *values, exporting=bool) → DataFrame.
    """
    values = [Input(i, p) for i, p in controls]

    @callback(Output(f"{prefix}-result", "children"), Output(f"{prefix}-message", "children"), *values)
    def show(*args):
        frame, error = fetch(lambda data, db, scope: query(data, db, scope, *args, exporting=False))
        return table(prefix, frame, links, args), error

    @callback(Output(f"{prefix}-download", "data"), Input(f"{prefix}-export", "n_clicks"),
              *[State(i, p) for i, p in controls], prevent_initial_call=True)
    def export(_clicks, *args):
        frame, _error = fetch(lambda data, db, scope: query(data, db, scope, *args, exporting=True))
        return download(frame, title)
