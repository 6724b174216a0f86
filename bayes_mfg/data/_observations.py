"""The :class:`Observations` container (a JAX pytree) and :func:`time_indices`."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any, Sequence

import jax
import numpy as np

from bayes_mfg.data._csv import read_long_csv, write_long_csv

__all__ = ["KINDS", "SIMPLEX_ATOL", "Observations", "interpolate_in_time", "time_indices"]

KINDS = ("fractions", "counts", "values")

#: Tolerance on "fractions sum to 1" for fully observed rows (and <= 1 for partial rows).
SIMPLEX_ATOL = 1e-6


@dataclass(frozen=True, eq=False)
class Observations:
    """Observed population trajectories.

    Build with :meth:`from_arrays` (validates, turns NaN into masked entries) or read a
    long-format CSV with :meth:`from_csv`; :meth:`to_csv` writes one.

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
            ``"fractions"`` (shares; fully observed rows must sum to 1 within 1e-6,
            partially observed rows to at most 1), ``"counts"`` (non-negative integers) or
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
            row_sum = vals.sum(-1)
            full = observed.all(-1)
            if np.any(vals > 1 + SIMPLEX_ATOL):
                raise ValueError("values are fractions but an entry exceeds 1 (use kind='counts' for counts)")
            bad_full = full & (np.abs(row_sum - 1.0) > SIMPLEX_ATOL)
            if bad_full.any():
                j, n = np.argwhere(bad_full)[0]
                raise ValueError(
                    f"values: fully observed fractions must sum to 1 (within {SIMPLEX_ATOL}); "
                    f"trajectory {j}, time index {n} sums to {row_sum[j, n]:.9g}"
                )
            if np.any(row_sum > 1 + SIMPLEX_ATOL):
                raise ValueError("values: partially observed fractions sum to more than 1")
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
                 kind: str = "fractions") -> Observations:
        """Read long-format data (columns ``trajectory,time,state,value``, any order, more allowed).

        Trajectories and states are labels, kept in order of first appearance; with
        ``state_names`` the states are matched to those names (also by integer index, so
        ``0`` means ``state_names[0]``) and their order is that of ``state_names``. Times must
        be numbers. A (trajectory, time, state) without a row, or with an empty value, is
        masked (missing).

        The reader is strict and names the file, line and column of what it refuses: a
        missing or repeated column, ``;``- or tab-separated files, rows with more or fewer
        fields than the header (e.g. an unquoted decimal comma), non-numeric or non-finite
        times, non-numeric values, negative values (except ``kind="values"``), the same
        (trajectory, time, state) twice. A ``.gz`` file is read through gzip and a UTF-8
        byte-order mark is removed.

        Raises
        ------
        ValueError
            For what the reader refuses (above), no data rows, an unknown state (with
            ``state_names``), or data :meth:`from_arrays` rejects.
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
        """
        table = read_long_csv(path, state_names, allow_negative=kind == "values")
        return cls.from_arrays(table.values, table.times, kind=kind, state_names=table.state_names,
                               trajectory_names=table.trajectory_names)

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
