"""The :class:`Neural` path: an equinox MLP of time and the observed shares."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro.contrib.module import eqx_module, random_eqx_module

from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int
from bayes_mfg.data import interpolate_in_time
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._base import LinkedPath
from bayes_mfg.paths._context import PathContext, check_context
from bayes_mfg.paths._support import as_shape, broadcast_path, freeze

__all__ = ["ACTIVATIONS", "FIELD_INPUTS", "NEURAL_INPUTS", "Neural", "NeuralField"]

Array = jax.Array

#: Activations accepted by name in :class:`Neural` (a callable is accepted as well).
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "sigmoid": jax.nn.sigmoid,
    "elu": jax.nn.elu,
}

NEURAL_INPUTS = ("t", "mu")

#: Inputs of :class:`NeuralField`: time, the state's coordinates, the observed moments.
FIELD_INPUTS = ("t", "x", "moments")


@dataclass(frozen=True)
class Neural(LinkedPath):
    """A trajectory-wise path ``gamma(t, mu_t)``: an equinox MLP of time and observed shares.

    For trajectory j at grid time t_n the network sees the features::

        [t_n / T]  (if "t" in inputs)  ++  mu_input[j, n, :]  (if "mu" in inputs)

    and outputs ``prod(spec.shape)`` numbers, reshaped to ``spec.shape`` and mapped by the
    link. With ``inputs=("t",)`` the path is the same for all trajectories.

    The network is an ``equinox.nn.MLP`` registered through :mod:`numpyro.contrib.module`:

    * ``bayesian=False``: ``eqx_module(f"{name}_net", net)``, one param site
      ``f"{name}_net$params"`` (the network's arrays, fitted by SVI / MAP);
    * ``bayesian=True``: ``random_eqx_module(f"{name}_net", net, prior)``: a sample site per
      weight array, ``f"{name}_net/layers[i].weight"`` and ``.../layers[i].bias`` with
      ``Normal(0, prior_scale)`` priors (the last bias centred on ``inverse_link(init_value)``
      when ``init_value`` is given), plus the unused param site above.

    The eager network is built once per input/output size and parameter spec,
    deterministically from ``seed`` (also when the model is traced by ``jit``).

    Parameters
    ----------
    inputs
        Non-empty subset of ``("t", "mu")``.
    hidden
        Hidden layer widths, all equal (``eqx.nn.MLP`` has one width); ``()`` is a linear map.
    activation
        Name in :data:`ACTIVATIONS` or a callable.
    link, floor
        See the module docstring.
    bayesian, prior_scale
        Bayesian weights with ``Normal(0, prior_scale)`` priors.
    init_value
        If given (parameter scale, broadcasting to ``spec.shape``), the last layer's bias is
        set to ``inverse_link(init_value)`` and its weights scaled by ``init_weight_scale``,
        so the initial path is nearly flat at ``init_value``.
    seed
        Seed of the initial weights.
    init_weight_scale
        Factor on the last layer's initial weights when ``init_value`` is given.
    covariates
        Optional ``(N, K)`` known covariates on the game's time grid (policies, vaccination),
        appended to the features at every time (the same for all trajectories).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> path = bm.paths.Neural(inputs=("t", "mu"), hidden=(16, 16), init_value=1.0)  # a point network (SVI)
    >>> path.uses_mu_input
    True
    """

    inputs: tuple[str, ...] = ("t", "mu")
    hidden: tuple[int, ...] = (16, 16)
    activation: str | Callable[[Array], Array] = "tanh"
    link: str = "auto"
    floor: float = 1e-3
    bayesian: bool = False
    prior_scale: float = 1.0
    init_value: Any = None
    seed: int = 0
    init_weight_scale: float = 0.1
    covariates: Any = None
    _nets: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    #: The input names this path accepts.
    allowed_inputs: ClassVar[tuple[str, ...]] = NEURAL_INPUTS

    def __post_init__(self) -> None:
        allowed = self.allowed_inputs
        inputs = (self.inputs,) if isinstance(self.inputs, str) else self.inputs
        try:
            inputs = tuple(inputs)
        except TypeError:
            raise TypeError(f"inputs must be a tuple of names from {allowed}, got {self.inputs!r}") from None
        if not inputs:
            raise ValueError(f"inputs must be a non-empty subset of {allowed}, got {self.inputs!r}")
        bad = [x for x in inputs if x not in allowed]
        if bad or len(set(inputs)) != len(inputs):
            raise ValueError(f"inputs must be distinct names from {allowed}, got {self.inputs!r}")
        object.__setattr__(self, "inputs", inputs)
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise TypeError(f"hidden must be a tuple of layer widths, got {self.hidden!r}") from None
        for h in hidden:
            check_positive_int("hidden", h)
        if len(set(hidden)) > 1:
            raise ValueError(f"hidden widths must all be equal (equinox.nn.MLP has one width), got {hidden}")
        object.__setattr__(self, "hidden", hidden)
        if self.covariates is not None:
            z = np.asarray(self.covariates, dtype=np.float64)
            z = z[:, None] if z.ndim == 1 else z
            if z.ndim != 2 or z.shape[0] < 2 or not np.all(np.isfinite(z)):
                raise ValueError("covariates must be finite values of shape (N, K) on the game's time grid "
                                 f"(or (N,) for one), got shape {np.shape(self.covariates)}")
            object.__setattr__(self, "covariates", freeze(z, "covariates"))
        if isinstance(self.activation, str):
            check_choice("activation", self.activation, tuple(ACTIVATIONS))
        elif not callable(self.activation):
            raise TypeError(f"activation must be a name in {tuple(ACTIVATIONS)} or a callable, got {self.activation!r}")
        self._check_link_fields()
        if not isinstance(self.bayesian, (bool, np.bool_)):
            raise TypeError(f"bayesian must be a bool, got {type(self.bayesian).__name__}")
        object.__setattr__(self, "prior_scale", check_positive_float("prior_scale", self.prior_scale))
        if self.init_value is not None:
            object.__setattr__(self, "init_value", freeze(self.init_value, "init_value"))
        check_positive_int("seed", self.seed, minimum=0)
        scale = check_positive_float("init_weight_scale", self.init_weight_scale, allow_zero=True)
        object.__setattr__(self, "init_weight_scale", scale)

    # ------------------------------------------------------------------ network
    def _activation_fn(self) -> Callable[[Array], Array]:
        return ACTIVATIONS[self.activation] if isinstance(self.activation, str) else self.activation

    def _init_eta(self, spec: ParameterSpec, out_size: int) -> np.ndarray | None:
        if self.init_value is None:
            return None
        value = as_shape(self.init_value, tuple(spec.shape), "init_value")
        return np.asarray(self.inverse_link(value, spec, argname="init_value")).reshape(out_size)

    def out_size(self, spec: ParameterSpec) -> int:
        """Numbers the network outputs per input row."""
        return max(1, math.prod(spec.shape))

    def network(self, in_size: int, spec: ParameterSpec) -> eqx.nn.MLP:
        """The eager (initial) network for ``in_size`` features and ``spec`` (cached)."""
        out_size = self.out_size(spec)
        key = (in_size, out_size, tuple(spec.shape), spec.lower)
        net = self._nets.get(key)
        if net is None:
            # built eagerly even inside a jit trace, so the cache never holds tracers
            with jax.ensure_compile_time_eval():
                net = eqx.nn.MLP(
                    in_size,
                    out_size,
                    self.hidden[0] if self.hidden else 1,
                    len(self.hidden),
                    activation=self._activation_fn(),
                    key=jax.random.key(self.seed),
                )
                eta0 = self._init_eta(spec, out_size)
                if eta0 is not None:
                    last = net.layers[-1]
                    net = eqx.tree_at(
                        lambda m: (m.layers[-1].weight, m.layers[-1].bias),
                        net,
                        (last.weight * self.init_weight_scale, jnp.asarray(eta0, dtype=last.bias.dtype)),
                    )
            self._nets[key] = net
        return net

    def _prior(self, net: eqx.nn.MLP, spec: ParameterSpec) -> Any:
        base = dist.Normal(0.0, self.prior_scale)
        eta0 = self._init_eta(spec, int(net.layers[-1].bias.shape[0]))
        if eta0 is None:
            return base
        last_bias = f"layers[{len(net.layers) - 1}].bias"

        def prior(site: str, shape: tuple[int, ...]) -> dist.Distribution:
            if site == last_bias:
                return dist.Normal(jnp.asarray(eta0), self.prior_scale)
            return base

        return prior

    def _module(self, name: str, net0: eqx.nn.MLP, spec: ParameterSpec) -> Any:
        """The network's NumPyro sites: Bayesian weights or one param site (see the class docstring)."""
        if self.bayesian:
            return random_eqx_module(f"{name}_net", net0, prior=self._prior(net0, spec))
        return eqx_module(f"{name}_net", net0)

    @property
    def uses_mu_input(self) -> bool:
        return "mu" in self.inputs

    @property
    def varies_by_trajectory(self) -> bool:
        """True when the network reads the observed shares (they differ between trajectories)."""
        return self.uses_mu_input

    def check(self, name: str, spec: ParameterSpec, game: Any) -> None:
        """Refuse covariates that are not on the game's time grid (before any solve)."""
        if self.covariates is not None and len(self.covariates) != game.n_times:
            raise ValueError(f"covariates of {name!r} have {len(self.covariates)} time points but the game's grid "
                             f"has {game.n_times} (give them on game.time_grid)")

    def features(self, ctx: PathContext) -> Array:
        """``(n_traj, N, n_features)`` network inputs, or ``(N, 1)`` when only time is used."""
        ctx = check_context(ctx)
        t = jnp.asarray(ctx.times) / ctx.horizon
        if self.covariates is not None:
            z = jnp.asarray(np.asarray(self.covariates), dtype=t.dtype)
            if z.shape[0] != t.shape[0]:
                raise ValueError(f"covariates have {z.shape[0]} time points but the game's grid has {t.shape[0]}")
            base = self._features_of(ctx, t)
            z = jnp.broadcast_to(z, (*base.shape[:-1], z.shape[-1]))
            return jnp.concatenate([base, z], axis=-1)
        return self._features_of(ctx, t)

    def _features_of(self, ctx: PathContext, t: Array) -> Array:
        if "mu" not in self.inputs:
            return t[:, None]
        if ctx.mu_input is None:
            raise ValueError('ctx.mu_input is None but this Neural path has "mu" in its inputs')
        mu = jnp.asarray(ctx.mu_input)
        if "t" not in self.inputs:
            return mu
        tt = jnp.broadcast_to(t[None, :, None], (*mu.shape[:2], 1)).astype(mu.dtype)
        return jnp.concatenate([tt, mu], axis=-1)

    # ------------------------------------------------------------------ model
    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = check_context(ctx)
        shape = tuple(spec.shape)
        x = self.features(ctx)
        in_size = int(x.shape[-1])
        net = self._module(name, self.network(in_size, spec), spec)
        flat = x.reshape(-1, in_size)
        eta = jax.vmap(net)(flat).reshape(*x.shape[:-1], *shape)
        values = self.apply_link(eta, spec)
        return broadcast_path(values, ctx.n_trajectories, ctx.times.shape[0], shape)

    def on_time_grid(self, old_grid: Any, new_grid: Any) -> Neural:
        """The covariates (if any) interpolated linearly onto ``new_grid``; the same network."""
        if self.covariates is None:
            return self
        z = interpolate_in_time(np.asarray(self.covariates), old_grid, new_grid, axis=0)
        return dataclasses.replace(self, covariates=z)

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        return {}


@dataclass(frozen=True)
class NeuralField(Neural):
    """A state-shared neural field ``theta(t, x, s(mu_t))``: one network at every grid point.

    For a parameter with one value per state (``spec.shape == (d,)``, or ``(d, m)``), the
    value at state ``x`` and grid time ``t_n`` is the network applied to the features::

        [t_n / T] (if "t")  ++  z(x) (if "x")  ++  [mean_n, sd_n] (if "moments")

    where ``z(x)`` are the state's coordinates scaled to [0, 1] per axis and ``mean_n``,
    ``sd_n`` the mean and standard deviation of the observed distribution at ``t_n``
    (per axis, scaled like ``z``; from the data's shares, so only when the data's columns
    are the states). The same network serves every state: the field is exchangeable across
    agents (an agent's drift or cost depends on where it is, not on who it is), the correct
    form of an agent-level neural drift. With ``inputs=("t", "x")`` the field is shared by
    all trajectories.

    Typical uses: ``cost_residual`` of a :class:`~bayes_mfg.games.GridGame` (the game plus
    a learned residual running cost ``r(t, x)``) and ``drift`` of
    :class:`~bayes_mfg.games.GridDynamics` (a neural Fokker–Planck baseline).

    Parameters
    ----------
    points
        ``(d, n_dim)`` (or ``(d,)``) coordinates of the states, e.g. ``game.points``
        (required, by keyword).
    inputs
        Non-empty subset of :data:`FIELD_INPUTS` (default ``("t", "x")``).
    hidden, activation, link, floor, bayesian, prior_scale, init_value, seed, init_weight_scale
        As for :class:`Neural` (``init_value`` is one value per output, broadcast over states).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.GridDynamics(grid=bm.games.Grid.interval(11), sigma=0.1, n_times=5)
    >>> drift = bm.paths.NeuralField(points=game.points, hidden=(8,), bayesian=True)
    >>> spec = game.parameter_specs()["drift"]
    >>> ctx = bm.paths.PathContext.from_game(game, n_trajectories=2)
    >>> import numpyro
    >>> with numpyro.handlers.seed(rng_seed=0):
    ...     value = drift("drift", spec, ctx)
    >>> value.shape   # (trajectories, time steps, states)
    (2, 5, 11)
    """

    points: Any = None
    inputs: tuple[str, ...] = ("t", "x")

    allowed_inputs: ClassVar[tuple[str, ...]] = FIELD_INPUTS

    def __post_init__(self) -> None:
        if self.covariates is not None:
            raise ValueError("covariates: NeuralField does not take covariates (use Neural, or a Regression path)")
        if self.points is None:
            raise ValueError("points is required: the (d, n_dim) coordinates of the states (e.g. game.points)")
        try:
            pts = np.array(self.points, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"points must be a numeric (d, n_dim) array, got {type(self.points).__name__}") from None
        if pts.ndim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[0] < 2 or not np.all(np.isfinite(pts)):
            raise ValueError(f"points must be a finite (d, n_dim) array with d >= 2, got shape {np.shape(self.points)}")
        pts.setflags(write=False)
        object.__setattr__(self, "points", pts)
        super().__post_init__()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    @property
    def uses_mu_input(self) -> bool:
        return "moments" in self.inputs

    def out_size(self, spec: ParameterSpec) -> int:
        return max(1, math.prod(spec.shape[1:]))

    def _init_eta(self, spec: ParameterSpec, out_size: int) -> np.ndarray | None:
        if self.init_value is None:
            return None
        value = as_shape(self.init_value, tuple(spec.shape), "init_value")
        eta = np.asarray(self.inverse_link(value, spec, argname="init_value"))
        if not np.allclose(eta, eta[:1]):
            raise ValueError("init_value must be the same at every state (one network, one last bias)")
        return eta[0].reshape(out_size)

    def _scaled(self, x: Array) -> Array:
        lo, hi = self.points.min(0), self.points.max(0)
        return (x - jnp.asarray(lo)) / jnp.asarray(np.where(hi > lo, hi - lo, 1.0))

    def features(self, ctx: PathContext) -> Array:
        """``(n_traj or 1, N, d, n_features)`` network inputs."""
        ctx = check_context(ctx)
        d = self.points.shape[0]
        n = ctx.times.shape[0]
        parts = []
        dtype = jnp.result_type(float)
        if "t" in self.inputs:
            t = (jnp.asarray(ctx.times) / ctx.horizon).astype(dtype)
            parts.append(jnp.broadcast_to(t[None, :, None, None], (1, n, d, 1)))
        if "x" in self.inputs:
            z = self._scaled(jnp.asarray(self.points, dtype=dtype))
            parts.append(jnp.broadcast_to(z[None, None], (1, n, d, z.shape[-1])))
        if "moments" in self.inputs:
            if ctx.mu_input is None:
                raise ValueError('ctx.mu_input is None but this NeuralField has "moments" in its inputs')
            mu = jnp.asarray(ctx.mu_input, dtype=dtype)
            if mu.shape[-1] != d:
                raise ValueError(f"the observed shares have {mu.shape[-1]} states but points has {d}")
            x = self._scaled(jnp.asarray(self.points, dtype=dtype))
            mass = jnp.maximum(mu.sum(-1, keepdims=True), 1e-300)
            mean = (mu @ x) / mass
            sd = jnp.sqrt(jnp.maximum((mu @ x**2) / mass - mean**2, 0.0))
            m = jnp.concatenate([mean, sd], axis=-1)[:, :, None, :]
            parts.append(jnp.broadcast_to(m, (*mu.shape[:2], d, m.shape[-1])))
        rows = max(p.shape[0] for p in parts)
        return jnp.concatenate([jnp.broadcast_to(p, (rows, n, d, p.shape[-1])) for p in parts], axis=-1)

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = check_context(ctx)
        shape = tuple(spec.shape)
        d = self.points.shape[0]
        if len(shape) < 1 or shape[0] != d:
            raise ValueError(f"NeuralField for {name!r}: the parameter must have one value per state "
                             f"(shape ({d}, ...)), got shape {shape}")
        x = self.features(ctx)
        in_size = int(x.shape[-1])
        net = self._module(name, self.network(in_size, spec), spec)
        eta = jax.vmap(net)(x.reshape(-1, in_size)).reshape(*x.shape[:-1], *shape[1:])
        values = self.apply_link(eta, spec)
        return broadcast_path(values, ctx.n_trajectories, ctx.times.shape[0], shape)
