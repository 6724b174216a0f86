"""Particles of the continuous SDE under a grid equilibrium's feedback, against the grid's law.

A :class:`~bayes_mfg.games.GridGame` replaces the diffusion ``dX = v dt + sigma dW`` by the
upwind Markov chain of [Kushner & Dupuis 2001]. This module runs the other side of that
approximation: ``n_agents`` independent agents of the *continuous* SDE, each steered by the
equilibrium's feedback velocity read off the grid and interpolated between grid points, and
histograms of their positions on a fixed set of bins. The grid law, coarse-grained onto the
same bins, should be within ``O(h)`` of the particle histogram, down to the Monte Carlo
floor of ``n_agents`` samples (:func:`particle_check` measures both).

The SDE is solved with diffrax (Euler-Maruyama, exact for the additive noise up to the
drift's step error): the JAX ecosystem's SDE solver, so no integrator or Brownian path of
our own has to be written and verified.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import check_positive_int
from bayes_mfg.games.base import Array
from bayes_mfg.games.grid import Grid, GridGame

__all__ = ["Particles", "ParticleCheck", "grid_velocity", "simulate_particles", "bin_masses", "particle_histogram",
           "particle_check"]


class Particles(NamedTuple):
    """Positions of simulated agents at some of a game's time points (:func:`simulate_particles`).

    Attributes
    ----------
    steps
        ``(S,)`` indices ``n`` of the game's time points ``t_n = n * dt``.
    times
        ``(S,)`` the times ``t_n``.
    x
        ``(S, n_agents, n_dim)`` positions at those times, inside the grid's domain.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_mfg.games import Particles
    >>> p = Particles(np.array([0]), np.array([0.0]), np.zeros((1, 3, 1)))
    >>> p.x.shape
    (1, 3, 1)
    """

    steps: np.ndarray
    times: np.ndarray
    x: Array


class ParticleCheck(NamedTuple):
    """Total variation between a particle histogram and the grid law, with its Monte Carlo floor.

    Attributes
    ----------
    steps, times
        ``(S,)`` the time points compared (as in :class:`Particles`).
    tv
        ``(S,)`` ``0.5 * sum_bins |histogram - grid law|``.
    floor_mean, floor_sd
        ``(S,)`` mean and standard deviation of the same total variation for a histogram of
        ``n_agents`` draws from the binned grid law itself (multinomial): what ``tv`` is
        when the particles follow the grid law exactly.
    n_agents, n_reps
        Agents per histogram and multinomial draws behind the floor.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_mfg.games import ParticleCheck
    >>> c = ParticleCheck(np.array([4]), np.array([1.0]), np.array([0.02]), np.array([0.015]),
    ...                   np.array([0.003]), 1000, 20)
    >>> bool(c.tv[0] < c.floor_mean[0] + 4 * c.floor_sd[0])
    True
    """

    steps: np.ndarray
    times: np.ndarray
    tv: np.ndarray
    floor_mean: np.ndarray
    floor_sd: np.ndarray
    n_agents: int
    n_reps: int


# ---------------------------------------------------------------------------- checks
def _check_game(game: Any) -> Grid:
    if not isinstance(game, GridGame):
        raise TypeError(f"game must be a bayes_mfg.games.GridGame, got {type(game).__name__}")
    if game.grid.absorbing:
        raise ValueError(f"game.grid.absorbing = {game.grid.absorbing}: particles with absorbing states are not "
                         "supported (an agent of the SDE does not stop at a grid point)")
    return game.grid


def _check_key(key: Any) -> Array:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if not ((typed and key.shape == ()) or (key.dtype == jnp.uint32 and key.shape == (2,))):
        raise TypeError(f"key must be one JAX random key (jax.random.key(seed)), got dtype {key.dtype}, "
                        f"shape {key.shape}")
    return key


def _check_mu(game: GridGame, eq: Any) -> Array:
    mu = getattr(eq, "mu", None)
    if mu is None:
        raise TypeError(f"eq must be an Equilibrium of the game (with .mu and .rates), got {type(eq).__name__}")
    shape = (game.n_times, game.n_states)
    if tuple(np.shape(mu)) != shape:
        raise ValueError(f"eq.mu must have shape {shape} (one solve of this game), got {tuple(np.shape(mu))}")
    return jnp.asarray(mu)


def _check_steps(game: GridGame, steps: Any) -> np.ndarray:
    if steps is None:
        return np.arange(game.n_times)
    arr = np.asarray(steps)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"steps must be a non-empty 1-D sequence of ints (time indices), got {steps!r}")
    if arr.min() < 0 or arr.max() > game.n_times - 1 or np.any(np.diff(arr) <= 0):
        raise ValueError(f"steps must be strictly increasing time indices in 0..{game.n_times - 1}, got {arr.tolist()}")
    return arr.astype(int)


# ---------------------------------------------------------------------------- the feedback
def grid_velocity(game: GridGame, eq: Any) -> Array:
    """The equilibrium's net velocity ``v_k = v_k^+ - v_k^-`` at every grid point and time step.

    Read off the equilibrium's rates by inverting :meth:`~bayes_mfg.games.GridGame.control`
    (``a = sigma^2 / (2 h^2) + v / h`` on each real move): ``v = h a - sigma^2 / (2 h)``.
    Step ``n`` holds the velocity the grid's forward sweep used on ``[t_n, t_{n+1})``. A
    move across a wall is missing, so at a wall only the inward speed counts.

    Parameters
    ----------
    game
        A :class:`~bayes_mfg.games.GridGame` that does not override ``control``.
    eq
        Its :class:`~bayes_mfg.Equilibrium` (``eq.rates``: ``(N - 1, d, 2 n_dim)``).

    Returns
    -------
    jax.Array
        ``(N - 1, d, n_dim)`` velocities.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(33, -2.0, 2.0), sigma=0.3, n_times=11)
    >>> eq = bm.equilibrium(game, {"coupling": 0.0}, [1 / 33] * 33)
    >>> v = bm.games.grid_velocity(game, eq)
    >>> v.shape, bool(v[0, 4, 0] > 0 > v[0, 28, 0])   # towards the target 0 from both sides
    ((10, 33, 1), True)
    """
    grid = _check_game(game)
    if type(game).control is not GridGame.control:
        raise ValueError(f"{type(game).__name__} overrides GridGame.control, so its velocity cannot be read off its "
                         "rates: pass velocity= to simulate_particles")
    rates = getattr(eq, "rates", None)
    shape = (game.n_times - 1, game.n_states, 2 * grid.n_dim)
    if rates is None or tuple(np.shape(rates)) != shape:
        raise ValueError(f"eq.rates must have shape {shape} (one solve of this game), got "
                         f"{None if rates is None else tuple(np.shape(rates))}")
    rates = jnp.asarray(rates)
    h = jnp.asarray(grid.move_spacing, dtype=rates.dtype)
    real = jnp.asarray(grid.neighbours != np.arange(grid.n_states)[:, None], dtype=rates.dtype)
    speed = real * jnp.maximum(0.0, h * rates - game.sigma**2 / (2.0 * h))  # (N - 1, d, 2 n_dim), >= 0
    return speed[..., 1::2] - speed[..., 0::2]


# ---------------------------------------------------------------------------- the SDE
class _Geometry(NamedTuple):
    shape: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    periodic: tuple[bool, ...]
    spacing: tuple[float, ...]


def _geometry(grid: Grid) -> _Geometry:
    return _Geometry(grid.shape, tuple(map(float, grid.lower)), tuple(map(float, grid.upper)), grid.periodic,
                     grid.spacing)


def _fold(geo: _Geometry, y: Array) -> tuple[Array, Array]:
    """``X = fold(Y)`` and ``fold'(Y)`` per axis (``(A, n_dim)``): the tent map onto a walled axis,
    ``lower + (Y - lower) mod L`` on a periodic one."""
    xs, signs = [], []
    for k in range(len(geo.shape)):
        lo, length = geo.lower[k], geo.upper[k] - geo.lower[k]
        if geo.periodic[k]:
            xs.append(lo + jnp.mod(y[:, k] - lo, length))
            signs.append(jnp.ones_like(y[:, k]))
        else:
            z = jnp.mod(y[:, k] - lo, 2.0 * length)
            xs.append(lo + jnp.where(z <= length, z, 2.0 * length - z))
            signs.append(jnp.where(z < length, 1.0, -1.0))
    return jnp.stack(xs, axis=1), jnp.stack(signs, axis=1)


def _interpolate(geo: _Geometry, field: Array, x: Array) -> Array:
    """``(A, n_dim)``: the grid field ``(d, n_dim)`` at positions ``x`` (``(A, n_dim)``), linear
    (bilinear in 2-D) between grid points, wrapping around periodic axes."""
    corners = [(jnp.zeros(x.shape[0], dtype=jnp.int32), jnp.ones(x.shape[0], dtype=x.dtype))]
    for k, n in enumerate(geo.shape):
        s = (x[:, k] - geo.lower[k]) / geo.spacing[k]
        if geo.periodic[k]:
            base = jnp.floor(s)
            w = s - base
            i = jnp.mod(base.astype(jnp.int32), n)
            j = jnp.mod(i + 1, n)
        else:
            i = jnp.clip(jnp.floor(s), 0, n - 2).astype(jnp.int32)
            w = jnp.clip(s - i, 0.0, 1.0)
            j = i + 1
        corners = [(idx * n + c, wt * f) for idx, wt in corners for c, f in ((i, 1.0 - w), (j, w))]
    return sum(wt[:, None] * field[idx] for idx, wt in corners)


def _initial_positions(geo: _Geometry, mu0: Array, n_agents: int, key: Array) -> Array:
    """Cells drawn by their mass, positions uniform in the cell ``[x - h/2, x + h/2]`` (cut at walls)."""
    k_cell, k_pos = jax.random.split(key)
    cells = jax.random.categorical(k_cell, jnp.log(jnp.maximum(mu0, 0.0)), shape=(n_agents,))
    idx = jnp.unravel_index(cells, geo.shape)
    u = jax.random.uniform(k_pos, (n_agents, len(geo.shape)), dtype=mu0.dtype)
    out = []
    for k in range(len(geo.shape)):
        lo, hi, h = geo.lower[k], geo.upper[k], geo.spacing[k]
        centre = lo + h * idx[k].astype(mu0.dtype)
        a, b = centre - h / 2, centre + h / 2
        if geo.periodic[k]:
            out.append(lo + jnp.mod(a + u[:, k] * h - lo, hi - lo))
        else:
            a, b = jnp.maximum(a, lo), jnp.minimum(b, hi)
            out.append(a + u[:, k] * (b - a))
    return jnp.stack(out, axis=1)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _simulate(geo: _Geometry, sigma: float, dt: float, n_substeps: int, n_agents: int, save_steps: Array,
              velocity: Array, mu0: Array, key: Array) -> Array:
    # imported here: diffrax would add ~0.7 s to every `import bayes_mfg` (measured), for this one function
    import diffrax
    import lineax

    n_dim, n_steps = len(geo.shape), velocity.shape[0]
    k0, k_path = jax.random.split(key)
    y0 = _initial_positions(geo, mu0, n_agents, k0)

    def drift(t, y, args):
        # the step of t (a substep's start: half a substep of slack against rounding)
        n = jnp.clip(jnp.floor(t / dt + 0.5 / n_substeps).astype(jnp.int32), 0, n_steps - 1)
        x, sign = _fold(geo, y)
        return sign * _interpolate(geo, velocity[n], x)

    def diffusion(t, y, args):
        return lineax.DiagonalLinearOperator(jnp.full(y.shape, sigma, dtype=y.dtype))

    ts = jnp.linspace(0.0, dt * n_steps, n_steps * n_substeps + 1, dtype=mu0.dtype)
    brownian = diffrax.UnsafeBrownianPath(shape=jax.ShapeDtypeStruct((n_agents, n_dim), mu0.dtype), key=k_path)
    terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, brownian))
    sol = diffrax.diffeqsolve(terms, diffrax.Euler(), ts[0], ts[-1], dt0=None, y0=y0,
                              saveat=diffrax.SaveAt(ts=ts[save_steps * n_substeps]),
                              stepsize_controller=diffrax.StepTo(ts), max_steps=n_steps * n_substeps,
                              adjoint=diffrax.ForwardMode())
    return jax.vmap(lambda y: _fold(geo, y)[0])(sol.ys)


def simulate_particles(game: GridGame, eq: Any, n_agents: int, key: Any, *, steps: Any = None, n_substeps: int = 8,
                       velocity: Any = None) -> Particles:
    """Simulate ``n_agents`` agents of the continuous SDE ``dX = v(t, X) dt + sigma dW`` under the
    grid equilibrium's feedback.

    ``v(t, x)``: the equilibrium's net velocity (:func:`grid_velocity`), linear in ``x``
    between grid points (bilinear in 2-D) and constant in ``t`` on each step
    ``[t_n, t_{n+1})`` of the game's time grid (the velocity the grid's forward sweep used
    there). Initial positions: a cell drawn by its mass under ``eq.mu[0]``, then uniform in
    the cell ``[x - h/2, x + h/2]`` (cut at a wall). Each agent is independent: one diffrax
    solve (Euler-Maruyama, ``diffrax.Euler`` with ``diffrax.UnsafeBrownianPath``) moves all
    of them, ``n_substeps`` SDE steps per game step (``StepTo``: the steps fall on the
    game's time points exactly).

    **Walls, exactly.** On a walled axis the solver moves an unconstrained ``Y`` on the real
    line with the drift extended by reflection, ``b(y) = fold'(y) v(fold(y))``, and reports
    ``X = fold(Y)`` (``fold``: the tent map of period ``2 (upper - lower)`` onto ``[lower,
    upper]``, ``fold' = +-1``). ``fold(Y)`` is then the diffusion reflected at the walls
    (Skorokhod): no projection or clipping at the walls, whose step error would come on
    top of Euler's. A periodic axis reports
    ``lower + (Y - lower) mod L``.

    Parameters
    ----------
    game
        A 1-D or 2-D :class:`~bayes_mfg.games.GridGame` without absorbing states.
    eq
        Its :class:`~bayes_mfg.Equilibrium` (one solve: ``eq.mu`` ``(N, d)``; ``eq.rates``
        unless ``velocity`` is given).
    n_agents
        Number of agents (a positive int).
    key
        A JAX random key (``jax.random.key(seed)``).
    steps
        Time indices ``n`` (strictly increasing, in ``0..N-1``) at which to report positions
        (default: all ``N``; memory ``8 S n_agents n_dim`` bytes).
    n_substeps
        SDE steps per game step ``dt``.
    velocity
        ``(N - 1, d, n_dim)`` net velocity to use instead of :func:`grid_velocity` (e.g. zero,
        as a control experiment).

    Returns
    -------
    Particles
        ``steps``, ``times`` and positions ``x`` ``(S, n_agents, n_dim)``.

    Examples
    --------
    >>> import jax, numpy as np, bayes_mfg as bm
    >>> game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(33, -2.0, 2.0), sigma=0.3, n_times=11)
    >>> x = game.points[:, 0]
    >>> mu0 = np.exp(-(x - 0.5) ** 2 / (2 * 0.2**2)); mu0 /= mu0.sum()
    >>> eq = bm.equilibrium(game, {}, mu0)
    >>> p = bm.games.simulate_particles(game, eq, 2000, jax.random.key(0), steps=[0, 10])
    >>> p.x.shape, p.times.tolist()
    ((2, 2000, 1), [0.0, 1.0])
    >>> bool(abs(p.x[1].mean() - game.grid.moments(eq.mu[10])[0][0]) < 0.03)   # the grid's mean at T
    True
    """
    grid = _check_game(game)
    n_agents = check_positive_int("n_agents", n_agents)
    n_substeps = check_positive_int("n_substeps", n_substeps)
    key = _check_key(key)
    mu = _check_mu(game, eq)
    save = _check_steps(game, steps)
    if velocity is None:
        velocity = grid_velocity(game, eq)
    else:
        shape = (game.n_times - 1, game.n_states, grid.n_dim)
        if tuple(np.shape(velocity)) != shape:
            raise ValueError(f"velocity must have shape {shape} (N - 1, d, n_dim), got {tuple(np.shape(velocity))}")
        velocity = jnp.asarray(velocity, dtype=mu.dtype)
    x = _simulate(_geometry(grid), float(game.sigma), float(game.dt), n_substeps, n_agents,
                  jnp.asarray(save, dtype=jnp.int32), velocity, mu[0], key)
    return Particles(save, np.asarray(game.time_grid)[save], x)


# ---------------------------------------------------------------------------- histograms
def _grid_of(game_or_grid: Any) -> Grid:
    grid = getattr(game_or_grid, "grid", game_or_grid)
    if not isinstance(grid, Grid):
        raise TypeError(f"expected a GridGame or a Grid, got {type(game_or_grid).__name__}")
    return grid


def _edges(grid: Grid, bins: Any) -> tuple[np.ndarray, ...]:
    """Bin edges per axis from ``bins``: an int (equal bins per axis), edges (1-D grids), or one
    int or edge array per axis."""
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        per_axis = (bins,) * grid.n_dim
    elif grid.n_dim == 1 and np.ndim(bins) == 1 and not isinstance(bins, tuple):
        per_axis = (bins,)
    elif isinstance(bins, (tuple, list)) and len(bins) == grid.n_dim:
        per_axis = tuple(bins)
    else:
        raise TypeError(f"bins must be an int, an array of edges (1-D grids) or one of those per axis "
                        f"({grid.n_dim}), got {bins!r}")
    out = []
    for k, b in enumerate(per_axis):
        lo, hi = grid.lower[k], grid.upper[k]
        if isinstance(b, (int, np.integer)) and not isinstance(b, bool):
            check_positive_int(f"bins[{k}]", b)
            out.append(np.linspace(lo, hi, int(b) + 1))
            continue
        e = np.asarray(b, dtype=float)
        if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0) or not np.all(np.isfinite(e)):
            raise ValueError(f"bins[{k}]: edges must be a strictly increasing 1-D array of >= 2 finite numbers")
        tol = 1e-12 * (hi - lo)
        if e[0] > lo + tol or e[-1] < hi - tol:
            raise ValueError(f"bins[{k}]: the edges [{e[0]}, {e[-1]}] must cover the axis [{lo}, {hi}]")
        if grid.periodic[k] and (abs(e[0] - lo) > tol or abs(e[-1] - hi) > tol):
            # on a circle an edge past the period would count the wrapped cells twice
            raise ValueError(f"bins[{k}]: the axis is periodic, so the edges must start at {lo} and end at {hi} "
                             f"(one period), got [{e[0]}, {e[-1]}]")
        out.append(e)
    return tuple(out)


def _overlap(grid: Grid, k: int, edges: np.ndarray) -> np.ndarray:
    """``(n_k, B_k)``: the share of grid cell i (``[x_i - h/2, x_i + h/2]``, cut at walls) in bin j."""
    n, lo, hi, h, per = grid.shape[k], grid.lower[k], grid.upper[k], grid.spacing[k], grid.periodic[k]
    centre = lo + h * np.arange(n)
    a, b = centre - h / 2, centre + h / 2
    if not per:
        a, b = np.maximum(a, lo), np.minimum(b, hi)
    shifts = (-(hi - lo), 0.0, hi - lo) if per else (0.0,)
    w = sum(np.maximum(0.0, np.minimum(b[:, None], edges[None, 1:] + s) - np.maximum(a[:, None], edges[None, :-1] + s))
            for s in shifts)
    return w / (b - a)[:, None]


def bin_masses(game: Any, mu: Any, bins: Any) -> Array:
    """A grid law coarse-grained onto bins: each grid point's mass spread uniformly over its cell.

    The mass ``mu(x)`` of grid point ``x`` is that of its cell ``[x - h/2, x + h/2]`` (cut at
    a wall, wrapped on a periodic axis); a bin receives each cell's mass in proportion to the
    length (area) the two share. Grids of different ``h`` are so compared on the same bins.

    Parameters
    ----------
    game
        A :class:`~bayes_mfg.games.GridGame` or its :class:`~bayes_mfg.games.Grid`.
    mu
        ``(..., d)`` grid law(s).
    bins
        An int (that many equal bins per axis over the grid's domain), an array of edges
        (1-D grids) or one int or edge array per axis; edges must cover the domain.

    Returns
    -------
    jax.Array
        ``(..., B)`` masses (``B = B_0 B_1`` in 2-D, row-major).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> grid = bm.games.Grid.interval(5, 0.0, 1.0)          # cells of width 1/8 at the walls, 1/4 inside
    >>> bm.games.bin_masses(grid, [0.0, 0.0, 1.0, 0.0, 0.0], 2).tolist()
    [0.5, 0.5]
    """
    grid = _grid_of(game)
    mu = jnp.asarray(mu)
    if mu.shape[-1:] != (grid.n_states,):
        raise ValueError(f"mu must have shape (..., {grid.n_states}), got {mu.shape}")
    edges = _edges(grid, bins)
    w = [jnp.asarray(_overlap(grid, k, e), dtype=mu.dtype) for k, e in enumerate(edges)]
    if grid.n_dim == 1:
        return mu @ w[0]
    field = mu.reshape(*mu.shape[:-1], *grid.shape)
    out = jnp.einsum("...ij,ia,jb->...ab", field, w[0], w[1])
    return out.reshape(*mu.shape[:-1], -1)


def particle_histogram(game: Any, x: Any, bins: Any) -> Array:
    """The share of agents in each bin.

    Parameters
    ----------
    game
        A :class:`~bayes_mfg.games.GridGame` or its :class:`~bayes_mfg.games.Grid`.
    x
        ``(..., n_agents, n_dim)`` positions in the grid's domain (e.g. ``Particles.x``).
    bins
        As in :func:`bin_masses`.

    Returns
    -------
    jax.Array
        ``(..., B)`` shares (each row sums to 1).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> grid = bm.games.Grid.interval(5, 0.0, 1.0)
    >>> bm.games.particle_histogram(grid, [[0.1], [0.2], [0.9], [1.0]], 2).tolist()
    [0.5, 0.5]
    """
    grid = _grid_of(game)
    edges = _edges(grid, bins)
    x = jnp.asarray(x)
    if x.ndim < 2 or x.shape[-1] != grid.n_dim:
        raise ValueError(f"x must have shape (..., n_agents, {grid.n_dim}), got {x.shape}")
    flat = jnp.zeros(x.shape[:-1], dtype=jnp.int32)
    for k, e in enumerate(edges):
        b = jnp.clip(jnp.searchsorted(jnp.asarray(e), x[..., k], side="right") - 1, 0, e.size - 2)
        flat = flat * (e.size - 1) + b
    n_bins = int(np.prod([e.size - 1 for e in edges]))
    rows = flat.reshape(-1, x.shape[-2])
    counts = jax.vmap(lambda r: jnp.bincount(r, length=n_bins))(rows)
    return (counts / x.shape[-2]).astype(x.dtype).reshape(*x.shape[:-2], n_bins)


def particle_check(game: GridGame, eq: Any, particles: Particles, bins: Any, key: Any, *,
                   n_reps: int = 50) -> ParticleCheck:
    """Total variation between the particles' histogram and the grid law, and its Monte Carlo floor.

    At each of the particles' time points ``t_n``: ``TV = 0.5 sum_bins |hist - mu_n|`` with
    ``mu_n = bin_masses(eq.mu[n])``. The floor is the honest comparator: the same TV for
    ``n_reps`` histograms of ``n_agents`` draws from ``mu_n`` itself (multinomial), so a
    ``tv`` within a few ``floor_sd`` of ``floor_mean`` is as close as ``n_agents`` agents
    can show. (Roughly ``floor_mean ~ sum_bins sqrt(mu (1 - mu) / (2 pi n_agents))``.)

    Parameters
    ----------
    game
        The :class:`~bayes_mfg.games.GridGame`.
    eq
        Its :class:`~bayes_mfg.Equilibrium` (``eq.mu`` is the grid law).
    particles
        From :func:`simulate_particles`.
    bins
        As in :func:`bin_masses`.
    key
        A JAX random key for the multinomial draws.
    n_reps
        Multinomial histograms behind the floor.

    Returns
    -------
    ParticleCheck

    Examples
    --------
    >>> import jax, bayes_mfg as bm
    >>> game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(33, -2.0, 2.0), sigma=0.3, n_times=11)
    >>> eq = bm.equilibrium(game, {}, [1 / 33] * 33)
    >>> p = bm.games.simulate_particles(game, eq, 2000, jax.random.key(0), steps=[0, 10])
    >>> check = bm.games.particle_check(game, eq, p, 8, jax.random.key(1))
    >>> check.tv.shape, bool(check.tv[0] < check.floor_mean[0] + 4 * check.floor_sd[0])   # t = 0: mu0 drawn
    ((2,), True)
    """
    _check_game(game)
    mu = _check_mu(game, eq)
    if not isinstance(particles, Particles):
        raise TypeError(f"particles must be bayes_mfg.games.Particles (from simulate_particles), got "
                        f"{type(particles).__name__}")
    n_reps = check_positive_int("n_reps", n_reps, minimum=2)
    key = _check_key(key)
    n_agents = int(particles.x.shape[-2])
    law = bin_masses(game, mu[np.asarray(particles.steps)], bins)
    law = law / jnp.sum(law, axis=-1, keepdims=True)
    hist = particle_histogram(game, particles.x, bins)
    tv = 0.5 * jnp.sum(jnp.abs(hist - law), axis=-1)
    # NumPy's exact multinomial, seeded by the key (jax.random.multinomial: ~2.5 s a call here, measured)
    seed = np.asarray(jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key)
    rng = np.random.default_rng(seed.ravel().tolist())
    law_np = np.maximum(np.asarray(law, dtype=float), 0.0)
    draws = np.stack([rng.multinomial(n_agents, q / q.sum(), size=n_reps) for q in law_np])  # (S, n_reps, B)
    floor = 0.5 * np.abs(draws / n_agents - law_np[:, None, :]).sum(axis=-1)  # (S, n_reps)
    return ParticleCheck(np.asarray(particles.steps), np.asarray(particles.times), np.asarray(tv),
                         floor.mean(axis=1), floor.std(axis=1, ddof=1), n_agents, n_reps)
