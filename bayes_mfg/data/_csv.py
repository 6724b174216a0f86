"""Long-format CSV (``trajectory,time,state,value``) read into arrays and written from them.

The parsing behind :meth:`Observations.from_csv <bayes_mfg.data.Observations.from_csv>` and
:meth:`Observations.to_csv <bayes_mfg.data.Observations.to_csv>`; it knows nothing of
``Observations`` itself (the container validates what this module returns).
"""

from __future__ import annotations

import csv
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


def read_long_csv(path: str | pathlib.Path, state_names: Sequence[str] | None = None) -> LongTable:
    """Read ``trajectory,time,state,value`` rows (see :meth:`bayes_mfg.data.Observations.from_csv`).

    Raises
    ------
    ValueError
        For missing columns, no data rows, non-numeric times or values, or (with
        ``state_names``) an unknown state; the message names the file and line.
    """
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        need = set(CSV_COLUMNS)
        if reader.fieldnames is None or not need <= {c.strip() for c in reader.fieldnames}:
            raise ValueError(f"{path}: CSV needs the columns {sorted(need)}, got {reader.fieldnames}")
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    known = tuple(state_names) if state_names is not None else None
    trajs: list[str] = []
    states: list[str] = list(known) if known is not None else []
    times: set[float] = set()
    parsed = []
    for i, r in enumerate(rows, start=2):
        try:
            t, v = float(r["time"]), float(r["value"]) if r["value"] != "" else float("nan")
        except ValueError:
            raise ValueError(f"{path}, line {i}: time and value must be numbers, got {r['time']!r}, {r['value']!r}") from None
        tr, st = r["trajectory"], r["state"]
        if tr not in trajs:
            trajs.append(tr)
        if st not in states:
            if known is not None and st.isdigit() and int(st) < len(known):
                st = known[int(st)]
            elif known is not None:
                raise ValueError(f"{path}, line {i}: unknown state {st!r}; expected one of {list(known)}")
            else:
                states.append(st)
        times.add(t)
        parsed.append((tr, t, st, v))
    tlist = sorted(times)
    values = np.full((len(trajs), len(tlist), len(states)), np.nan)
    ti = {t: k for k, t in enumerate(tlist)}
    ji = {tr: k for k, tr in enumerate(trajs)}
    si = {s: k for k, s in enumerate(states)}
    for tr, t, st, v in parsed:
        values[ji[tr], ti[t], si[st]] = v
    return LongTable(values, np.asarray(tlist), tuple(states), tuple(trajs))


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
