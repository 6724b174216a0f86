"""Argument checks shared by the public functions (one place for every error message)."""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds values (not a JAX tracer), so value checks are possible."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}") from None
    ok = v >= 0 if allow_zero else v > 0
    if not math.isfinite(v) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_finite(name: str, x: Any) -> None:
    """Raise ValueError if a concrete array contains NaN or inf (tracers pass unchecked)."""
    if is_concrete(x) and not bool(np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(f"{name} contains NaN or inf")


def as_real_array(name: str, value: Any, expected: str) -> jax.Array:
    """``value`` as a JAX array of real numbers (bools and ints included); a ``TypeError`` naming
    ``name`` and ``expected`` for strings, complex numbers and objects (JAX's message names nothing)."""
    try:
        arr = jnp.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r:.60}") from None
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)
            or jnp.issubdtype(arr.dtype, jnp.bool_)):
        raise TypeError(f"{name} must be {expected}, got dtype {arr.dtype}")
    return arr


def check_distribution(name: str, x: Any, n_states: int, *, atol: float = 1e-8) -> jax.Array:
    """Validate a probability vector of length ``n_states`` (value checks only when concrete)."""
    arr = as_real_array(name, x, f"a probability vector of {n_states} real numbers")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    if arr.shape != (n_states,):
        raise ValueError(f"{name} must have shape ({n_states},) (one probability per state), got {arr.shape}")
    if is_concrete(arr):
        a = np.asarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
        if np.any(a < -atol):
            raise ValueError(f"{name} must be non-negative (a probability vector), min entry is {a.min():.3g}")
        if abs(a.sum() - 1.0) > max(atol, 10 * np.finfo(np.asarray(arr).dtype).eps * n_states):
            raise ValueError(f"{name} must sum to 1 (a probability vector), sums to {a.sum():.12g}")
    return arr


@dataclass(frozen=True)
class Bound:
    """The declared range of one numeric argument: the single source of its check and its docs.

    Attributes
    ----------
    lower, upper
        The ends of the range (``None``: unbounded on that side).
    lower_closed, upper_closed
        Whether an end belongs to the range (``>=`` / ``<=``); open ends are strict.
    integer
        An int is required (bools are refused).
    optional
        ``None`` is accepted (the argument's "not set" value).

    Examples
    --------
    >>> from bayes_mfg._validation import Bound
    >>> Bound(0.0, 1.0, lower_closed=True).describe()
    'a real number in [0, 1)'
    >>> Bound(0.0).check("temperature", 0.5)
    0.5
    """

    lower: float | None = None
    upper: float | None = None
    lower_closed: bool = False
    upper_closed: bool = False
    integer: bool = False
    optional: bool = False

    def describe(self) -> str:
        """The range in words, e.g. ``'a real number > 0'`` or ``'an int in [0, 3]'``."""
        kind = "an int" if self.integer else "a real number"
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None:
            text = f"{kind} in {'[' if self.lower_closed else '('}{lo:g}, {hi:g}{']' if self.upper_closed else ')'}"
        elif lo is not None:
            text = f"{kind} {'>=' if self.lower_closed else '>'} {lo:g}"
        elif hi is not None:
            text = f"{kind} {'<=' if self.upper_closed else '<'} {hi:g}"
        else:
            text = f"a finite {kind[2:] if kind.startswith('a ') else kind[3:]}"
        return text + (" or None" if self.optional else "")

    def contains(self, v: float) -> bool:
        """Whether the finite number ``v`` lies in the range."""
        if self.lower is not None and not (v >= self.lower if self.lower_closed else v > self.lower):
            return False
        return self.upper is None or (v <= self.upper if self.upper_closed else v < self.upper)

    def check(self, name: str, value: Any) -> Any:
        """``value`` as an int or float if it lies in the range; otherwise a ``TypeError`` (not a
        real number, a bool, a string, complex) or ``ValueError`` (NaN, inf, out of range)
        naming ``name`` and the range."""
        if value is None and self.optional:
            return None
        if self.integer:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be {self.describe()}, got {type(value).__name__} {value!r}")
            v: Any = int(value)
        else:
            if not _is_real_scalar(value):
                raise TypeError(f"{name} must be {self.describe()}, got {type(value).__name__} {value!r}")
            v = float(value)
            if not math.isfinite(v):
                raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        if not self.contains(v):
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return v


def _is_real_scalar(value: Any) -> bool:
    """An int or float (Python, NumPy, or a 0-d array of those); not a bool, string or complex."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    dtype = getattr(value, "dtype", None)
    return (dtype is not None and np.ndim(value) == 0 and not np.issubdtype(dtype, np.bool_)
            and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)))


def bounded(default: Any = MISSING, *, doc: str = "", **bound: Any) -> Any:
    """A dataclass field whose range is declared once (:class:`Bound`, in ``metadata["bound"]``).

    :func:`check_declared_fields` checks every such field of an instance; the declaration is
    also what tests and docs read, so the three cannot drift apart.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from bayes_mfg._validation import bounded, check_declared_fields
    >>> @dataclass(frozen=True)
    ... class Toy:
    ...     rate: float = bounded(1.0, lower=0.0)
    ...     def __post_init__(self):
    ...         check_declared_fields(self)
    >>> Toy(rate=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: Toy: rate must be a real number > 0, got -1.0
    """
    return field(default=default, metadata={"bound": Bound(**bound), "doc": doc})


def declared_bounds(cls_or_obj: Any) -> dict[str, Bound]:
    """``{field name: Bound}`` of the fields declared with :func:`bounded`."""
    return {f.name: f.metadata["bound"] for f in fields(cls_or_obj) if "bound" in f.metadata}


def check_declared_fields(obj: Any) -> None:
    """Check (and normalise to int / float) every field of ``obj`` declared with :func:`bounded`;
    the error names the class and the field."""
    for name, bound in declared_bounds(obj).items():
        try:
            value = bound.check(name, getattr(obj, name))
        except (TypeError, ValueError) as e:
            raise type(e)(f"{type(obj).__name__}: {e}") from None
        object.__setattr__(obj, name, value)


def check_seed(name: str, value: Any) -> int:
    """A random seed: an int >= 0 (NumPy's and JAX's keys need one); bools and strings refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 0 (a random seed), got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0 (a random seed), got {value}")
    return int(value)
