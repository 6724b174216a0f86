"""Readouts: what the data observe of the equilibrium flow ``mu``.

By default a data column is a state: row ``t`` of the data is noise around ``mu_t`` (the
shares of every state). A *readout* ``R`` maps the equilibrium flow on the game's time grid,
``mu`` of shape ``(..., N, d)``, to the quantities the data observe at the observation times,
``(..., n_obs, k)``; the observation model then adds the noise around ``R(mu)``:

* :class:`Linear`: ``k`` linear functionals ``<w_j, mu_t> = sum_x w_j(x) mu_t(x)`` (the
  attendance of a bar, the share within 1 km of a venue, a mean position);
* :class:`CoarseGrain`: the shares of ``k`` bins of states (a histogram: bin counts of
  agent samples are ``Multinomial(n, R(mu)_t)``, a likelihood that does not depend on
  which agent is which);
* :class:`Increments`: the change of linear functionals over each observation interval,
  ``<w_j, mu_{t_k}> - <w_j, mu_{t_{k-1}}>`` with ``t_{-1} = 0`` (flows: new arrivals, new
  infections when the susceptibles only decrease);
* :class:`Hazard`: the probability that an agent still outside an absorbing set at
  ``t_{k-1}`` enters it by ``t_k`` (arrivals of a finite group observed as counts per
  interval: ``Binomial(at-risk count, hazard)`` factorises their multinomial exactly, see
  :class:`~bayes_mfg.observe.Arrivals`);
* :class:`Transitions`: the mass moving along given jumps ``x -> y`` over each interval,
  from the equilibrium's rates (incidence: new infections per day), exact for the scheme.

The first three are linear in ``mu``, so the implicit gradient of the equilibrium carries through
them unchanged. Every readout says what its outputs are (:attr:`Readout.output_kind`): rows on
the simplex (``"shares"``), entries in [0, 1] (``"probabilities"``), entries >= 0
(``"nonnegative"``) or any real number (``"real"``). An observation model states what it
needs (``ObservationModel.needs``) and a model pairing them is checked when it is built.

Examples
--------
The share of a 5-cell grid's right half and a histogram of 2 bins:

>>> import bayes_mfg as bm, numpy as np
>>> mu = np.array([[0.2, 0.2, 0.2, 0.2, 0.2], [0.0, 0.1, 0.2, 0.3, 0.4]])  # (N = 2, d = 5)
>>> right = bm.observe.Linear([[0, 0, 0, 1, 1]], names=("right",))
>>> print(np.asarray(right(mu, np.array([0, 1]))).ravel())
[0.4 0.7]
>>> bins = bm.observe.CoarseGrain([0, 0, 1, 1, 1])
>>> bins(mu, np.array([1])).round(3).tolist(), bins.output_kind
([[0.1, 0.9]], 'shares')
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg.engine.flows import transition_flows

__all__ = ["VALUE_KINDS", "CoarseGrain", "Hazard", "Increments", "Linear", "Readout", "Transitions", "accepts",
           "at_risk"]

Array = jax.Array

#: What a readout's outputs are, from the narrowest to the widest; ``"hazards"`` (the
#: entry probabilities of :class:`Hazard`, conditional on being still outside) are
#: probabilities, but only a model of entry counts (:class:`~bayes_mfg.observe.Arrivals`)
#: may read probabilities as hazards.
VALUE_KINDS = ("shares", "hazards", "probabilities", "nonnegative", "real")


def accepts(needs: str, values: str) -> bool:
    """Whether a model needing ``needs`` accepts outputs of kind ``values``: a narrower kind is
    fine, except that ``"hazards"`` are needed by name (shares or plain probabilities are
    not hazards, and hazards are not shares).

    Examples
    --------
    >>> from bayes_mfg.observe.readouts import accepts
    >>> accepts("probabilities", "hazards"), accepts("hazards", "probabilities"), accepts("hazards", "shares")
    (True, False, False)
    """
    for kind in (needs, values):
        if kind not in VALUE_KINDS:
            raise ValueError(f"unknown kind of values {kind!r}: expected one of {VALUE_KINDS}")
    if needs == "hazards" or needs == "shares":
        return values == needs
    return VALUE_KINDS.index(values) <= VALUE_KINDS.index(needs)


def _names(names: Sequence[str] | None, k: int, prefix: str) -> tuple[str, ...]:
    if names is None:
        return tuple(f"{prefix}{j}" for j in range(k))
    if isinstance(names, str) or not all(isinstance(s, str) for s in names):
        raise TypeError(f"names must be a sequence of str (one label per output), got {names!r}")
    out = tuple(names)
    if len(out) != k or len(set(out)) != k:
        raise ValueError(f"names must be {k} distinct labels (one per output), got {names!r}")
    return out


def _weights(weights: Any, where: str) -> np.ndarray:
    try:
        w = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a numeric array of shape (k, d), got {type(weights).__name__}") from None
    if w.ndim == 1:
        w = w[None]
    if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
        raise ValueError(f"{where} must have shape (k, d) (k functionals of d states), got {np.shape(weights)}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{where} must be finite")
    w.setflags(write=False)
    return w


def _kind_of(w: np.ndarray) -> str:
    """Kind of the values ``mu @ w.T`` for ``mu`` on the simplex (each is a mixture of the row's entries)."""
    if np.all((w >= 0) & (w <= 1)):
        return "probabilities"
    return "nonnegative" if np.all(w >= 0) else "real"


class Readout(abc.ABC):
    """Base class of the readouts (see the module docstring).

    A readout is called as ``readout(mu, idx)`` with ``mu`` the flow on the game's grid
    ``(..., N, d)`` and ``idx`` the ``(n_obs,)`` grid indices of the observation times; it
    returns ``(..., n_obs, k)``. Subclasses set :attr:`n_states`, :attr:`names` and
    :attr:`output_kind` and implement :meth:`__call__`.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> r = bm.observe.Linear([[1.0, 0.0, 0.0]])
    >>> r.n_states, r.n_outputs, r.names, r.output_kind
    (3, 1, ('f0',), 'probabilities')
    """

    #: Dimension name of the outputs in ArviZ output (the data's columns).
    dim: ClassVar[str] = "observable"

    @property
    @abc.abstractmethod
    def n_states(self) -> int:
        """Number of states ``d`` of the game it reads."""

    @property
    @abc.abstractmethod
    def names(self) -> tuple[str, ...]:
        """Labels of the ``k`` outputs (the data's column names by default)."""

    @property
    @abc.abstractmethod
    def output_kind(self) -> str:
        """What the outputs are: one of :data:`VALUE_KINDS`."""

    @property
    def n_outputs(self) -> int:
        return len(self.names)

    @abc.abstractmethod
    def __call__(self, mu: Any, idx: Any) -> Array:
        """``(..., n_obs, k)``: the outputs at the observation times ``idx`` of the flow ``mu``."""

    def check_times(self, idx: np.ndarray) -> None:
        """Refuse observation times the readout cannot use (ValueError); default: any."""
        return None

    def check_game(self, n_states: int) -> None:
        if n_states != self.n_states:
            raise ValueError(f"readout reads {self.n_states} states but the game has {n_states}")

    #: Whether the readout reads the solved equilibrium (its rates or policy), not only ``mu``:
    #: then :meth:`from_equilibrium` gives what :meth:`__call__` reads in place of ``mu``.
    reads_equilibrium: ClassVar[bool] = False

    def bind(self, game: Any) -> None:
        """Refuse a game the readout cannot read (ValueError), before any solve; default:
        :meth:`check_game` on its number of states."""
        self.check_game(game.n_states)

    def from_equilibrium(self, game: Any, eq: Any, params: Any) -> Array:
        """What :meth:`__call__` reads, from one solved equilibrium (readouts with
        :attr:`reads_equilibrium`); default: ``eq.mu``."""
        return eq.mu


class _Weighted(Readout):
    """The readouts defined by a ``(k, d)`` weight matrix and ``k`` labels."""

    weights: np.ndarray
    _labels: tuple[str, ...]

    @property
    def n_states(self) -> int:
        return self.weights.shape[1]

    @property
    def names(self) -> tuple[str, ...]:
        return self._labels

    def __call__(self, mu: Any, idx: Any) -> Array:
        """``mu_{t_k} @ W^T`` at the observation times: the weighted sums."""
        mu = jnp.asarray(mu)
        return jnp.take(mu, jnp.asarray(idx), axis=-2) @ jnp.asarray(self.weights, dtype=mu.dtype).T

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.n_outputs}, d={self.n_states}, names={self.names})"


class _OverIntervals(_Weighted):
    """Readouts of what happens over the observation intervals ``(t_{k-1}, t_k]``, ``t_{-1} = 0``.

    The first interval of a data set starts at ``t = 0`` (the flow's start): data that
    begin later (a forecast window) must carry the flow from ``t = 0``, or their first
    row counts everything since ``t = 0``."""

    def check_times(self, idx: np.ndarray) -> None:
        if len(idx) and int(idx[0]) == 0:
            raise ValueError(f"{type(self).__name__} observes (t_{{k-1}}, t_k] with t_{{-1}} = 0: "
                             "the first observation time must be > 0 (drop the row at t = 0)")

    def _ends(self, mu: Any, idx: Any) -> tuple[Array, Array]:
        """``(<w, mu_{t_k}>, <w, mu_{t_{k-1}}>)`` at the observation times."""
        mu = jnp.asarray(mu)
        idx = jnp.asarray(idx)
        prev = jnp.concatenate([jnp.zeros((1,), dtype=idx.dtype), idx[:-1]])
        w = jnp.asarray(self.weights, dtype=mu.dtype).T
        return jnp.take(mu, idx, axis=-2) @ w, jnp.take(mu, prev, axis=-2) @ w


class Linear(_Weighted):
    """``k`` linear functionals of ``mu_t``: output ``j`` at time ``t`` is ``<w_j, mu_t>``.

    Parameters
    ----------
    weights
        ``(k, d)`` (or ``(d,)`` for one functional) finite weights ``w_j(x)``.
    names
        Labels of the outputs (default ``f0, f1, ...``).

    Notes
    -----
    With ``mu_t`` on the simplex each output is a mixture of its weights, so it lies in
    ``[min w_j, max w_j]``: the outputs are ``"probabilities"`` when every weight is in
    [0, 1] (e.g. indicators of regions: Binomial counts apply), ``"nonnegative"`` when
    every weight is >= 0 (Poisson and negative binomial apply) and ``"real"`` otherwise
    (a mean position: Normal noise).

    Examples
    --------
    The mean position on a grid of 4 points of [0, 1]:

    >>> import bayes_mfg as bm, numpy as np
    >>> mean = bm.observe.Linear(np.linspace(0, 1, 4), names=("mean",))
    >>> float(mean(np.array([[0.25, 0.25, 0.25, 0.25]]), np.array([0]))[0, 0])
    0.5
    """

    def __init__(self, weights: Any, names: Sequence[str] | None = None) -> None:
        w = _weights(weights, "weights")
        self.weights = w
        self._labels = _names(names, w.shape[0], "f")

    @property
    def output_kind(self) -> str:
        return _kind_of(self.weights)


class CoarseGrain(_Weighted):
    """The shares of ``k`` bins of states: output ``b`` at time ``t`` is ``sum_x A[b, x] mu_t(x)``.

    Parameters
    ----------
    bins
        Either ``(d,)`` integers: the bin ``0..k-1`` of every state (every bin must hold a
        state), or a ``(k, d)`` matrix ``A >= 0`` whose columns sum to 1 (state ``x`` is
        split over the bins, e.g. a fine grid cell straddling two histogram bins).
    names
        Labels of the bins (default ``b0, b1, ...``).

    Notes
    -----
    The outputs are on the simplex, so every share model applies (Dirichlet, Multinomial,
    LogisticNormal): a histogram of ``n`` agents sampled at time ``t`` is
    ``Multinomial(n, A mu_t)``, whatever the agents' order.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> halves = bm.observe.CoarseGrain([0, 0, 1, 1], names=("left", "right"))
    >>> halves.matrix.tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    """

    def __init__(self, bins: Any, names: Sequence[str] | None = None) -> None:
        arr = np.asarray(bins)
        if arr.ndim == 1:
            if not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"bins must be (d,) integers (the bin of every state) or a (k, d) matrix, "
                                f"got a 1-D array of dtype {arr.dtype}")
            if arr.size < 1 or arr.min() < 0:
                raise ValueError("bins: every state needs a bin in 0..k-1 (non-negative integers)")
            k = int(arr.max()) + 1
            empty = sorted(set(range(k)) - set(arr.tolist()))
            if empty:
                raise ValueError(f"bins: bins {empty} hold no state (number the bins 0..k-1 without gaps)")
            a = np.zeros((k, arr.size))
            a[arr, np.arange(arr.size)] = 1.0
        else:
            a = _weights(bins, "bins").copy()
            if np.any(a < 0) or not np.allclose(a.sum(0), 1.0, atol=1e-12, rtol=0):
                raise ValueError("bins as a (k, d) matrix must be >= 0 with columns summing to 1 "
                                 "(every state's mass goes to the bins)")
        if a.shape[0] < 2:
            raise ValueError(f"bins: a histogram needs at least 2 bins, got {a.shape[0]}")
        a.setflags(write=False)
        self.weights = a
        self._labels = _names(names, a.shape[0], "b")

    @property
    def matrix(self) -> np.ndarray:
        """``(k, d)``: the share of each state that goes to each bin."""
        return self.weights

    @property
    def output_kind(self) -> str:
        return "shares"




class Increments(_OverIntervals):
    """Changes of linear functionals over the observation intervals (flows).

    Output ``j`` at the ``k``-th observation time is ``<w_j, mu_{t_k}> - <w_j, mu_{t_{k-1}}>``
    with ``t_{-1} = 0``: the mass that entered the set weighted by ``w_j`` during
    ``(t_{k-1}, t_k]``. The first observation time must then be > 0.

    Parameters
    ----------
    weights
        ``(k, d)`` (or ``(d,)``) finite weights.
    names
        Labels of the outputs (default ``f0, f1, ...``).
    nonnegative
        Declare that the dynamics make every increment >= 0 (arrivals into an absorbing
        state; ``w = -1`` on the susceptibles of an SIR game without waning), so that
        count models apply. Round-off negatives are then clipped at 0 by the count models;
        the declaration is the modeller's, it is not checked.

    Examples
    --------
    Arrivals into the absorbing state 0 between observation times:

    >>> import bayes_mfg as bm, numpy as np
    >>> mu = np.array([[0.0, 1.0], [0.3, 0.7], [0.5, 0.5]])  # N = 3 grid times
    >>> arrivals = bm.observe.Increments([1.0, 0.0], names=("arrived",), nonnegative=True)
    >>> arrivals(mu, np.array([1, 2])).round(3).tolist()
    [[0.3], [0.2]]
    """

    def __init__(self, weights: Any, names: Sequence[str] | None = None, *, nonnegative: bool = False) -> None:
        if not isinstance(nonnegative, bool):
            raise TypeError(f"nonnegative must be a bool, got {type(nonnegative).__name__}")
        w = _weights(weights, "weights")
        self.weights = w
        self._labels = _names(names, w.shape[0], "f")
        self.nonnegative = nonnegative

    @property
    def output_kind(self) -> str:
        return "nonnegative" if self.nonnegative else "real"

    def __call__(self, mu: Any, idx: Any) -> Array:
        now, before = self._ends(mu, idx)
        return now - before


class Hazard(_OverIntervals):
    """The entry hazard of an absorbing set over each observation interval.

    With ``A_t = <w, mu_t>`` the mass in the set (``w`` its indicator; the set absorbing, so
    ``A`` only grows), output ``k`` is

        h_k = (A_{t_k} - A_{t_{k-1}}) / (1 - A_{t_{k-1}}),     t_{-1} = 0,

    the probability that an agent still outside at ``t_{k-1}`` is inside by ``t_k``. For
    ``n`` independent agents outside at ``t = 0`` whose entry times follow the flow, the
    counts ``c_k`` entering in each interval are multinomial with the cell probabilities
    ``(A_{t_0} - A_0, ..., A_{t_K} - A_{t_{K-1}}, 1 - A_{t_K}) / (1 - A_0)``, which
    factorises exactly into ``c_k ~ Binomial(r_k, h_k)`` with ``r_k = n - sum_{l<k} c_l``
    the agents still outside (:func:`at_risk`): :class:`~bayes_mfg.observe.Arrivals` on
    this readout is the exact likelihood of the arrival counts, one factor per
    (trajectory, interval), and a trajectory's sum of factors is its multinomial
    log-likelihood (leave-one-trajectory-out is exact; leaving out one interval is not,
    because the later numbers at risk depend on it). Its outputs are of kind
    ``"hazards"``: probabilities that only an entry-count model reads as such.

    Parameters
    ----------
    indicator
        ``(d,)`` weights in [0, 1] of the set (1 on its states).
    name
        Label of the output (default ``"entered"``).

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> mu = np.array([[0.0, 1.0], [0.5, 0.5], [0.75, 0.25]])
    >>> print(np.asarray(bm.observe.Hazard([1.0, 0.0])(mu, np.array([1, 2]))).ravel())
    [0.5 0.5]
    """

    def __init__(self, indicator: Any, name: str = "entered") -> None:
        w = _weights(indicator, "indicator")
        if w.shape[0] != 1 or np.any((w < 0) | (w > 1)):
            raise ValueError("indicator must be one (d,) vector of weights in [0, 1] (the set's indicator)")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        self.weights = w
        self._labels = (name,)

    @property
    def output_kind(self) -> str:
        return "hazards"

    def __call__(self, mu: Any, idx: Any) -> Array:
        inside, before = self._ends(mu, idx)
        outside = jnp.maximum(1.0 - before, jnp.finfo(inside.dtype).tiny)
        return jnp.clip((inside - before) / outside, 0.0, 1.0)


def _as_pair_groups(pairs: Any) -> tuple[tuple[tuple[int, int], ...], ...]:
    """``pairs`` as outputs, each a tuple of ``(x, y)`` jumps (a single pair is a group of one)."""
    def is_pair(p: Any) -> bool:
        return (isinstance(p, (tuple, list)) and len(p) == 2
                and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in p))

    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (tuple, list)) or not pairs:
        raise TypeError("pairs must be a non-empty sequence of outputs, each an (x, y) pair of states or a "
                        f"sequence of such pairs, got {pairs!r}")
    if is_pair(pairs):
        pairs = [pairs]
    groups = []
    for j, out in enumerate(pairs):
        group = [out] if is_pair(out) else out
        if isinstance(group, (str, bytes)) or not isinstance(group, (tuple, list)) or not group \
                or not all(is_pair(p) for p in group):
            raise TypeError(f"pairs[{j}] must be an (x, y) pair of int states or a non-empty sequence of them, "
                            f"got {out!r}")
        for x, y in group:
            if x < 0 or y < 0 or x == y:
                raise ValueError(f"pairs[{j}]: ({x}, {y}) is not a jump between two distinct states >= 0")
        groups.append(tuple((int(x), int(y)) for x, y in group))
    return tuple(groups)


class Transitions(_OverIntervals):
    """Flows: the mass moving along given jumps ``x -> y`` over each observation interval.

    Output ``j`` at the ``k``-th observation time is

        F_j(t_{k-1}, t_k) = sum_{(x, y) in P_j} sum_{n: t_{k-1} <= t_n < t_k} F_n[x, y],   t_{-1} = 0,

    with ``F_n`` the equilibrium's transition flows on step ``n -> n+1``
    (:func:`bayes_mfg.engine.transition_flows`: the scheme's occupation of ``x`` times the
    equilibrium rate ``a*_n[x, y]``, or ``mu_t(x) P_t[x, y]`` for a discrete-time game), exact
    for the discretised game. Times a population size ``N`` these are the means of counts of
    events: newly infected per day (``S -> I``), arrivals, moves between zones. Unlike
    :class:`Increments` it separates flows that a stock mixes (infections and vaccinations
    both leave ``S``; inflow and outflow of a zone).

    Parameters
    ----------
    pairs
        The outputs: each an ``(x, y)`` pair of state indices, or a sequence of pairs whose
        flows are summed (all jumps into a set). A game with neighbour rates can only
        observe jumps between neighbours.
    names
        Labels of the outputs (default ``f0, f1, ...``).

    Notes
    -----
    The outputs are non-negative, so :class:`~bayes_mfg.observe.Poisson`,
    :class:`~bayes_mfg.observe.NegativeBinomial` and
    :class:`~bayes_mfg.observe.ReportedCounts` (reporting fraction, day-of-week effects)
    apply. The first observation time must be > 0.

    Examples
    --------
    Daily new infections of an SIR epidemic:

    >>> import bayes_mfg as bm, numpy as np
    >>> game = bm.games.SIR(horizon=10.0, n_times=11)
    >>> params = game.params(beta=0.6, gamma=0.2, c_infected=0.0)
    >>> eq = bm.equilibrium(game, params, [0.99, 0.01, 0.0])
    >>> cases = bm.observe.Transitions([(0, 1)], names=("new_infections",))
    >>> cases.bind(game)
    >>> daily = cases(cases.from_equilibrium(game, eq, params), np.arange(1, 11))
    >>> daily.shape, bool(np.allclose(daily[:, 0], -np.diff(eq.mu[:, 0]), atol=1e-12))
    ((10, 1), True)
    """

    reads_equilibrium: ClassVar[bool] = True

    def __init__(self, pairs: Any, names: Sequence[str] | None = None) -> None:
        self.pairs = _as_pair_groups(pairs)
        k = len(self.pairs)
        self.weights = np.eye(k)  # __call__ reads the (N, k) cumulative flows of the outputs
        self.weights.setflags(write=False)
        self._labels = _names(names, k, "f")
        self._n_game_states = 1 + max(max(x, y) for g in self.pairs for x, y in g)

    @property
    def output_kind(self) -> str:
        return "nonnegative"

    def check_game(self, n_states: int) -> None:
        if self._n_game_states > n_states:
            raise ValueError(f"pairs name state {self._n_game_states - 1} but the game has {n_states} states "
                             f"(0..{n_states - 1})")

    def _slots(self, game: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """For every output the ``(rows, columns)`` of its jumps in the layout of ``eq.rates``."""
        table = getattr(getattr(game, "structure", None), "table", None)
        out = []
        for j, group in enumerate(self.pairs):
            rows, cols = [], []
            for x, y in group:
                if table is None:
                    k = y
                else:
                    hits = np.flatnonzero(table[x] == y)
                    if hits.size == 0:
                        raise ValueError(f"pairs[{j}]: {x} -> {y} is not a jump of this game (state {x} moves "
                                         f"only to its neighbours {sorted(set(table[x].tolist()) - {x})})")
                    k = int(hits[0])
                rows.append(x)
                cols.append(k)
            out.append((np.array(rows), np.array(cols)))
        return out

    def bind(self, game: Any) -> None:
        self.check_game(game.n_states)
        self._slots(game)

    def from_equilibrium(self, game: Any, eq: Any, params: Any) -> Array:
        """``(N, k)`` cumulative flows ``C_n = sum_{m < n} F_m`` of the outputs (``C_0 = 0``)."""
        flows = transition_flows(game, eq, params)
        steps = jnp.stack([flows[:, rows, cols].sum(-1) for rows, cols in self._slots(game)], axis=-1)
        return jnp.concatenate([jnp.zeros_like(steps[:1]), jnp.cumsum(steps, axis=0)], axis=0)

    def __call__(self, cumulative: Any, idx: Any) -> Array:
        """``(..., n_obs, k)`` flows over the intervals from the cumulative flows ``(..., N, k)``."""
        now, before = self._ends(cumulative, idx)
        return now - before

    def __repr__(self) -> str:
        return f"Transitions(pairs={[list(g) for g in self.pairs]}, names={self.names})"


def at_risk(counts: Any, n_agents: Any) -> np.ndarray:
    """Agents still outside at the start of every interval: ``r_k = n - sum_{l<k} c_l``.

    Parameters
    ----------
    counts
        ``(n_traj, n_times)`` or ``(n_traj, n_times, 1)`` entries per interval (NaN or
        masked entries count as 0: mask whole trajectories, not single intervals, or the
        later totals are wrong).
    n_agents
        Group size per trajectory: an int or ``(n_traj,)`` ints.

    Returns
    -------
    numpy.ndarray
        ``(n_traj, n_times, 1)`` integer-valued floats, the ``total_count`` of a
        :class:`~bayes_mfg.observe.Binomial` on a :class:`Hazard` readout.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> bm.observe.at_risk([[3, 5, 0, 2]], 12)[0, :, 0].tolist()
    [12.0, 9.0, 4.0, 4.0]
    """
    c = np.nan_to_num(np.asarray(counts, dtype=np.float64))
    if c.ndim == 3:
        if c.shape[-1] != 1:
            raise ValueError(f"counts must have shape (n_traj, n_times) or (n_traj, n_times, 1), got {c.shape}")
        c = c[..., 0]
    if c.ndim != 2:
        raise ValueError(f"counts must have shape (n_traj, n_times) or (n_traj, n_times, 1), got {c.shape}")
    n = np.broadcast_to(np.asarray(n_agents, dtype=np.float64), (c.shape[0],))
    before = np.concatenate([np.zeros((c.shape[0], 1)), np.cumsum(c, axis=1)[:, :-1]], axis=1)
    out = n[:, None] - before
    if np.any(out < 0) or np.any(c > out):
        raise ValueError("counts exceed n_agents: more entries than agents")
    return out[..., None]
