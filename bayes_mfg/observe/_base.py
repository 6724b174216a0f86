"""The :class:`ObservationModel` base class and the checks of its fields."""

from __future__ import annotations

import abc
import numbers
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayes_mfg._validation import check_positive_float, is_concrete
from bayes_mfg.data import Observations
from bayes_mfg.observe._arrays import float_array, nonneg

__all__ = ["MODELS_FOR_KIND", "ObservationModel", "check_floor", "check_param", "check_total_count"]

Array = jax.Array

#: Which observation models accept which data kind (used in error messages).
MODELS_FOR_KIND = {
    "fractions": "Dirichlet or LogisticNormal",
    "counts": "Multinomial, Binomial, Poisson, NegativeBinomial or Arrivals",
    "values": "Normal",
}


def check_param(model: str, field: str, value: Any) -> float | dist.Distribution:
    """A known positive float, or a scalar prior with non-negative continuous support."""
    where = f"{model}.{field}"
    if isinstance(value, dist.Distribution):
        if value.batch_shape != () or value.event_shape != ():
            raise ValueError(
                f"{where}: a prior must be a scalar distribution (batch_shape () and event_shape ()), "
                f"got batch_shape {value.batch_shape} and event_shape {value.event_shape}"
            )
        lower = getattr(value.support, "lower_bound", None)
        if value.is_discrete or lower is None or not bool(np.all(np.asarray(lower) >= 0)):
            raise ValueError(
                f"{where}: a prior must be continuous with support in (0, inf) (e.g. LogNormal, Gamma, "
                f"HalfNormal), got {type(value).__name__} with support {value.support}"
            )
        return value
    if isinstance(value, bool) or not (
        isinstance(value, numbers.Real) or (np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number))
    ):
        raise TypeError(
            f"{where} must be a positive float (known) or a numpyro Distribution (a prior), "
            f"got {type(value).__name__} {value!r}"
        )
    try:
        return check_positive_float(where, value)
    except TypeError:  # complex numbers and the like
        raise TypeError(f"{where} must be a real number or a numpyro Distribution, got {value!r}") from None


def check_floor(model: str, field: str, value: Any) -> float:
    where = f"{model}.{field}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where} must be a positive float, got {type(value).__name__} {value!r}")
    return check_positive_float(where, value)


def check_total_count(where: str, value: Any) -> int | Array | np.ndarray:
    """Non-negative integer number(s) of trials (value checks only when concrete)."""
    if isinstance(value, bool):
        raise TypeError(f"{where} must be a non-negative int or an integer array, got bool")
    if isinstance(value, numbers.Integral):
        if value < 0:
            raise ValueError(f"{where} must be >= 0, got {value}")
        return int(value)
    if isinstance(value, jax.Array) and not is_concrete(value):
        return value
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a non-negative int or an integer array, got {type(value).__name__}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{where} must hold non-negative integers, got {value!r}")
    return arr


class ObservationModel(abc.ABC):
    """Base class of the observation models (noise models from equilibrium shares to data).

    Subclasses are frozen dataclasses that set ``kind`` (the data kind they accept),
    ``param_fields`` (the fields that may be known floats or priors), ``needs`` (what the
    predicted quantities must be: ``"shares"``, rows on the simplex, for the compositional
    models; ``"hazards"`` for entry counts; ``"probabilities"``, ``"nonnegative"`` or
    ``"real"`` for the models of independent entries, see :mod:`bayes_mfg.observe.readouts`)
    and implement :meth:`_make`.

    Calling a model declares the NumPyro sites of one observation (see :meth:`__call__`);
    :meth:`distribution` builds the distribution of the data site without declaring any
    site (to evaluate log-likelihoods or simulate outside a model).

    Examples
    --------
    Every model of this module subclasses it:

    >>> import bayes_mfg as bm
    >>> [m.kind for m in (bm.observe.Dirichlet(100.0), bm.observe.Poisson())]
    ['fractions', 'counts']
    """

    kind: ClassVar[str]
    param_fields: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[str] = "shares"
    #: Whether the rows ``(trajectory, time)`` are independent given the flow (False when a
    #: row's likelihood reads earlier rows, as :class:`~bayes_mfg.observe.Arrivals` does):
    #: leave-one-observation-out needs them independent.
    rows_independent: ClassVar[bool] = True

    @property
    def min_columns(self) -> int:
        """Fewest columns a row may have: 2 for shares (a composition), else 1."""
        return 2 if self.needs == "shares" else 1

    # ----------------------------------------------------------------- parameters
    @property
    def learned(self) -> tuple[str, ...]:
        """Names of the parameters given as priors (each one the site ``f"{name}_{param}"``)."""
        return tuple(f for f in self.param_fields if isinstance(getattr(self, f), dist.Distribution))

    def site_names(self, name: str) -> tuple[str, ...]:
        """All sample sites a call with site name ``name`` declares (parameters first)."""
        return tuple(f"{name}_{f}" for f in self.learned) + (name,)

    def site_dims(self, name: str) -> dict[str, tuple[str, ...]]:
        """Each parameter site with array values -> names of its non-sample dims (for ArviZ);
        default: none (every parameter is a scalar)."""
        return {}

    def coords(self, name: str) -> dict[str, list[str]]:
        """Labels of the dims of :meth:`site_dims` (``{dim: labels}``); default: none."""
        return {}

    def _validate_params(self) -> None:
        model = type(self).__name__
        for f in self.param_fields:
            object.__setattr__(self, f, check_param(model, f, getattr(self, f)))

    # ----------------------------------------------------------------- distributions
    def distribution(
        self, mu: Any, state_mask: Any = None, *, total_count: Any = None, **values: Any
    ) -> dist.Distribution:
        """The distribution of the data site for shares ``mu`` (declares no NumPyro site).

        Parameters
        ----------
        mu
            ``(..., d)`` predicted quantities of the kind the model :attr:`needs` (shares:
            rows on the simplex; hazards or probabilities; non-negative or real values);
            except for ``"real"``, round-off negatives are clipped to 0.
        state_mask
            Optional bool array broadcastable to ``mu``; True = observed.
        total_count
            Number of trials (only :class:`Multinomial` uses it; ignored by the others).
        **values
            Values of the parameters: required for the learned ones, optional (overriding
            the field) for known ones. Each is per row: a scalar or an array broadcastable
            to ``mu.shape[:-1]``.

        Returns
        -------
        numpyro.distributions.Distribution
            With ``batch_shape == mu.shape[:-1]`` and ``event_shape == (d,)``.
        """
        unknown = sorted(set(values) - set(self.param_fields))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.distribution: unknown parameter(s) {unknown}; "
                f"expected {list(self.param_fields)}"
            )
        params: dict[str, Array] = {}
        for f in self.param_fields:
            if f in values:
                params[f] = float_array(values[f])
            elif isinstance(getattr(self, f), dist.Distribution):
                raise ValueError(
                    f"{type(self).__name__}.distribution: {f} is learned (a prior); pass its value as {f}=..."
                )
            else:
                params[f] = float_array(getattr(self, f))
        mu = float_array(mu)
        if mu.ndim < 1 or mu.shape[-1] < self.min_columns:
            raise ValueError(f"mu must have shape (..., d) with d >= {self.min_columns} columns, got {mu.shape}")
        if total_count is not None:
            total_count = check_total_count("total_count", total_count)
        return self._make(mu if self.needs == "real" else nonneg(mu), state_mask, total_count, params)

    @abc.abstractmethod
    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        """The data distribution for clipped shares ``mu`` and per-row parameter values."""

    def _call_total_count(self, total_count: Any, data: Observations | None) -> Any:
        """The ``total_count`` passed to :meth:`distribution` by :meth:`__call__`."""
        return None

    # ----------------------------------------------------------------- the NumPyro site
    def __call__(
        self, name: str, mu: Any, data: Observations | None = None, *, total_count: Any = None, times: Any = None
    ) -> Array:
        """Declare the sample site ``name`` (and ``f"{name}_<param>"`` for learned parameters).

        Parameters
        ----------
        name
            Name of the data site.
        mu
            ``(n_traj, n_times, d)`` predicted quantities (the equilibrium shares, or a
            readout's outputs), of the kind the model :attr:`needs`.
        data
            Observations to condition on (``data.values`` observed, ``data.mask`` honoured:
            masked entries contribute nothing). ``None``: the site is sampled (prior or
            posterior predictive, simulation) and the full ``(n_traj, n_times, d)`` draw is
            returned.
        total_count
            Number of trials per row, an int or an array broadcastable to
            ``(n_traj, n_times)``: used by :class:`Multinomial` only (ignored by the others).
        times
            ``(n_times,)`` observation times when ``data`` is None (models with calendar
            effects, :class:`ReportedCounts`, read them; the others ignore them).

        Returns
        -------
        jax.Array
            The site's value: ``data.values`` when observed, the draw otherwise.

        Raises
        ------
        TypeError
            If ``name`` is not a non-empty string or ``data`` not an ``Observations``.
        ValueError
            If ``mu`` is not ``(n_traj, n_times, d)`` (``d >= 2`` for shares, ``d >= 1``
            otherwise), does not have the shape
            of ``data.values``, or ``data.kind`` is not the model's ``kind``.
        """
        model = type(self).__name__
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str (the site name), got {name!r}")
        mu = float_array(mu)
        if mu.ndim != 3 or mu.shape[-1] < self.min_columns:
            raise ValueError(f"mu must have shape (n_traj, n_times, d) with d >= {self.min_columns} columns, "
                             f"got {mu.shape}")
        if data is not None:
            if not isinstance(data, Observations):
                raise TypeError(f"data must be an Observations or None, got {type(data).__name__}")
            if data.kind != self.kind:
                raise ValueError(
                    f"data.kind is {data.kind!r} but {model} observes kind={self.kind!r}; "
                    f"for {data.kind} use {MODELS_FOR_KIND[data.kind]}"
                )
            if mu.shape != data.values.shape:
                raise ValueError(
                    f"mu must have the shape of data.values {data.values.shape} "
                    f"(n_traj, n_times, d), got {mu.shape}"
                )
        total = self._call_total_count(total_count, data)
        learned = [f for f in self.param_fields if isinstance(getattr(self, f), dist.Distribution)]
        values = {f: numpyro.sample(f"{name}_{f}", getattr(self, f)) for f in learned}
        if data is None:
            fn = self.distribution(mu, total_count=total, **values)
            return numpyro.sample(name, fn)
        fn = self.distribution(mu, jnp.asarray(data.mask), total_count=total, **values)
        return numpyro.sample(name, fn, obs=jnp.asarray(data.values, dtype=mu.dtype))
