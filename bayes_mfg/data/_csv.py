"""Long-format CSV (``trajectory,time,state,value``) read into arrays and written from them.

The parsing behind :meth:`Observations.from_csv <bayes_mfg.data.Observations.from_csv>` and
:meth:`Observations.to_csv <bayes_mfg.data.Observations.to_csv>`; it knows nothing of
``Observations`` itself (the container validates what this module returns).
"""

from __future__ import annotations

import csv
import gzip
import pathlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["CSV_COLUMNS", "LongTable", "read_long_csv", "write_long_csv"]

#: The columns of the long format, in the order they are written.
CSV_COLUMNS = ("trajectory", "time", "state", "value")


class LongTable(NamedTuple):
    """A long-format CSV as arrays: ``values`` ``(n_traj, n_times, d)`` with NaN where no row was given."""

    values: np.ndarray
    times: np.ndarray
    state_names: tuple[str, ...]
    trajectory_names: tuple[str, ...]


def read_long_csv(path: str | pathlib.Path, state_names: Sequence[str] | None = None, *,
                  allow_negative: bool = False) -> LongTable:
    """Read ``trajectory,time,state,value`` rows (see :meth:`bayes_mfg.data.Observations.from_csv`).

    Strict: nothing is guessed or dropped. A ``.gz`` file is read through gzip; a UTF-8
    byte-order mark (Excel) is removed; blank lines are skipped.

    Raises
    ------
    ValueError
        Naming the file, line and column: missing or repeated columns, another separator
        (``;`` or tab), a row with more or fewer fields than the header (an unquoted decimal
        comma adds one), no data rows, a time or value that is not a number, a time that is
        not finite, a negative value (unless ``allow_negative``), the same (trajectory, time,
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
            reader = csv.reader(fh)
            header = next(reader, None)
            lines = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, OSError, csv.Error) as e:  # binary data, a damaged gzip, a stray NUL
        raise ValueError(f"{name}: not a readable UTF-8 CSV file ({type(e).__name__}: {e})") from None
    if header is None:
        raise ValueError(f"{name}: the file is empty (expected a header {','.join(CSV_COLUMNS)})")
    columns = [c.strip() for c in header]
    if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t")):
        sep = "';'" if ";" in columns[0] else "tab"
        raise ValueError(f"{name}, line 1: the header {header[0]!r} is {sep}-separated; the long format is "
                         f"comma-separated ({','.join(CSV_COLUMNS)})")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"{name}, line 1: repeated column(s) {repeated}")
    missing = [c for c in CSV_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"{name}: CSV needs the columns {sorted(CSV_COLUMNS)}, got {header}; missing {missing}")
    col = {c: columns.index(c) for c in CSV_COLUMNS}
    known = tuple(state_names) if state_names is not None else None
    trajs: dict[str, None] = {}
    states: list[str] = list(known) if known is not None else []
    seen: dict[tuple[str, float, str], int] = {}
    parsed = []
    for line, row in lines:
        if not row or all(not f.strip() for f in row):
            continue
        if len(row) != len(columns):
            hint = " (an unquoted decimal comma, e.g. 0,5, splits a number in two)" if len(row) > len(columns) else ""
            raise ValueError(f"{name}, line {line}: {len(row)} fields where the header has {len(columns)}{hint}")
        r = {c: row[k].strip() for c, k in col.items()}
        t = _number(name, line, "time", r["time"])
        if not np.isfinite(t):
            raise ValueError(f"{name}, line {line}, column 'time': times must be finite, got {r['time']!r}")
        v = float("nan") if r["value"] == "" else _number(name, line, "value", r["value"])
        if np.isinf(v) or (v < 0 and not allow_negative):
            raise ValueError(f"{name}, line {line}, column 'value': "
                             f"{'values must be finite' if np.isinf(v) else 'values must be >= 0'}, got {r['value']!r}")
        tr, st = r["trajectory"], r["state"]
        if st not in states:
            if known is not None and st.isdigit() and int(st) < len(known):
                st = known[int(st)]
            elif known is not None:
                raise ValueError(f"{name}, line {line}, column 'state': unknown state {st!r}; expected one of {list(known)}")
            else:
                states.append(st)
        key = (tr, t, st)
        if key in seen:
            raise ValueError(f"{name}, line {line}: trajectory {tr!r}, time {r['time']}, state {st!r} was already "
                             f"given on line {seen[key]} (one row per entry)")
        seen[key] = line
        trajs.setdefault(tr)
        parsed.append((tr, t, st, v))
    if not parsed:
        raise ValueError(f"{name}: no data rows")
    tlist = sorted({t for _, t, _, _ in parsed})
    values = np.full((len(trajs), len(tlist), len(states)), np.nan)
    ti = {t: k for k, t in enumerate(tlist)}
    ji = {tr: k for k, tr in enumerate(trajs)}
    si = {s: k for k, s in enumerate(states)}
    for tr, t, st, v in parsed:
        values[ji[tr], ti[t], si[st]] = v
    return LongTable(values, np.asarray(tlist), tuple(states), tuple(trajs))


def _number(name: str, line: int, column: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}, line {line}, column {column!r}: {column} must be a number, got {text!r}") from None


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
