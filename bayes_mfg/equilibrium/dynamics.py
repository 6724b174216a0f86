"""HJB and Kolmogorov sweeps and the best-response map G, written once for every game.

Time indexing (as in the seed paper's code, needed to reproduce its equilibria): with
``u_{N-1} = g(mu_{N-1})``,

* HJB step n (backward, n = N-2..0) uses the best response to ``(u_{n+1}, mu_n, p_n)``;
* Kolmogorov step n -> n+1 (forward) uses the best response to ``(u_n, mu_n, p_n)`` with
  ``mu_n`` the distribution being propagated.

With rates ``a`` and cost ``f`` frozen over one step and generator
``Q = a - diag(sum_y a[x, y])``, the two schemes are

* ``euler``:        ``u_n = u_{n+1} + dt (f + Q u_{n+1})``,  ``mu_{n+1} = mu_n + dt mu_n Q``;
* ``implicit``:     ``u_n = (I - dt Q)^{-1} (u_{n+1} + dt f)``,  ``mu_{n+1} = mu_n (I - dt Q)^{-1}``
  (implicit Euler in the linear part, rates frozen). ``I - dt Q`` is a non-singular M-matrix
  with unit row sums, so ``(I - dt Q)^{-1}`` is a stochastic matrix for any dt: mass and
  positivity are kept, and a step costs one d x d LU solve (the default);
* ``exponential``:  ``u_n = expm(dt Q) u_{n+1} + dt phi_1(dt Q) f``,  ``mu_{n+1} = mu_n expm(dt Q)``,
  with ``phi_1(z) = (e^z - 1) / z``: the exact solution of the frozen-rate linear ODEs.
  ``expm(dt Q)`` is a stochastic matrix for any dt, so mass and positivity are kept.

All three are first order in dt (the rates are frozen over a step).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg.games.base import Array, Control, Game, MeanFieldGame, Params
from bayes_mfg.games.discrete import DiscreteTimeGame


def generator(rates: Array) -> Array:
    """Generator ``Q`` of a jump process from off-diagonal rates (diagonal of ``rates`` ignored).

    ``Q[x, y] = a[x, y]`` for ``y != x`` and ``Q[x, x] = -sum_{y != x} a[x, y]``.

    Parameters
    ----------
    rates
        ``(..., d, d)`` jump rates.

    Returns
    -------
    jax.Array
        ``(..., d, d)`` generator (rows sum to 0).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.equilibrium import generator
    >>> generator(jnp.array([[0.0, 2.0], [1.0, 0.0]])).tolist()
    [[-2.0, 2.0], [1.0, -1.0]]
    """
    d = rates.shape[-1]
    off = rates * (1.0 - jnp.eye(d, dtype=rates.dtype))
    return off - jnp.diag(jnp.sum(off, axis=-1))


# Taylor degree and scaling threshold of ``expm_generator``: with |X|_inf <= 0.5 the
# truncation error of the degree-15 Taylor polynomial is below 0.5^16 / 16! < 1e-18.
_TAYLOR_COEFFS = tuple(1.0 / math.factorial(k) for k in range(16))
_THETA = 0.5
#: Squarings available: the scheme is accurate for dt * max out-rate up to 0.5 * 2**11 = 1024.
MAX_SQUARINGS = 11


def expm_generator(m: Array, scale_from: Array | None = None) -> Array:
    """Matrix exponential for jump-process generators, with fixed cost (jit/vmap/grad friendly).

    ``expm(M) = (exp(-c / 2^s) * T(X))^(2^s)`` with the diagonal shift ``c = max_x (-M[x, x])``,
    ``X = (M + c I) / 2^s`` and ``T`` the degree-15 Taylor polynomial (Paterson–Stockmeyer:
    6 matrix products), ``s`` chosen so that ``|M + c I|_inf / 2^s <= 0.5`` (the norm is taken
    over ``scale_from``, default ``M``). For a generator ``M + c I >= 0`` entrywise, so every
    term is non-negative: the result is exactly non-negative in floating point. Unlike
    ``jax.scipy.linalg.expm`` there is no data-dependent branch, so a batch under ``vmap``
    does not evaluate several Pade orders.
    """
    n = m.shape[-1]
    eye = jnp.eye(n, dtype=m.dtype)
    c = jnp.maximum(jnp.max(-jnp.diagonal(m)), 0.0)
    b = m + c * eye
    ref = b if scale_from is None else scale_from + c * jnp.eye(scale_from.shape[-1], dtype=m.dtype)
    norm = jnp.max(jnp.sum(jnp.abs(ref), axis=-1))
    s = jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm, _THETA) / _THETA)), 0, MAX_SQUARINGS)
    x = b * jnp.exp2(-s)
    x2 = x @ x
    x3 = x2 @ x
    x4 = x2 @ x2
    powers = (eye, x, x2, x3)
    a = _TAYLOR_COEFFS
    block = [sum(a[4 * j + i] * powers[i] for i in range(4)) for j in range(4)]
    e = block[3]
    for j in (2, 1, 0):
        e = block[j] + x4 @ e
    e = e * jnp.exp(-c * jnp.exp2(-s))
    for i in range(MAX_SQUARINGS):
        e = jnp.where(i < s, e @ e, e)
    return e


#: Largest d for which ``m_matrix_solve`` eliminates in unrolled vector operations; above it
#: LAPACK's LU is faster (measured: 2.7x faster at d = 8 under vmap, equal at d = 16).
SMALL_SOLVE_MAX_D = 12


def _gauss_jordan(a: Array, b: Array) -> Array:
    """Solve ``a x = b`` by Gauss-Jordan elimination without pivoting, unrolled over d.

    Only for matrices whose elimination needs no pivoting: here ``I - dt Q`` and its
    transpose, which are strictly diagonally dominant (by rows, resp. columns) with
    diagonal >= 1, so every pivot is >= 1 and the growth factor is at most 2.
    """
    d = a.shape[-1]
    ab = jnp.concatenate([a, b[:, None]], axis=1)
    for k in range(d):
        row = ab[k] / ab[k, k]
        ab = (ab - ab[:, k : k + 1] * row[None, :]).at[k].set(row)
    return ab[:, d]


def m_matrix_solve(a: Array, b: Array) -> Array:
    """Solve ``a x = b`` for a strictly diagonally dominant ``a`` (``I - dt Q`` or its transpose).

    For small d the elimination is unrolled into vector operations, which batch well under
    ``vmap`` (one LAPACK call per matrix is the bottleneck there); derivatives follow
    ``lax.custom_linear_solve`` (one transposed solve, no differentiation through the
    elimination). Larger d uses ``jnp.linalg.solve``.
    """
    if a.shape[-1] > SMALL_SOLVE_MAX_D:
        return jnp.linalg.solve(a, b)
    return jax.lax.custom_linear_solve(
        lambda x: a @ x,
        b,
        solve=lambda _, rhs: _gauss_jordan(a, rhs),
        transpose_solve=lambda _, rhs: _gauss_jordan(a.T, rhs),
    )


def _row_action(rates: Array, nbr: np.ndarray, x: Array) -> Array:
    """``sum_k a[x, k] v[nbr[x, k]]``: the off-diagonal part of ``Q v`` (a gather)."""
    return jnp.sum(rates * x[nbr], axis=1)


@functools.lru_cache(maxsize=64)
def _incoming(key: bytes, shape: tuple[int, int]) -> np.ndarray:
    """``(d, J)`` flat indices ``z * K + k`` of the moves into each state (padded with d * K)."""
    nbr = np.frombuffer(key, dtype=np.int64).reshape(shape)
    d, k = shape
    lists: list[list[int]] = [[] for _ in range(d)]
    for z in range(d):
        for j in range(k):
            if nbr[z, j] != z:
                lists[nbr[z, j]].append(z * k + j)
    width = max(1, max(len(v) for v in lists))
    return np.array([v + [d * k] * (width - len(v)) for v in lists], dtype=np.int64)


def _column_action(rates: Array, nbr: np.ndarray, x: Array) -> Array:
    """``sum_{(z, k): nbr[z, k] = y} x[z] a[z, k]``: the off-diagonal part of ``x Q``.

    Written as a gather over the table of incoming moves (built once per graph), not as a
    scatter-add: gathers vectorise on CPU and need no atomics on GPU.
    """
    nbr64 = np.ascontiguousarray(nbr, dtype=np.int64)
    incoming = _incoming(nbr64.tobytes(), nbr64.shape)
    flows = jnp.concatenate([(rates * x[:, None]).ravel(), jnp.zeros((1,), x.dtype)])
    return jnp.sum(flows[incoming], axis=1)


def neighbour_solve(rates: Array, nbr: np.ndarray, dt: float, b: Array, transpose: bool) -> Array:
    """Solve ``(I - dt Q) x = b`` (or ``(I - dt Q)^T x = b``) for neighbour-structured rates.

    ``Q`` is the generator of the rates ``a[x, k]`` of the jumps ``x -> nbr[x, k]``; it is
    never formed. ``A = I - dt Q`` has diagonal ``D = 1 + dt s`` (``s`` the out-rates) and
    off-diagonal part ``-dt R``; Jacobi iteration ``x <- D^{-1} (b + dt R x)`` contracts with
    factor ``r = max_x dt s_x / (1 + dt s_x) < 1`` (in the sup norm for ``A``, in the
    ``D``-weighted 1-norm for ``A^T``), for any dt and any rates. It runs until the update
    is below the dtype's resolution or ``log(eps) / log(r)`` sweeps, whichever comes first,
    so the solve is exact to rounding. Derivatives follow ``lax.custom_linear_solve``: one
    solve with the transposed iteration, no differentiation through the sweeps.

    Parameters
    ----------
    rates
        ``(d, K)`` rates ``a[x, k] >= 0`` (zero where ``nbr[x, k] == x``).
    nbr
        ``(d, K)`` integer neighbour table (a NumPy array: static).
    dt
        Time step.
    b
        ``(d,)`` right-hand side.
    transpose
        Solve with ``A^T`` (the Kolmogorov step) instead of ``A`` (the HJB step).

    Returns
    -------
    jax.Array
        ``(d,)`` solution.

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np
    >>> from bayes_mfg.equilibrium.dynamics import neighbour_solve
    >>> nbr = np.array([[1, 2], [0, 2], [0, 1]])                 # 3 states, all-to-all
    >>> rates = jnp.array([[1.0, 2.0], [0.5, 0.0], [3.0, 1.0]])
    >>> q = jnp.zeros((3, 3)).at[jnp.arange(3)[:, None], nbr].set(rates)
    >>> q = q - jnp.diag(q.sum(1))
    >>> b = jnp.array([0.2, 0.3, 0.5])
    >>> x = neighbour_solve(rates, nbr, 0.1, b, transpose=True)
    >>> bool(jnp.allclose((jnp.eye(3) - 0.1 * q).T @ x, b, rtol=0, atol=1e-15))
    True
    """
    diag = 1.0 + dt * jnp.sum(rates, axis=1)
    eps = float(jnp.finfo(b.dtype).eps)
    r = jnp.max((diag - 1.0) / diag)
    n_max = jnp.clip(jnp.ceil(math.log(eps) / jnp.log(jnp.maximum(r, 1e-3))) + 2, 1, 100_000)

    def jacobi(off):
        def solve(_, rhs):
            def body(c):
                k, x, _ = c
                x_new = (rhs + dt * off(rates, nbr, x)) / diag
                return k + 1, x_new, jnp.max(jnp.abs(x_new - x)) > eps * jnp.max(jnp.abs(x_new))

            x0 = rhs / diag
            return jax.lax.while_loop(lambda c: c[2] & (c[0] < n_max), body, (0, x0, jnp.array(True)))[1]

        return solve

    def matvec(x):
        return diag * x - dt * _row_action(rates, nbr, x)

    def rmatvec(x):
        return diag * x - dt * _column_action(rates, nbr, x)

    if transpose:
        return jax.lax.custom_linear_solve(rmatvec, b, solve=jacobi(_column_action), transpose_solve=jacobi(_row_action))
    return jax.lax.custom_linear_solve(matvec, b, solve=jacobi(_row_action), transpose_solve=jacobi(_column_action))


def _backward_step(scheme: str, u_next: Array, control: Control, dt: float, nbr: np.ndarray | None = None) -> Array:
    if nbr is not None:
        if scheme == "euler":
            a = control.rates
            return u_next + dt * (control.cost + _row_action(a, nbr, u_next) - jnp.sum(a, axis=1) * u_next)
        return neighbour_solve(control.rates, nbr, dt, u_next + dt * control.cost, transpose=False)
    q = generator(control.rates)
    if scheme == "euler":
        return u_next + dt * (control.cost + q @ u_next)
    if scheme == "implicit":
        eye = jnp.eye(u_next.shape[0], dtype=u_next.dtype)
        return m_matrix_solve(eye - dt * q, u_next + dt * control.cost)
    # Exponential integrator: expm of the augmented matrix [[dt Q, dt f], [0, 0]] holds
    # expm(dt Q) in its top-left block and dt phi_1(dt Q) f in its last column.
    d = u_next.shape[0]
    aug = jnp.zeros((d + 1, d + 1), dtype=u_next.dtype)
    aug = aug.at[:d, :d].set(dt * q).at[:d, d].set(dt * control.cost)
    e = expm_generator(aug, scale_from=dt * q)
    return e[:d, :d] @ u_next + e[:d, d]


def transition_matrix(scheme: str, rates: Array, dt: float) -> Array:
    """The scheme's one-step transition matrix ``P`` with ``mu_{n+1} = mu_n P`` (rows sum to 1).

    ``implicit``: ``(I - dt Q)^{-1}``; ``exponential``: ``expm(dt Q)``; ``euler``: ``I + dt Q``
    (a stochastic matrix only while ``dt * max out-rate <= 1``).
    """
    q = generator(rates)
    eye = jnp.eye(q.shape[-1], dtype=q.dtype)
    if scheme == "euler":
        return eye + dt * q
    if scheme == "implicit":
        return jnp.linalg.inv(eye - dt * q)
    p = expm_generator(dt * q)
    # expm of a generator has unit row sums: impose them on the diagonal, so that mass is
    # conserved to rounding whatever the number of squarings.
    off = p * (1.0 - eye)
    return off + jnp.diag(1.0 - jnp.sum(off, axis=-1))


def _forward_step(scheme: str, mu: Array, rates: Array, dt: float, nbr: np.ndarray | None = None) -> Array:
    if nbr is not None:
        if scheme == "euler":
            return mu + dt * (_column_action(rates, nbr, mu) - jnp.sum(rates, axis=1) * mu)
        return neighbour_solve(rates, nbr, dt, mu, transpose=True)
    if scheme == "implicit":  # a solve, cheaper and more accurate than forming the inverse
        q = generator(rates)
        eye = jnp.eye(mu.shape[0], dtype=mu.dtype)
        return m_matrix_solve((eye - dt * q).T, mu)
    return mu @ transition_matrix(scheme, rates, dt)


def off_diagonal(game: Game, rates: Array) -> Array:
    """The rates with self-jumps set to 0: the diagonal of ``(d, d)`` rates, or the padding
    entries (``neighbours[x, k] == x``) of neighbour-structured ``(d, K)`` rates."""
    nbr = game.neighbours
    if nbr is None:
        return rates * (1.0 - jnp.eye(rates.shape[-1], dtype=rates.dtype))
    return jnp.where(nbr == np.arange(nbr.shape[0])[:, None], 0.0, rates)


def dense_rates(game: Game, rates: Array) -> Array:
    """``(..., d, d)`` rates from a game's rates (``(..., d, K)`` for neighbour games; dense unchanged).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> from bayes_mfg.equilibrium.dynamics import dense_rates
    >>> game = bm.games.NeighbourLinearQuadratic.ring(5, n_steps=10)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5)
    >>> eq.rates.shape, dense_rates(game, eq.rates).shape
    ((9, 5, 2), (9, 5, 5))
    """
    nbr = game.neighbours
    if nbr is None:
        return rates
    d, k = nbr.shape
    rates = off_diagonal(game, rates)
    flat = rates.reshape(-1, d * k)
    rows = np.repeat(np.arange(d), k)
    dense = jnp.zeros((flat.shape[0], d, d), dtype=rates.dtype).at[:, rows, nbr.ravel()].add(flat)
    return dense.reshape(*rates.shape[:-2], d, d)


def hjb(game: Game, mu: Array, params: Params) -> Array:
    """Backward sweep: the value path ``u`` (shape ``(N, d)``) given the mean-field path ``mu``.

    Parameters
    ----------
    game
        The game (costs, best response, grid, scheme).
    mu
        ``(N, d)`` mean-field path.
    params
        Parameter paths, as returned by ``game.params``.

    Returns
    -------
    jax.Array
        ``(N, d)`` value path, ``u[N - 1] = g(mu[N - 1])``.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> from bayes_mfg.equilibrium import dynamics
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> params, mu0 = game.params(gamma=1.55), jnp.array([0.5, 0.3, 0.2])
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> u = dynamics.hjb(game, eq.mu, params)
    >>> bool(jnp.allclose(u, eq.value))
    True
    """
    dt = game.dt
    nbr = game.neighbours
    u_last = game.terminal_cost(mu[-1], game.at_step(params, -1))

    def step(u_next, xs):
        mu_n, p_n = xs
        control = game.control(u_next, mu_n, p_n)
        if nbr is not None:  # (the dense generator ignores the diagonal itself)
            control = control._replace(rates=off_diagonal(game, control.rates))
        u_n = _backward_step(game.scheme, u_next, control, dt, nbr)
        return u_n, u_n

    head = {k: v[:-1] for k, v in params.items()}
    _, u_head = jax.lax.scan(step, u_last, (mu[:-1], head), reverse=True)
    return jnp.concatenate([u_head, u_last[None]], axis=0)


class ForwardSweep(NamedTuple):
    """Output of :func:`kolmogorov`.

    Attributes
    ----------
    mu
        ``(N, d)`` distribution path, ``mu[0] = mu0``.
    rates
        ``(N - 1, d, d)`` jump rates used on each step n -> n+1 (diagonal zero); for a game
        with ``neighbours`` (``(d, K)``), ``(N - 1, d, K)``: the rate of x -> neighbours[x, k].
    """

    mu: Array
    rates: Array


def kolmogorov(game: Game, u: Array, params: Params, mu0: Array) -> ForwardSweep:
    """Forward sweep: the distribution path driven by the best response to the value path ``u``.

    Parameters
    ----------
    game
        The game.
    u
        ``(N, d)`` value path.
    params
        Parameter paths, as returned by ``game.params``.
    mu0
        ``(d,)`` initial distribution.

    Returns
    -------
    ForwardSweep
        ``mu`` ``(N, d)`` and the ``rates`` ``(N - 1, d, d)`` used on each step.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> from bayes_mfg.equilibrium import dynamics
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> params, mu0 = game.params(gamma=1.55), jnp.array([0.5, 0.3, 0.2])
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> sweep = dynamics.kolmogorov(game, eq.value, params, mu0)
    >>> float(jnp.max(jnp.abs(sweep.mu - eq.mu))) < 1e-10  # at the equilibrium: a fixed point
    True
    """
    dt = game.dt
    nbr = game.neighbours

    def step(mu_n, xs):
        u_n, p_n = xs
        rates = off_diagonal(game, game.control(u_n, mu_n, p_n).rates)
        mu_next = _forward_step(game.scheme, mu_n, rates, dt, nbr)
        return mu_next, (mu_next, rates)

    head = {k: v[:-1] for k, v in params.items()}
    _, (mu_tail, rates) = jax.lax.scan(step, mu0, (u[:-1], head))
    return ForwardSweep(jnp.concatenate([mu0[None], mu_tail], axis=0), rates)


def best_response_map(game: MeanFieldGame, mu: Array, params: Params, mu0: Array) -> Array:
    """The map ``G(mu) = Kolmogorov(HJB(mu))`` whose fixed point is the equilibrium.

    For a :class:`~bayes_mfg.games.DiscreteTimeGame`: the flow under the soft best response,
    ``forward(softmax(Q(mu) / tau))`` (:mod:`bayes_mfg.equilibrium.discrete_time`).

    Parameters
    ----------
    game
        The game.
    mu
        ``(N, d)`` mean-field path the population best-responds to.
    params
        Parameter paths, as returned by ``game.params(...)``.
    mu0
        ``(d,)`` initial distribution.

    Returns
    -------
    Array
        ``(N, d)`` distribution path of the population playing the best response to ``mu``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> import jax.numpy as jnp
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> float(jnp.max(jnp.abs(bm.best_response_map(game, eq.mu, params, jnp.asarray(mu0)) - eq.mu))) < 1e-10
    True
    """
    if isinstance(game, DiscreteTimeGame):
        from bayes_mfg.equilibrium import discrete_time  # (it builds on this module)

        return discrete_time.best_response_map(game, mu, params, mu0)
    return kolmogorov(game, hjb(game, mu, params), params, mu0).mu


def max_jump_probability(game: Game, rates: Array) -> Array:
    """``dt * max_{n, x} sum_y a_n[x, y]``: explicit Euler stays on the simplex only if <= 1.

    Parameters
    ----------
    game
        The game (its ``dt``).
    rates
        ``(N - 1, d, d)`` jump rates (off-diagonal).

    Returns
    -------
    jax.Array
        The scalar stability number.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> from bayes_mfg.equilibrium import dynamics
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> params, mu0 = game.params(gamma=1.55), jnp.array([0.5, 0.3, 0.2])
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> float(dynamics.max_jump_probability(game, eq.rates)) == float(eq.info.max_jump_probability)
    True
    """
    return game.dt * jnp.max(jnp.sum(rates, axis=-1))
