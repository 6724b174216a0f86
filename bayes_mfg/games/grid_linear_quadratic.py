"""The 1-D linear-quadratic mean field game on a grid, and its Gaussian equilibrium in closed form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import jax.numpy as jnp
import numpy as np

from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.grid import GridGame

__all__ = ["GridLinearQuadratic", "gaussian_equilibrium"]


@dataclass(frozen=True, kw_only=True)
class GridLinearQuadratic(GridGame):
    """Agents on a line pulled towards a target that moves with the crowd's mean.

    With ``m_t`` the mean of ``mu_t`` and ``z_t = coupling * m_t + (1 - coupling) * target``::

        F(x, mu_t) = (state_weight / 2) (x - z_t)^2
        g(x, mu_T) = (terminal_weight / 2) (x - z_T)^2

    and the control cost ``(control_weight / 2) v^2`` of :class:`~bayes_mfg.games.GridGame`.
    On the real line with a Gaussian initial law the equilibrium is Gaussian, with mean and
    variance given by Riccati equations (:func:`gaussian_equilibrium`); on a grid wide
    enough for the walls not to matter, the grid equilibrium converges to it as ``h`` and
    ``dt`` shrink (first order: the upwind drift).

    Parameters
    ----------
    grid
        A 1-D :class:`~bayes_mfg.games.Grid` (an interval).
    sigma, horizon, n_times, scheme
        As in :class:`~bayes_mfg.games.GridGame`.

    Examples
    --------
    >>> import numpy as np, bayes_mfg as bm
    >>> game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(101, -2.0, 2.0), sigma=0.3, n_times=21)
    >>> x = game.points[:, 0]
    >>> mu0 = np.exp(-(x - 0.5) ** 2 / (2 * 0.2**2)); mu0 /= mu0.sum()
    >>> eq = bm.equilibrium(game, {}, mu0)
    >>> mean, var = game.grid.moments(eq.mu[-1])
    >>> bool(eq.converged), round(float(mean[0]), 2)
    (True, 0.29)
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.grid.n_dim != 1 or self.grid.periodic[0]:
            raise ValueError("GridLinearQuadratic needs a 1-D interval grid (Grid.interval)")

    def cost_specs(self) -> dict[str, ParameterSpec]:
        return {
            "state_weight": ParameterSpec((), 1.0, 0.0, "q: weight of (x - z_t)^2 / 2 in the running cost",
                                          lower_closed=True),
            "terminal_weight": ParameterSpec((), 1.0, 0.0, "q_T: weight of (x - z_T)^2 / 2 at the horizon",
                                             lower_closed=True),
            "target": ParameterSpec((), 0.0, None, "a: the fixed part of the target"),
            "coupling": ParameterSpec((), 0.5, None, "s: weight of the crowd's mean in the target"),
        }

    def _target(self, mu: Array, p: Params) -> Array:
        mean = mu @ jnp.asarray(self.points[:, 0], dtype=mu.dtype) / jnp.sum(mu)
        return p["coupling"] * mean + (1.0 - p["coupling"]) * p["target"]

    def running_cost(self, mu: Array, p: Params) -> Array:
        x = jnp.asarray(self.points[:, 0], dtype=mu.dtype)
        return 0.5 * p["state_weight"] * (x - self._target(mu, p)) ** 2

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        x = jnp.asarray(self.points[:, 0], dtype=mu.dtype)
        return 0.5 * p["terminal_weight"] * (x - self._target(mu, p)) ** 2


def gaussian_equilibrium(params: Mapping[str, Any], sigma: float, horizon: float, mean0: float, var0: float,
                         times: Any, *, rtol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the equilibrium of the linear-quadratic game on the real line.

    With ``kappa``, ``q``, ``q_T``, ``a``, ``s`` the control, state and terminal weights, the
    target and the coupling of :class:`GridLinearQuadratic`, the value is
    ``u(t, x) = P_t x^2 / 2 + r_t x + c_t`` and the feedback ``v = -(P_t x + r_t) / kappa``:

        -P' = q - P^2 / kappa,                 P_T = q_T
        -r' = -P r / kappa - q z_t,            r_T = -q_T z_T,      z_t = s m_t + (1 - s) a
         m' = -(P m + r) / kappa,              m_0 = mean0
         S' = -2 P S / kappa + sigma^2,        S_0 = var0

    ``P`` in closed form (``beta = sqrt(q kappa)``, ``k = sqrt(q / kappa)``, ``tau = T - t``):
    ``P = beta (q_T + beta tanh(k tau)) / (beta + q_T tanh(k tau))``; the linear two-point
    problem for ``(m, r)`` by shooting on ``r_0`` (exact: it is linear) and the ODEs by
    SciPy's DOP853 at tolerance ``rtol``. Constant parameters only; ``q > 0``.

    Parameters
    ----------
    params
        ``control_weight``, ``state_weight``, ``terminal_weight``, ``target``, ``coupling``
        (scalars; missing ones take :class:`GridLinearQuadratic`'s defaults).
    sigma, horizon
        Diffusion coefficient and T.
    mean0, var0
        The initial Gaussian law.
    times
        Times in ``[0, T]`` at which to report.
    rtol
        ODE tolerance.

    Returns
    -------
    (mean, variance)
        Two arrays of the shape of ``times``.

    Examples
    --------
    Without coupling and with ``q_T = sqrt(q kappa)`` the Riccati solution is constant and
    the variance relaxes to ``sigma^2 kappa / (2 P)``:

    >>> from bayes_mfg.games import gaussian_equilibrium
    >>> m, v = gaussian_equilibrium({"coupling": 0.0, "terminal_weight": 1.0}, 0.3, 50.0, 1.0, 0.1, [50.0])
    >>> round(float(m[0]), 8), round(float(v[0]), 8)
    (0.0, 0.045)
    """
    from scipy.integrate import solve_ivp

    defaults = {"control_weight": 1.0, "state_weight": 1.0, "terminal_weight": 1.0, "target": 0.0, "coupling": 0.5}
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"params: unknown parameter(s) {unknown}; expected {sorted(defaults)}")
    p = {k: float(np.asarray(params.get(k, v))) for k, v in defaults.items()}
    kappa, q, q_t, a, s = (p[k] for k in ("control_weight", "state_weight", "terminal_weight", "target", "coupling"))
    if kappa <= 0 or q <= 0:
        raise ValueError(f"control_weight and state_weight must be > 0, got {kappa} and {q}")
    beta, k = np.sqrt(q * kappa), np.sqrt(q / kappa)

    def riccati(t):
        th = np.tanh(k * (horizon - t))
        return beta * (q_t + beta * th) / (beta + q_t * th)

    def rhs(t, y):
        m, r, var = y
        pt = riccati(t)
        z = s * m + (1.0 - s) * a
        return [-(pt * m + r) / kappa, pt * r / kappa + q * z, -2.0 * pt * var / kappa + sigma**2]

    times = np.asarray(times, dtype=float)

    def shoot(r0):
        return solve_ivp(rhs, (0.0, horizon), [mean0, r0, var0], method="DOP853", rtol=rtol, atol=rtol * 1e-2,
                         dense_output=True)

    def miss(sol):
        m_t, r_t, _ = sol.y[:, -1]
        return r_t + q_t * (s * m_t + (1.0 - s) * a)

    s0, s1 = shoot(0.0), shoot(1.0)
    r0 = -miss(s0) / (miss(s1) - miss(s0))  # the miss is affine in r0
    sol = shoot(r0)
    y = sol.sol(times.ravel())
    return y[0].reshape(times.shape), y[2].reshape(times.shape)
