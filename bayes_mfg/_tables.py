"""Markdown, plain-text and HTML tables: the one place reports and the CLI format tables.

A leaf module (numpy, pandas and the standard library only), used by the criticism
reports (identifiability, predictive checks, comparisons, ``bm.report``) and by the CLI.

>>> import pandas as pd
>>> df = pd.DataFrame({"mean": [1.23456, float("nan")]}, index=pd.Index(["a", "b"], name="parameter"))
>>> print(markdown_table(df))
| parameter | mean |
|---|---|
| a | 1.235 |
| b | nan |
>>> print(markdown_table([{"x": 1, "y": 0.5}], columns=["x", "y"]))
| x | y |
|---|---|
| 1 | 0.5 |
>>> print(text_table([{"x": 1, "y": 0.5}], columns=["x", "y"]))
x    y
1  0.5
>>> print(markdown_to_html("# Title\\n\\n- **a**: 1\\n\\n| x |\\n|---|\\n| 1 |"))
<h1>Title</h1>
<ul>
<li>a: 1</li>
</ul>
<table><tr><th>x</th></tr><tr><td>1</td></tr></table>
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["format_value", "html_table", "markdown_table", "markdown_to_html", "text_table"]


def format_value(value: Any, digits: int = 4) -> str:
    """A table cell: floats with ``digits`` significant digits (``nan``/``inf`` spelled out), others ``str``."""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return "nan" if math.isnan(v) else f"{v:.{digits}g}"
    return str(value)


def _cells(table: pd.DataFrame | Iterable[Mapping[str, Any]], columns: Sequence[str] | None, index: bool | None,
           digits: int) -> tuple[list[str], list[list[str]]]:
    """Header and formatted body of a DataFrame (index first unless ``index=False``) or of rows (dicts)."""
    if isinstance(table, pd.DataFrame):
        cols = [str(c) for c in (table.columns if columns is None else columns)]
        frame = table if columns is None else table[list(columns)]
        with_index = True if index is None else index
        head = ([table.index.name or ""] if with_index else []) + cols
        body = [([str(idx)] if with_index else []) + [format_value(v, digits) for v in row]
                for idx, row in zip(frame.index, frame.itertuples(index=False, name=None))]
        return head, body
    rows = list(table)
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    head = [str(c) for c in columns]
    return head, [[format_value(r.get(c), digits) for c in columns] for r in rows]


def markdown_table(table: pd.DataFrame | Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
                   index: bool | None = None, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table of a DataFrame or of rows (one dict per row).

    For a DataFrame the index is the first column (headed by the index name) unless
    ``index=False``; for rows, ``columns`` selects and orders the columns (default: the
    keys in order of first appearance; a missing key gives ``None``).
    """
    head, body = _cells(table, columns, index, digits)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def text_table(table: pd.DataFrame | Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
               index: bool | None = None, digits: int = 4) -> str:
    """A plain-text table for a terminal: right-aligned columns separated by two spaces."""
    head, body = _cells(table, columns, index, digits)
    cells = [head, *body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells)


def html_table(table: pd.DataFrame | Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
               index: bool | None = None, digits: int = 4) -> str:
    """An HTML ``<table>`` (cells escaped) of a DataFrame or of rows, formatted as :func:`markdown_table`."""
    head, body = _cells(table, columns, index, digits)
    return _html_rows(head, body)


def _html_rows(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    return ("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
            + "</table>")


def markdown_to_html(text: str) -> str:
    """HTML of the Markdown subset the reports write: ``#`` headings, ``- `` lists, ``|`` tables, paragraphs.

    Bold markers (``**``) in list items are dropped; every text is HTML-escaped.
    """
    out: list[str] = []
    table: list[str] = []
    in_list = False

    def flush_table() -> None:
        if not table:
            return
        rows = [[c.strip() for c in r.strip().strip("|").split("|")] for r in table
                if not set(r.replace("|", "").strip()) <= {"-"}]
        out.append(_html_rows(rows[0], rows[1:]))
        table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{html.escape(line[2:]).replace('**', '')}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush_table()
    if in_list:
        out.append("</ul>")
    return "\n".join(out)
