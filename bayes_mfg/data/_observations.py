"""The :class:`Observations` container (a JAX pytree) and :func:`time_indices`."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any, Sequence

import jax
import numpy as np

from bayes_mfg.data._csv import LongTable, read_dataframe, read_long_csv, write_long_csv

__all__ = ["KINDS", "SIMPLEX_ATOL", "ZERO_REPLACEMENT", "Observations", "interpolate_in_time", "time_indices"]

KINDS = ("fractions", "counts", "values")

#: Tolerance on "fractions sum to 1" for fully observed rows (and <= 1 for partial rows).
SIMPLEX_ATOL = 1e-6

#: A share printed as zero is replaced by this fraction of its detection limit (half a unit
#: in the row's last printed digit): the multiplicative replacement of rounded zeros in
#: compositional data (Martin-Fernandez, Barcelo-Vidal & Pawlowsky-Glahn 2003, who found
#: 65% of the detection limit to distort the covariance structure least).
ZERO_REPLACEMENT = 0.65


@dataclass(frozen=True, eq=False)
class Observations:
    """Observed population trajectories.

    Build with :meth:`from_arrays` (validates, turns NaN into masked entries), read a long
    or wide table with :meth:`from_csv` or :meth:`from_dataframe`; :meth:`to_csv` writes one.

    Attributes
    ----------
    values
        ``(n_trajectories, n_times, n_states)`` float array: population shares
        (``kind="fractions"``), counts (``kind="counts"``) or real numbers
        (``kind="values"``); 0 where not observed. The columns are the game's states, or
        the outputs of a readout (:mod:`bayes_mfg.observe.readouts`: linear functionals,
        histogram bins, flows) when the model has one.
    times
        ``(n_times,)`` strictly increasing observation times (>= 0).
    mask
        ``(n_trajectories, n_times, n_states)`` bool: True where the entry was observed.
    kind
        ``"fractions"``, ``"counts"`` or ``"values"``.
    mu0
        ``(n_trajectories, n_states)`` initial distributions, or ``None`` (latent).
    state_names, trajectory_names
        Labels used as coordinates in ArviZ output.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> values = np.array([[0.5, 0.5], [0.6, np.nan]])  # NaN: not observed
    >>> data = bm.Observations.from_arrays(values, times=[0.0, 1.0])
    >>> data.values.shape, data.mask[0, 1].tolist()
    ((1, 2, 2), [True, False])
    """

    values: np.ndarray
    times: np.ndarray
    mask: np.ndarray
    kind: str
    mu0: np.ndarray | None
    state_names: tuple[str, ...]
    trajectory_names: tuple[str, ...]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        values: Any,
        times: Any,
        *,
        mask: Any = None,
        kind: str = "fractions",
        mu0: Any = None,
        state_names: Sequence[str] | None = None,
        trajectory_names: Sequence[str] | None = None,
        n_states: int | None = None,
        sum_tolerance: Any = SIMPLEX_ATOL,
    ) -> "Observations":
        """Validate and build an :class:`Observations`.

        Parameters
        ----------
        values
            ``(n_trajectories, n_times, n_states)`` (or ``(n_times, n_states)`` for one
            trajectory). NaN entries count as missing.
        times
            ``(n_times,)`` strictly increasing, finite, >= 0.
        mask
            Optional bool array of the shape of ``values``; True = observed. Combined with
            the NaN pattern of ``values``.
        kind
            ``"fractions"`` (shares; fully observed rows must sum to 1 within
            ``sum_tolerance`` and are renormalised, partially observed rows to at most
            ``1 + sum_tolerance``), ``"counts"`` (non-negative integers) or
            ``"values"`` (any finite real numbers: observables such as a mean position,
            modelled by :class:`~bayes_mfg.observe.Normal` through a readout).
        mu0
            Optional ``(n_trajectories, n_states)`` initial distributions (each on the
            simplex); ``None`` leaves them latent.
        state_names, trajectory_names
            Optional labels (default ``s0..``, ``0..``).
        n_states
            Number of states of the game, the length of each ``mu0`` row; default: the
            number of columns of ``values``. Needed only when the columns are a readout's
            outputs (functionals, bins, flows) rather than the states.
        sum_tolerance
            How far a fully observed row of fractions may sum from 1: a float >= 0 or an
            array broadcastable to ``(n_trajectories, n_times)`` (default
            :data:`SIMPLEX_ATOL`, 1e-6, for arrays computed in code; :meth:`from_csv` uses
            the rounding of the printed digits).

        Raises
        ------
        ValueError, TypeError
            Naming the argument and what was expected.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        try:
            vals = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"values must be a numeric array, got {type(values).__name__}") from None
        if vals.ndim == 2:
            vals = vals[None]
        if vals.ndim != 3:
            raise ValueError(
                f"values must have shape (n_trajectories, n_times, n_states) or (n_times, n_states), got {np.shape(values)}"
            )
        n_traj, n_times, d = vals.shape
        min_d = 2 if kind == "fractions" else 1
        if n_traj < 1 or n_times < 1 or d < min_d:
            raise ValueError(f"values needs >= 1 trajectory, >= 1 time and >= {min_d} "
                             f"{'states' if min_d == 2 else 'column'}, got shape {vals.shape}")

        if times is None or isinstance(times, (str, bytes)):
            raise TypeError(f"times must be a sequence of {n_times} numbers, got {type(times).__name__} {times!r:.40}")
        try:
            t = np.array(times, dtype=np.float64).reshape(-1) if np.ndim(times) <= 1 else None
        except (TypeError, ValueError):
            raise TypeError(f"times must be numbers, got {list(np.ravel(np.asarray(times, dtype=object)))[:5]!r:.80}"
                            ) from None
        if t is None or t.shape != (n_times,):
            raise ValueError(f"times must have shape ({n_times},) (one per observation time), got {np.shape(times)}")
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ValueError("times must be finite and >= 0")
        if n_times > 1 and not np.all(np.diff(t) > 0):
            raise ValueError("times must be strictly increasing")

        observed = ~np.isnan(vals)
        if mask is not None:
            m = np.asarray(mask)
            if m.ndim == 2 and vals.shape[0] == 1:
                m = m[None]
            if m.shape != vals.shape:
                raise ValueError(f"mask must have the shape of values {vals.shape}, got {np.shape(mask)}")
            if m.dtype != bool:
                raise TypeError(f"mask must be a bool array, got dtype {m.dtype}")
            observed = observed & m
        if not observed.any():
            raise ValueError("values has no observed entry (everything is NaN or masked)")
        obs_vals = vals[observed]
        if not np.all(np.isfinite(obs_vals)):
            raise ValueError("values contains inf at an observed entry")
        if kind != "values" and np.any(obs_vals < 0):
            raise ValueError(f"values must be non-negative, min observed entry is {obs_vals.min():.6g}")
        vals = np.where(observed, vals, 0.0)
        if kind == "fractions":
            try:
                tol = np.broadcast_to(np.asarray(sum_tolerance, dtype=np.float64), (n_traj, n_times))
            except (TypeError, ValueError):
                raise ValueError(f"sum_tolerance must be a float >= 0 or an array broadcastable to ({n_traj}, {n_times}), "
                                 f"got {sum_tolerance!r:.60}") from None
            if not np.all(np.isfinite(tol)) or np.any(tol < 0):
                raise ValueError("sum_tolerance must be finite and >= 0")
            row_sum = vals.sum(-1)
            full = observed.all(-1)
            if np.any(vals > 1 + tol[..., None]):
                raise ValueError("values are fractions but an entry exceeds 1 (use kind='counts' for counts)")
            bad_full = full & (np.abs(row_sum - 1.0) > tol)
            if bad_full.any():
                j, n = np.argwhere(bad_full)[0]
                raise ValueError(
                    f"values: fully observed fractions must sum to 1 (within {tol[j, n]:.3g}); "
                    f"trajectory {j}, time index {n} sums to {row_sum[j, n]:.9g}"
                )
            if np.any(row_sum > 1 + tol):
                raise ValueError("values: partially observed fractions sum to more than 1")
            off = full & (np.abs(row_sum - 1.0) > 1e-12)  # rounded rows; exact arrays are kept as given
            vals = np.where(off[..., None], vals / np.where(off, row_sum, 1.0)[..., None], vals)
        elif kind == "counts":
            if np.any(np.abs(obs_vals - np.round(obs_vals)) > 1e-9):
                raise ValueError("values are counts but contain non-integer entries")

        if n_states is not None and (isinstance(n_states, bool) or not isinstance(n_states, (int, np.integer))
                                     or n_states < 2):
            raise ValueError(f"n_states must be an int >= 2 (the game's number of states), got {n_states!r}")
        m0 = None
        if mu0 is not None:
            m0 = np.array(mu0, dtype=np.float64)
            if m0.ndim == 1 and n_traj == 1:
                m0 = m0[None]
            d0 = d if n_states is None else int(n_states)
            if m0.shape != (n_traj, d0):
                hint = ("" if n_states is not None or m0.ndim != 2 or m0.shape[0] != n_traj else
                        f"; if the {d} columns are a readout's outputs, pass n_states={m0.shape[1]} (the game's states)")
                raise ValueError(f"mu0 must have shape ({n_traj}, {d0}) (one distribution per trajectory), "
                                 f"got {np.shape(mu0)}{hint}")
            if not np.all(np.isfinite(m0)) or np.any(m0 < 0):
                raise ValueError("mu0 must be finite and non-negative")
            if np.any(np.abs(m0.sum(-1) - 1.0) > 1e-8):
                raise ValueError(f"mu0 rows must sum to 1 (probability vectors), got sums {m0.sum(-1)}")

        s_names = tuple(str(s) for s in state_names) if state_names is not None else tuple(f"s{x}" for x in range(d))
        if len(s_names) != d or len(set(s_names)) != d:
            raise ValueError(f"state_names must be {d} distinct labels, got {state_names!r}")
        t_names = tuple(str(s) for s in trajectory_names) if trajectory_names is not None else tuple(str(j) for j in range(n_traj))
        if len(t_names) != n_traj or len(set(t_names)) != n_traj:
            raise ValueError(f"trajectory_names must be {n_traj} distinct labels, got {trajectory_names!r}")
        for arr in (vals, t, observed) + ((m0,) if m0 is not None else ()):
            arr.setflags(write=False)
        return cls(vals, t, observed, kind, m0, s_names, t_names)

    @classmethod
    def from_csv(cls, path: str | pathlib.Path, state_names: Sequence[str] | None = None, *,
                 kind: str = "fractions", mu0: Any = None, zeros: str = "replace") -> Observations:
        """Read a table of observations from a CSV file, long or wide.

        **Long** layout: columns ``trajectory,time,state,value`` (any order, more allowed),
        one row per entry. **Wide** layout: columns ``trajectory,time`` and one column per
        state (and no ``state`` or ``value`` column), one row per trajectory and time.
        Trajectories and states are labels, kept in order of first appearance; with
        ``state_names`` the states are matched to those names (also by integer index, so
        ``0`` means ``state_names[0]``) and their order is that of ``state_names``. Times
        must be numbers. An entry without a row (or cell), or with an empty value, is masked
        (missing). The separator is ``,``, ``;`` or a tab (read off the header); with ``;``
        or a tab a decimal comma (``0,5``) is a decimal point. A ``.gz`` file is read through
        gzip and a UTF-8 byte-order mark (Excel) is removed.

        **Rounding.** Spreadsheets round: three shares printed with two decimals can sum to
        0.99 or 1.01. Each fully observed row of fractions may differ from 1 by the sum of
        its entries' resolutions (half a unit in the last printed digit: ``0.98`` ->
        0.005) plus :data:`SIMPLEX_ATOL`, and is renormalised. A share printed as zero
        (``0.000``) is below its detection limit, half a unit in the row's finest printed
        digit; with ``zeros="replace"`` (default) it becomes :data:`ZERO_REPLACEMENT` times
        that limit before the row is renormalised (the multiplicative replacement of
        compositional data analysis), because a Dirichlet or logistic-normal likelihood
        puts an exact zero at an infinitely unlikely place (measured on three rounded SIR
        towns: with raw zeros the fitted concentration was 62 for a truth of 400, with
        replacement 400). ``zeros="keep"`` keeps exact zeros.

        Parameters
        ----------
        path
            The file (``.csv`` or ``.csv.gz``).
        state_names
            Optional state labels (their order is the states' order).
        kind
            ``"fractions"``, ``"counts"`` or ``"values"`` (:meth:`from_arrays`).
        mu0
            ``None`` (default: the initial distributions are unknown; a model infers them,
            starting at the observed first rows and using them as data), ``"first"`` (the
            rows at the first time are the initial distributions, known exactly: they set
            ``mu0``, renormalised, and are masked, since a model conditions on them rather
            than observing them) or an ``(n_trajectories, n_states)`` array.
        zeros
            ``"replace"`` or ``"keep"`` (fractions only; see above).

        Raises
        ------
        ValueError
            Naming the file, line and column: a missing or repeated column, rows with more
            or fewer fields than the header (e.g. an unquoted decimal comma in a
            comma-separated file), non-numeric or non-finite times, non-numeric values,
            negative values (except ``kind="values"``), the same entry twice, an unknown
            state (with ``state_names``), no data rows, ``mu0="first"`` with a first row
            not fully observed, or data :meth:`from_arrays` rejects.
        FileNotFoundError
            If ``path`` does not exist.

        Examples
        --------
        >>> import bayes_mfg as bm, numpy as np, tempfile, pathlib
        >>> data = bm.Observations.from_arrays(np.array([[0.5, 0.5], [0.6, np.nan]]), times=[0.0, 1.0])
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
        >>> data.to_csv(path)
        >>> print(path.read_text().strip())
        trajectory,time,state,value
        0,0.0,s0,0.5
        0,0.0,s1,0.5
        0,1.0,s0,0.6
        >>> back = bm.Observations.from_csv(path)
        >>> back.mask[0, 1].tolist(), back.state_names
        ([True, False], ('s0', 's1'))

        A wide, ``;``-separated spreadsheet export with decimal commas, rounded to two
        decimals (the first row sums to 0.99; its zero becomes 0.65 x 0.005), its first day taken as ``mu0``:

        >>> _ = path.write_text("trajectory;time;S;I;R\\nA;0;0,98;0,01;0,00\\nA;1;0,97;0,02;0,01\\n")
        >>> town = bm.Observations.from_csv(path, mu0="first")
        >>> town.state_names, town.mu0.round(4).tolist(), town.mask[0, 0].tolist()
        (('S', 'I', 'R'), [[0.9867, 0.0101, 0.0033]], [False, False, False])
        """
        table = read_long_csv(path, state_names, allow_negative=kind == "values")
        return cls._from_table(table, kind, mu0, zeros)

    @classmethod
    def from_dataframe(cls, frame: Any, state_names: Sequence[str] | None = None, *,
                       kind: str = "fractions", mu0: Any = None, zeros: str = "replace") -> Observations:
        """Read observations from a pandas DataFrame in the long or the wide layout.

        The same rules as :meth:`from_csv` (columns, labels, missing entries, rounding,
        zeros, ``mu0``); a number's resolution is that of its shortest round-trip text
        (``0.98`` -> 0.005), and errors name the DataFrame's row label.

        Examples
        --------
        >>> import bayes_mfg as bm, pandas as pd
        >>> frame = pd.DataFrame({"trajectory": ["A", "A"], "time": [0.0, 1.0],
        ...                       "S": [0.98, 0.97], "I": [0.02, 0.02], "R": [0.0, 0.01]})
        >>> data = bm.Observations.from_dataframe(frame)
        >>> data.values.shape, data.state_names
        ((1, 2, 3), ('S', 'I', 'R'))
        """
        table = read_dataframe(frame, state_names, allow_negative=kind == "values")
        return cls._from_table(table, kind, mu0, zeros)

    @classmethod
    def _from_table(cls, table: LongTable, kind: str, mu0: Any, zeros: str) -> Observations:
        if zeros not in ("replace", "keep"):
            raise ValueError(f"zeros must be 'replace' or 'keep', got {zeros!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        values, tol = np.array(table.values), SIMPLEX_ATOL
        observed = ~np.isnan(values)
        if kind == "fractions":
            res = np.where(observed, table.resolution, np.nan)
            if zeros == "replace":
                positive = np.where(res > 0, res, np.inf)
                limit = np.min(positive, axis=-1, keepdims=True)  # the row's finest printed digit
                replace = observed & (values == 0) & np.isfinite(limit)
                values = np.where(replace, ZERO_REPLACEMENT * limit, values)
                res = np.where(replace, np.maximum(res, limit), res)
            tol = np.nansum(res, axis=-1) + SIMPLEX_ATOL
            total = np.nansum(values, axis=-1)
            full = observed.all(-1)
            bad = (full & (np.abs(total - 1.0) > tol)) | (~full & (total > 1.0 + tol))
            if bad.any():
                j, n = np.argwhere(bad)[0]
                what = "must sum to 1" if full[j, n] else "may sum to at most 1 (a partial row)"
                raise ValueError(f"{table.source}, trajectory {table.trajectory_names[j]!r}, time {table.times[n]:g}: "
                                 f"fractions {what} within {tol[j, n]:.3g} (the rounding of their printed digits), "
                                 f"but the row sums to {total[j, n]:.9g}; for counts use kind='counts'")
        mask = None
        if isinstance(mu0, str):
            if mu0 != "first":
                raise ValueError(f"mu0 must be None, 'first' or an (n_trajectories, n_states) array, got {mu0!r}")
            if kind != "fractions":
                raise ValueError(f"mu0='first' needs kind='fractions' (shares of the states), got kind={kind!r}")
            first = values[:, 0]
            missing = np.isnan(first).any(-1)
            if missing.any():
                names = [table.trajectory_names[j] for j in np.flatnonzero(missing)]
                raise ValueError(f"mu0='first': the first time ({table.times[0]:g}) is not fully observed for "
                                 f"trajectory(ies) {names[:5]}; give mu0 explicitly or leave it latent (mu0=None)")
            total = first.sum(-1, keepdims=True)
            bad = np.abs(total[:, 0] - 1.0) > np.asarray(tol)[:, 0]
            if bad.any():
                raise ValueError(f"mu0='first': the first row of trajectory {table.trajectory_names[int(np.argmax(bad))]!r} "
                                 f"sums to {float(total[int(np.argmax(bad)), 0]):.6g}, not 1 within its rounding")
            mu0 = first / total
            mask = observed.copy()
            mask[:, 0] = False
            if not mask.any():
                raise ValueError("mu0='first': the data have one time only, so nothing is left to observe")
        return cls.from_arrays(values, table.times, mask=mask, kind=kind, mu0=mu0, state_names=table.state_names,
                               trajectory_names=table.trajectory_names, sum_tolerance=tol)

    def to_csv(self, path: str | pathlib.Path) -> None:
        """Write the observed entries in the long CSV format read by :meth:`from_csv` (exact floats).

        ``mu0`` is not written (CSV data carry no initial distribution).
        """
        write_long_csv(path, self.values, self.mask, self.times, self.state_names, self.trajectory_names)

    # ------------------------------------------------------------------ views
    @property
    def n_trajectories(self) -> int:
        return self.values.shape[0]

    @property
    def n_times(self) -> int:
        return self.values.shape[1]

    @property
    def n_states(self) -> int:
        return self.values.shape[2]

    def shares(self) -> np.ndarray:
        """Observed shares renormalised over the observed states of each row (NaN where a
        row has no observed state). For counts: counts / their row total.

        Raises
        ------
        ValueError
            For ``kind="values"`` (real-valued observables are no shares).
        """
        if self.kind == "values":
            raise ValueError("data of kind 'values' (real-valued observables) have no shares")
        total = np.where(self.mask, self.values, 0.0).sum(-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(self.mask, self.values / total, np.nan)
        return out

    def subset(self, trajectories: Any) -> "Observations":
        """The trajectories selected by an index array / slice (e.g. a train/test split).

        Raises
        ------
        TypeError
            For indices that are not ints, a bool mask or a slice.
        ValueError
            For an index outside ``-n_trajectories .. n_trajectories - 1``, a mask of another
            length, or a selection of no trajectory.
        """
        n = self.n_trajectories
        if not isinstance(trajectories, slice):
            sel = np.asarray(trajectories)
            if sel.dtype == bool:
                if sel.shape != (n,):
                    raise ValueError(f"subset: a bool mask must have shape ({n},) (one entry per trajectory), "
                                     f"got {sel.shape}")
            elif sel.dtype.kind not in "iu" or sel.ndim > 1:
                raise TypeError(f"subset: trajectories must be int indices, a bool mask or a slice, got "
                                f"{type(trajectories).__name__} {trajectories!r:.60}")
            elif sel.size and (sel.min() < -n or sel.max() >= n):
                raise ValueError(f"subset: trajectory index out of range: {sel[(sel < -n) | (sel >= n)][:5].tolist()} "
                                 f"(the data have {n} trajectories: 0..{n - 1})")
        idx = np.atleast_1d(np.arange(n)[trajectories])
        if idx.size == 0:
            raise ValueError(f"subset: {trajectories!r} selects no trajectory")
        return Observations.from_arrays(
            np.where(self.mask[idx], self.values[idx], np.nan),
            self.times,
            kind=self.kind,
            mu0=None if self.mu0 is None else self.mu0[idx],
            n_states=None if self.mu0 is None else self.mu0.shape[1],
            state_names=self.state_names,
            trajectory_names=[self.trajectory_names[i] for i in idx],
        )

    def __repr__(self) -> str:
        frac = self.mask.mean()
        return (
            f"Observations({self.kind}: {self.n_trajectories} trajectories x {self.n_times} times x "
            f"{self.n_states} states, {100 * frac:.1f}% observed, mu0 {'given' if self.mu0 is not None else 'latent'})"
        )


def _flatten_observations(obs: Observations):
    return (obs.values, obs.mask, obs.mu0), (tuple(float(t) for t in obs.times), obs.kind, obs.state_names, obs.trajectory_names)


def _unflatten_observations(aux, children) -> Observations:
    times, kind, state_names, trajectory_names = aux
    values, mask, mu0 = children
    out = object.__new__(Observations)
    for name, value in zip(
        ("values", "times", "mask", "kind", "mu0", "state_names", "trajectory_names"),
        (values, np.asarray(times, dtype=np.float64), mask, kind, mu0, state_names, trajectory_names),
    ):
        object.__setattr__(out, name, value)
    return out


# A JAX pytree: values, mask and mu0 are leaves (so a model can be jitted/vmapped over data
# sets of one shape, e.g. simulation-based calibration), times/kind/labels are static.
jax.tree_util.register_pytree_node(Observations, _flatten_observations, _unflatten_observations)


def time_indices(times: np.ndarray, grid: np.ndarray, *, atol: float = 1e-9) -> np.ndarray:
    """Indices of ``times`` on the game's time ``grid``; ValueError if a time is off the grid."""
    grid = np.asarray(grid, dtype=np.float64)
    idx = np.searchsorted(grid, times - atol)
    idx = np.clip(idx, 0, len(grid) - 1)
    off = np.abs(grid[idx] - times) > atol * max(1.0, float(np.max(np.abs(grid))))
    if off.any():
        bad = np.asarray(times)[off][:3]
        raise ValueError(
            f"data.times must lie on the game's time grid t_n = n * {grid[1] - grid[0]:.6g} (n = 0..{len(grid) - 1}); "
            f"off-grid times: {bad.tolist()}"
        )
    return idx


def interpolate_in_time(values: Any, old_grid: Any, new_grid: Any, axis: int) -> np.ndarray:
    """``values`` given on ``old_grid`` along ``axis``, linearly interpolated onto ``new_grid``
    (a refinement of the time grid: every old point keeps its value)."""
    a = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
    old, new = np.asarray(old_grid, dtype=np.float64), np.asarray(new_grid, dtype=np.float64)
    if a.shape[0] != old.shape[0]:
        raise ValueError(f"values have {a.shape[0]} time points along axis {axis} but the grid has {old.shape[0]}")
    flat = a.reshape(a.shape[0], -1)
    out = np.stack([np.interp(new, old, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return np.moveaxis(out.reshape((new.shape[0], *a.shape[1:])), 0, axis)
