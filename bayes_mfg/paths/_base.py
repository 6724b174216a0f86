"""The :class:`ParameterPath` protocol and the link handling shared by spline and neural paths."""

from __future__ import annotations

import abc
from typing import Any

import jax
import numpy as np

from bayes_mfg._validation import check_choice, check_positive_float
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._context import PathContext
from bayes_mfg.paths._links import LINKS, apply_link, inverse_link, resolve_link

__all__ = ["LinkedPath", "ParameterPath"]

Array = jax.Array


class ParameterPath(abc.ABC):
    """A parameter path ``gamma(t, mu)``: a NumPyro sub-model returning parameter values.

    Examples
    --------
    The four paths of this module subclass it:

    >>> import bayes_mfg as bm
    >>> all(issubclass(p, bm.paths.ParameterPath) for p in (bm.paths.Constant, bm.paths.TimeSpline, bm.paths.Neural, bm.paths.Hierarchical))
    True
    """

    @abc.abstractmethod
    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        """Declare this path's NumPyro sites (all named with prefix ``name``) and return the
        values, shape ``(n_traj, N, *spec.shape)`` (possibly a broadcast array)."""

    def check(self, name: str, spec: ParameterSpec, game: Any) -> None:
        """Refuse a parameter or a game this path cannot drive (ValueError), when the model is
        built; default: accept."""
        return None

    def coords(self, name: str) -> dict[str, list[str]]:
        """Labels of the path's own site axes for ArviZ (``{dim: labels}``); default: none."""
        return {}

    def on_time_grid(self, old_grid: Any, new_grid: Any) -> "ParameterPath":
        """The same path for a game on ``new_grid`` (a refinement of ``old_grid``, e.g. to check
        the time step): inputs given on the grid (covariates) are interpolated linearly in
        time; default: the path itself (it is a function of ``t``)."""
        return self

    @property
    def uses_mu_input(self) -> bool:
        """Whether the path reads the observed shares ``ctx.mu_input`` (a (t, mu) network)."""
        return False

    @property
    def varies_by_trajectory(self) -> bool:
        """Whether the values may differ between trajectories. A path shared by all
        trajectories (False) is recorded once, ``(N, *spec.shape)``, not once per
        trajectory; default True (the safe answer for a path that does not say)."""
        return True

    @abc.abstractmethod
    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        """Each site this path declares -> names of its non-sample dims (for ArviZ).

        ``"trajectory"`` labels per-trajectory axes, ``f"{name}_knot"`` spline
        coefficients and ``f"{name}_dim{i}"`` the parameter's own axes. Neural weights are
        not listed.
        """


class LinkedPath(ParameterPath):
    """Shared link handling of the paths with an unconstrained ``eta``."""

    link: str
    floor: float

    def _check_link_fields(self) -> None:
        check_choice("link", self.link, LINKS)
        object.__setattr__(self, "floor", check_positive_float("floor", self.floor, allow_zero=True))

    def resolved_link(self, spec: ParameterSpec) -> str:
        """The link used for ``spec`` (``"auto"`` resolved)."""
        return resolve_link(self.link, spec)

    def apply_link(self, eta: Any, spec: ParameterSpec) -> Array:
        """``eta`` -> parameter values with this path's link and floor."""
        return apply_link(eta, spec, self.link, self.floor)

    def inverse_link(self, value: Any, spec: ParameterSpec, *, argname: str = "value") -> np.ndarray:
        """The ``eta`` giving ``value`` with this path's link and floor."""
        return inverse_link(value, spec, self.link, self.floor, argname=argname)
