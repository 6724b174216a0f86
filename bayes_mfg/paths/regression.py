"""The :class:`Regression` path: a parameter driven by known covariates (policies, vaccination)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayes_mfg._validation import check_positive_float
from bayes_mfg.data import interpolate_in_time
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._base import LinkedPath
from bayes_mfg.paths._context import PathContext, check_context
from bayes_mfg.paths._support import as_shape, broadcast_path, freeze
from bayes_mfg.paths.spline import TimeSpline

__all__ = ["Regression"]

Array = jax.Array


def _covariate_array(covariates: Any) -> np.ndarray:
    z = np.asarray(covariates, dtype=np.float64)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim not in (2, 3) or z.shape[-1] < 1 or z.shape[-2] < 2:
        raise ValueError("covariates must have shape (N, K) (one value per time point of the game's grid and "
                         "covariate), (N,) for one covariate, or (n_traj, N, K) per trajectory; got shape "
                         f"{np.shape(covariates)}")
    if not np.all(np.isfinite(z)):
        raise ValueError("covariates must be finite (fill or interpolate missing values before the fit)")
    return z


@dataclass(frozen=True, eq=False)
class Regression(LinkedPath):
    """A scalar parameter path driven by known covariates, with an optional smooth residual in time.

    Model, on the link scale (``log`` for a positive parameter with ``link="exp"``)::

        eta(t)   = b + sum_k w_k z_k(t) + s(t)
        w_k      ~ Normal(0, effect_scale)                (site f"{name}_effects", (K,))
        b        ~ Normal(loc, scale)                     (site f"{name}_intercept"; none with a residual)
        s(t)     = a TimeSpline's eta (sites f"{name}_residual_*"), or 0
        value(t) = link(eta(t))

    ``z_k(t)`` are known covariates on the game's time grid (a state of emergency as 0/1, the
    vaccinated share, a stringency index): ``exp(w_k)`` is the factor by which the parameter
    changes when ``z_k`` grows by 1 (with ``link="exp"``). The effects are *associational*:
    a policy introduced when cases were already falling gets the credit for the fall unless
    the model explains the fall otherwise, and a smooth residual ``s(t)`` (variants,
    seasons, behaviour) competes with slowly varying covariates. Centre and scale the
    covariates so that ``effect_scale`` means the same for each.

    With a ``residual`` the spline's first coefficient is the intercept (its ``loc`` and
    ``scale``, or :meth:`TimeSpline.around`); without one, ``b ~ Normal(loc, scale)``.

    Parameters
    ----------
    covariates
        ``(N, K)`` values on the game's time grid (``game.time_grid``; ``(N,)`` for one
        covariate) shared by all trajectories, or ``(n_traj, N, K)`` per trajectory.
    names
        Labels of the ``K`` covariates (default ``z0, z1, ...``), the coordinates of
        ``f"{name}_effects"`` in ArviZ output.
    effect_scale
        Prior sd of every effect ``w_k`` (on the link scale).
    residual
        A :class:`~bayes_mfg.paths.TimeSpline` added on the link scale, or None.
    link, floor
        Link to the parameter's scale and the margin kept above a lower bound (see
        :mod:`bayes_mfg.paths`).
    loc, scale, center
        Prior of the intercept ``b`` (without a residual): ``Normal(loc, scale)``, or centred
        at ``inverse_link(center)`` for a value on the parameter's scale.

    Examples
    --------
    A transmission rate lowered by a state of emergency (0/1) on a 30-day grid:

    >>> import numpy as np, numpyro.distributions as dist, bayes_mfg as bm
    >>> game = bm.games.SIR(horizon=30.0, n_times=31)
    >>> emergency = (game.time_grid >= 10).astype(float)
    >>> beta = bm.paths.Regression(emergency, names=("emergency",), link="exp", center=0.5)
    >>> model = bm.CalibrationModel(game, {"beta": beta, "gamma": dist.LogNormal(-1.6, 0.2)},
    ...                             bm.observe.Poisson(exposure=1e4), readout=bm.observe.Transitions([(0, 1)]),
    ...                             mu0_source="data", fixed={"c_infected": 0.0})
    >>> sorted(k for k in model.site_dims() if k.startswith("beta"))
    ['beta_effects', 'beta_intercept', 'beta_path']
    """

    covariates: Any
    names: Sequence[str] | None = None
    effect_scale: float = 0.5
    residual: TimeSpline | None = None
    link: str = "auto"
    floor: float = 1e-3
    loc: float = 0.0
    scale: float = 1.0
    center: Any = None

    def __post_init__(self) -> None:
        z = _covariate_array(self.covariates)
        z.setflags(write=False)
        object.__setattr__(self, "covariates", z)
        k = z.shape[-1]
        names = tuple(f"z{i}" for i in range(k)) if self.names is None else tuple(self.names)
        if len(names) != k or not all(isinstance(n, str) and n for n in names) or len(set(names)) != k:
            raise ValueError(f"names must be {k} distinct non-empty strings (one per covariate), got {self.names!r}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "effect_scale", check_positive_float("effect_scale", self.effect_scale))
        if self.residual is not None and not isinstance(self.residual, TimeSpline):
            raise TypeError(f"residual must be a bayes_mfg.paths.TimeSpline or None, got {type(self.residual).__name__}")
        self._check_link_fields()
        if self.residual is not None and self.residual.link != self.link:
            raise ValueError(f"residual.link ({self.residual.link!r}) must be the Regression's link ({self.link!r}): "
                             "the residual is added on the link scale and its prior centred there")
        object.__setattr__(self, "loc", float(freeze(self.loc, "loc")))
        object.__setattr__(self, "scale", check_positive_float("scale", self.scale))
        if self.center is not None:
            if self.residual is not None:
                raise ValueError("center sets the intercept's prior; with a residual, centre the TimeSpline instead "
                                 "(TimeSpline.around(value, ...))")
            object.__setattr__(self, "center", float(freeze(self.center, "center")))

    @property
    def n_covariates(self) -> int:
        return self.covariates.shape[-1]

    def check(self, name: str, spec: ParameterSpec, game: Any) -> None:
        """Refuse a non-scalar parameter, or covariates not on the game's grid (before any solve)."""
        self._check_times(name, spec, game.n_times)

    def _check_times(self, name: str, spec: ParameterSpec, n_times: int) -> None:
        if tuple(spec.shape) != ():
            raise ValueError(f"{name}: Regression drives scalar parameters, this one has shape {spec.shape}")
        if self.covariates.shape[-2] != n_times:
            raise ValueError(f"covariates of {name!r} have {self.covariates.shape[-2]} time points but the game's "
                             f"grid has {n_times} (give them on game.time_grid)")

    def intercept_loc(self, spec: ParameterSpec) -> float:
        if self.center is None:
            return self.loc
        return float(np.asarray(self.inverse_link(as_shape(self.center, (), "center"), spec, argname="center")))

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = check_context(ctx)
        n_times = ctx.times.shape[0]
        self._check_times(name, spec, n_times)
        z = jnp.asarray(self.covariates, dtype=ctx.times.dtype)
        if z.ndim == 3 and z.shape[0] != ctx.n_trajectories:
            raise ValueError(f"covariates of {name!r} are per trajectory for {z.shape[0]} trajectories but the data "
                             f"have {ctx.n_trajectories}")
        w = numpyro.sample(f"{name}_effects", dist.Normal(0.0, self.effect_scale).expand([self.n_covariates]).to_event(1))
        eta = z @ w  # (N,) or (n_traj, N)
        if self.residual is None:
            b = numpyro.sample(f"{name}_intercept", dist.Normal(self.intercept_loc(spec), self.scale))
            eta = eta + b
        else:
            weights = self.residual.sample_weights(f"{name}_residual", spec)
            eta = eta + jnp.tensordot(self.residual.basis(ctx), weights, axes=1)
        return broadcast_path(self.apply_link(eta, spec), ctx.n_trajectories, n_times, ())

    @property
    def varies_by_trajectory(self) -> bool:
        """True for per-trajectory covariates ``(n_traj, N, k)``."""
        return self.covariates.ndim == 3

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {f"{name}_effects": (f"{name}_covariate",)}
        if self.residual is None:
            out[f"{name}_intercept"] = ()
        else:
            out.update(self.residual.site_dims(f"{name}_residual", spec))
        return out

    def on_time_grid(self, old_grid: Any, new_grid: Any) -> Regression:
        """The covariates interpolated linearly onto ``new_grid``."""
        z = interpolate_in_time(self.covariates, old_grid, new_grid, axis=-2)
        return dataclasses.replace(self, covariates=z)

    def coords(self, name: str) -> dict[str, list[str]]:
        """``{f"{name}_covariate": names}``: the effects labelled by covariate."""
        return {f"{name}_covariate": list(self.names)}
