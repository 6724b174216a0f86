"""The :class:`Neural` path: an equinox MLP of time and the observed shares."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro.contrib.module import eqx_module, random_eqx_module

from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._base import LinkedPath
from bayes_mfg.paths._context import PathContext, check_context
from bayes_mfg.paths._support import as_shape, broadcast_path, freeze

__all__ = ["ACTIVATIONS", "NEURAL_INPUTS", "Neural"]

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
    _nets: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs = (self.inputs,) if isinstance(self.inputs, str) else self.inputs
        try:
            inputs = tuple(inputs)
        except TypeError:
            raise TypeError(f"inputs must be a tuple of names from {NEURAL_INPUTS}, got {self.inputs!r}") from None
        if not inputs:
            raise ValueError(f"inputs must be a non-empty subset of {NEURAL_INPUTS}, got {self.inputs!r}")
        bad = [x for x in inputs if x not in NEURAL_INPUTS]
        if bad or len(set(inputs)) != len(inputs):
            raise ValueError(f"inputs must be distinct names from {NEURAL_INPUTS}, got {self.inputs!r}")
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

    def network(self, in_size: int, spec: ParameterSpec) -> eqx.nn.MLP:
        """The eager (initial) network for ``in_size`` features and ``spec`` (cached)."""
        out_size = max(1, math.prod(spec.shape))
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

    @property
    def uses_mu_input(self) -> bool:
        return "mu" in self.inputs

    def features(self, ctx: PathContext) -> Array:
        """``(n_traj, N, n_features)`` network inputs, or ``(N, 1)`` when only time is used."""
        ctx = check_context(ctx)
        t = jnp.asarray(ctx.times) / ctx.horizon
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
        net0 = self.network(in_size, spec)
        if self.bayesian:
            net = random_eqx_module(f"{name}_net", net0, prior=self._prior(net0, spec))
        else:
            net = eqx_module(f"{name}_net", net0)
        flat = x.reshape(-1, in_size)
        eta = jax.vmap(net)(flat).reshape(*x.shape[:-1], *shape)
        values = self.apply_link(eta, spec)
        return broadcast_path(values, ctx.n_trajectories, ctx.times.shape[0], shape)

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        return {}
