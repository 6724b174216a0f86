"""Tables of observations (CSV files and pandas DataFrames) read into arrays, and written.

The parsing behind :meth:`Observations.from_csv <bayes_mfg.data.Observations.from_csv>`,
:meth:`Observations.from_dataframe <bayes_mfg.data.Observations.from_dataframe>` and
:meth:`Observations.to_csv <bayes_mfg.data.Observations.to_csv>`; it knows nothing of
``Observations`` itself (the container validates what this module returns).

Two layouts are read:

- **long**: columns ``trajectory, time, state, value`` (any order, more allowed), one row
  per entry;
- **wide**: columns ``trajectory, time`` and one column per state (no ``state`` and no
  ``value`` column), one row per (trajectory, time).

Besides the arrays, the reader returns each entry's *resolution*: half a unit in the last
digit printed (``0.98`` -> ``0.005``, ``0.982`` -> ``0.0005``), the largest rounding error
the file can carry. It sets the tolerance of "shares sum to 1" and the value that replaces
a share printed as zero (see :meth:`Observations.from_csv`).
"""

from __future__ import annotations

import csv
import gzip
import io
import pathlib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import numpy as np

__all__ = ["CSV_COLUMNS", "ID_COLUMNS", "LongTable", "read_dataframe", "read_long_csv", "read_rows", "write_long_csv"]

#: The columns of the long format, in the order they are written.
CSV_COLUMNS = ("trajectory", "time", "state", "value")

#: The columns that identify a row of the wide format (every other column is a state).
ID_COLUMNS = ("trajectory", "time")

#: Separators recognised from the header line, in order of preference.
SEPARATORS = (",", ";", "\t")


class LongTable(NamedTuple):
    """A table as arrays: ``values`` ``(n_traj, n_times, d)`` with NaN where no entry was given,
    and ``resolution`` of the same shape (half a unit in the last printed digit; NaN where
    missing). ``layout`` is ``"long"`` or ``"wide"``."""

    values: np.ndarray
    times: np.ndarray
    state_names: tuple[str, ...]
    trajectory_names: tuple[str, ...]
    resolution: np.ndarray
    layout: str = "long"
    source: str = "table"


def read_long_csv(path: str | pathlib.Path, state_names: Sequence[str] | None = None, *,
                  allow_negative: bool = False) -> LongTable:
    """Read a long or wide table from a CSV file (see :meth:`bayes_mfg.data.Observations.from_csv`).

    Strict: nothing is guessed or dropped. A ``.gz`` file is read through gzip; a UTF-8
    byte-order mark (Excel) is removed; blank lines are skipped. The separator is ``,``,
    ``;`` or a tab, read off the header line; with ``;`` or a tab a decimal comma
    (``0,5``, as spreadsheets in many locales write) is read as a decimal point.

    Raises
    ------
    ValueError
        Naming the file, line and column: missing or repeated columns, a row with more or
        fewer fields than the header (an unquoted decimal comma in a comma-separated file
        adds one), no data rows, a time or value that is not a number, a time that is not
        finite, a negative value (unless ``allow_negative``), the same (trajectory, time,
        state) on two lines, or (with ``state_names``) an unknown state.
    """
    name = str(path)
    try:
        fh = gzip.open(path, "rt", newline="", encoding="utf-8-sig") if name.endswith(".gz") else \
            open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"path: no such file {name!r}") from None
    try:
        with fh:
            text = fh.read()
    except (UnicodeDecodeError, OSError, EOFError) as e:  # binary data, a damaged gzip
        raise ValueError(f"{name}: not a readable UTF-8 CSV file ({type(e).__name__}: {e})") from None
    first = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first is None:
        raise ValueError(f"{name}: the file is empty (expected a header {','.join(CSV_COLUMNS)})")
    sep = max(SEPARATORS, key=lambda s: (first.count(s), -SEPARATORS.index(s)))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        header = next(reader)
        while not any(f.strip() for f in header):
            header = next(reader)
        lines = [(f"line {reader.line_num}", row) for row in reader]
    except csv.Error as e:  # a stray NUL
        raise ValueError(f"{name}: not a readable UTF-8 CSV file (csv.Error: {e})") from None
    return read_rows(name, header, lines, state_names, allow_negative=allow_negative, decimal_comma=sep != ",",
                     first_line="line 1")


def read_dataframe(frame: Any, state_names: Sequence[str] | None = None, *, allow_negative: bool = False) -> LongTable:
    """Read a long or wide pandas DataFrame (see :meth:`bayes_mfg.data.Observations.from_dataframe`).

    Numbers are read through their shortest round-trip text (``repr``), so the resolution of
    ``0.98`` is ``0.005`` as in a file; missing cells (NaN, None) are missing entries.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    header = [str(c) for c in frame.columns]

    def text(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, (float, np.floating)):
            return repr(float(v))
        return str(v)

    lines = [(f"row {label!r}", [text(v) for v in row]) for label, row in zip(frame.index, frame.itertuples(index=False))]
    return read_rows("DataFrame", header, lines, state_names, allow_negative=allow_negative, decimal_comma=False,
                     first_line="the header")


def read_rows(name: str, header: Sequence[str], lines: Sequence[tuple[str, Sequence[str]]],
              state_names: Sequence[str] | None, *, allow_negative: bool, decimal_comma: bool,
              first_line: str) -> LongTable:
    """Parse a header and ``(location, fields)`` rows of the long or the wide layout."""
    columns = [c.strip() for c in header]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"{name}, {first_line}: repeated column(s) {repeated}")
    wide = all(c in columns for c in ID_COLUMNS) and "state" not in columns and "value" not in columns
    if wide:
        state_cols = [c for c in columns if c not in ID_COLUMNS]
        if not state_cols:
            raise ValueError(f"{name}: a wide table needs a column per state besides {list(ID_COLUMNS)}, got {columns}")
    else:
        missing = [c for c in CSV_COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"{name}: expected the long columns {sorted(CSV_COLUMNS)} or the wide columns "
                             f"trajectory,time,<one per state>; got {list(header)}; missing {missing}")
    col = {c: columns.index(c) for c in columns}
    known = tuple(state_names) if state_names is not None else None
    states: list[str] = list(known) if known is not None else []
    trajs: dict[str, None] = {}
    seen: dict[tuple[str, float, str], str] = {}
    parsed = []

    def state_label(where: str, st: str) -> str:
        if st in states:
            return st
        if known is not None and st.isdigit() and int(st) < len(known):
            return known[int(st)]
        if known is not None:
            raise ValueError(f"{name}, {where}, column 'state': unknown state {st!r}; expected one of {list(known)}")
        states.append(st)
        return st

    if wide:
        labels = {c: state_label(first_line, c) for c in state_cols}
    for where, row in lines:
        if not row or all(not str(f).strip() for f in row):
            continue
        if len(row) != len(columns):
            hint = (" (an unquoted decimal comma, e.g. 0,5, splits a number in two)"
                    if len(row) > len(columns) and not decimal_comma else "")
            raise ValueError(f"{name}, {where}: {len(row)} fields where the header has {len(columns)}{hint}")
        r = {c: str(row[k]).strip() for c, k in col.items()}
        t, _ = _number(name, where, "time", r["time"], decimal_comma)
        if not np.isfinite(t):
            raise ValueError(f"{name}, {where}, column 'time': times must be finite, got {r['time']!r}")
        tr = r["trajectory"]
        entries = [(labels[c], c) for c in state_cols] if wide else [(state_label(where, r["state"]), "value")]
        for st, vcol in entries:
            text = r[vcol]
            v, res = (float("nan"), float("nan")) if text == "" else _number(name, where, vcol, text, decimal_comma)
            if np.isinf(v) or (v < 0 and not allow_negative):
                raise ValueError(f"{name}, {where}, column {vcol!r}: "
                                 f"{'values must be finite' if np.isinf(v) else 'values must be >= 0'}, got {text!r}")
            key = (tr, t, st)
            if key in seen:
                what = f"trajectory {tr!r}, time {r['time']}" + ("" if wide else f", state {st!r}")
                raise ValueError(f"{name}, {where}: {what} was already given on {seen[key]} (one row per entry)")
            seen[key] = where
            parsed.append((tr, t, st, v, res))
        trajs.setdefault(tr)
    if not parsed:
        raise ValueError(f"{name}: no data rows")
    tlist = sorted({p[1] for p in parsed})
    values = np.full((len(trajs), len(tlist), len(states)), np.nan)
    resolution = np.full(values.shape, np.nan)
    ti = {t: k for k, t in enumerate(tlist)}
    ji = {tr: k for k, tr in enumerate(trajs)}
    si = {s: k for k, s in enumerate(states)}
    for tr, t, st, v, res in parsed:
        values[ji[tr], ti[t], si[st]] = v
        resolution[ji[tr], ti[t], si[st]] = res
    return LongTable(values, np.asarray(tlist), tuple(states), tuple(trajs), resolution, "wide" if wide else "long",
                     name)


def _number(name: str, where: str, column: str, text: str, decimal_comma: bool) -> tuple[float, float]:
    """The number in ``text`` and its resolution (half a unit in its last digit)."""
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        what = "time" if column == "time" else "value"
        raise ValueError(f"{name}, {where}, column {column!r}: {what} must be a number, got {text!r}") from None
    try:
        exponent = Decimal(text).as_tuple().exponent
    except InvalidOperation:
        exponent = None
    res = 0.5 * 10.0 ** exponent if isinstance(exponent, int) else 0.0
    return value, res


def write_long_csv(path: str | pathlib.Path, values: np.ndarray, mask: np.ndarray, times: np.ndarray,
                   state_names: Sequence[str], trajectory_names: Sequence[str]) -> None:
    """Write the entries of ``values`` where ``mask`` is True, one row each (floats as ``repr``, exact)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for j, tr in enumerate(trajectory_names):
            for k, t in enumerate(times):
                for x, st in enumerate(state_names):
                    if mask[j, k, x]:
                        w.writerow([tr, repr(float(t)), st, repr(float(values[j, k, x]))])
