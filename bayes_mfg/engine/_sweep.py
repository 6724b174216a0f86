"""The one scan skeleton behind every backward and forward sweep."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["sweep"]


def sweep(step: Callable[[Any, Any], tuple[Any, Any]], boundary: Array, xs: Any, *, reverse: bool = False) -> tuple[Array, Any]:
    """Run ``step`` over the ``N - 1`` steps of a time grid and return the whole path.

    ``step(carry, x_n) -> (carry_next, extra_n)``, where the carry is the path's value at the
    current grid point. Forward (``reverse=False``): the path is ``[boundary, carry_1, ...,
    carry_{N-1}]`` (``boundary`` is the initial value). Backward (``reverse=True``): ``step``
    runs from n = N-2 down to 0 and the path is ``[carry_0, ..., carry_{N-2}, boundary]``
    (``boundary`` is the terminal value).

    Parameters
    ----------
    step
        One step.
    boundary
        The initial (forward) or terminal (backward) value.
    xs
        Per-step inputs with leading axis ``N - 1`` (a pytree, as for ``lax.scan``).
    reverse
        Backward in time.

    Returns
    -------
    tuple
        ``(path, extras)``: ``path`` has leading axis ``N``; ``extras`` stacks the steps'
        second outputs (leading axis ``N - 1``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import sweep
    >>> path, _ = sweep(lambda c, x: (c + x, None), jnp.array(0.0), jnp.ones(3))
    >>> path.tolist()
    [0.0, 1.0, 2.0, 3.0]
    >>> sweep(lambda c, x: (c + x, None), jnp.array(0.0), jnp.ones(3), reverse=True)[0].tolist()
    [3.0, 2.0, 1.0, 0.0]
    """

    def body(carry, x):
        nxt, extra = step(carry, x)
        return nxt, (nxt, extra)

    _, (inner, extras) = jax.lax.scan(body, boundary, xs, reverse=reverse)
    if reverse:
        return jnp.concatenate([inner, boundary[None]], axis=0), extras
    return jnp.concatenate([boundary[None], inner], axis=0), extras


def head(params: dict[str, Array]) -> dict[str, Array]:
    """The parameter paths without their last time point (the inputs of the N - 1 steps)."""
    return {k: v[:-1] for k, v in params.items()}


def tail(params: dict[str, Array]) -> dict[str, Array]:
    """The parameter paths without their first time point (the steps' end points)."""
    return {k: v[1:] for k, v in params.items()}
