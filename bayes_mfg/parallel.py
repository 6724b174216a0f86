"""Scale-out with JAX's own machinery: trajectories (or simulations) sharded across devices.

The calibration model solves one equilibrium per trajectory under ``jax.vmap``, and
:func:`bayes_mfg.sbc` fits one posterior per simulated data set, also under ``jax.vmap``.
:func:`shard_trajectories` places the leading (trajectory) axis of a data set on a 1-D
device mesh, ``NamedSharding(Mesh(devices, ("trajectory",)), PartitionSpec("trajectory"))``;
a jitted function that takes those arrays *as arguments* is then partitioned by XLA (GSPMD):
each device solves the equilibria of its own trajectories, and sums over trajectories (the
log-likelihood, a solver's convergence test) become all-reduces. The results are the same
as on one device, up to the order of floating-point sums.

Where it applies:

* ``fit_nuts(model, shard_trajectories(data))`` and ``fit_svi(...)`` pass sharded data to
  the compiled sampler / optimiser as an argument, so every log-density and gradient
  evaluation is data-parallel (chains then run ``"sequential"`` or ``"vectorized"``:
  ``chain_method="parallel"`` already puts one chain per device);
* ``sbc(..., shard=True)`` splits each batch of simulations across the local devices;
* any ``jax.jit(jax.vmap(...))`` over trajectories, e.g. ``equilibrium`` for many ``mu0``.

On CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set before JAX is
imported) gives N devices, which is how this is tested.
"""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from bayes_mfg.data import Observations

#: Name of the mesh axis the leading (trajectory / simulation) axis is sharded over.
AXIS = "trajectory"

T = TypeVar("T")


def _devices(devices: Sequence[jax.Device] | None) -> list[jax.Device]:
    if devices is None:
        return list(jax.local_devices())
    if isinstance(devices, jax.Device) or not isinstance(devices, (Sequence, np.ndarray)):
        raise TypeError(f"devices must be a sequence of jax.Device (e.g. jax.local_devices()) or None, "
                        f"got {type(devices).__name__}")
    out = list(np.ravel(np.asarray(devices, dtype=object))) if isinstance(devices, np.ndarray) else list(devices)
    if not out:
        raise ValueError("devices must not be empty")
    bad = [d for d in out if not isinstance(d, jax.Device)]
    if bad:
        raise TypeError(f"devices must be a sequence of jax.Device, got an element of type {type(bad[0]).__name__}")
    if len(set(out)) != len(out):
        raise ValueError(f"devices must be distinct, got {out}")
    if any(d.process_index != jax.process_index() for d in out):
        raise ValueError("devices must belong to this process (jax.local_devices()); for arrays spanning several "
                         "hosts build them with jax.make_array_from_process_local_data")
    return out


def _leading_sizes(leaves: list[Any]) -> set[int]:
    sizes = set()
    for leaf in leaves:
        if np.ndim(leaf) == 0:
            raise ValueError("data: every array must have a leading trajectory axis, got a scalar")
        sizes.add(int(np.shape(leaf)[0]))
    return sizes


def shard_trajectories(data: T, devices: Sequence[jax.Device] | None = None) -> T:
    """Shard the leading (trajectory) axis of ``data`` across devices.

    Parameters
    ----------
    data
        An :class:`~bayes_mfg.Observations` (its ``values``, ``mask`` and ``mu0`` are
        sharded; times and labels are static) or any pytree of arrays that share their
        leading axis: trajectories, or simulated data sets.
    devices
        The devices of the 1-D mesh, in order (default ``jax.local_devices()``). They must
        belong to this process.

    Returns
    -------
    same type as ``data``
        The same pytree with every array a ``jax.Array`` placed with
        ``NamedSharding(Mesh(devices, ("trajectory",)), PartitionSpec("trajectory"))``:
        device ``k`` holds the ``k``-th contiguous block of trajectories.

    Raises
    ------
    ValueError
        If the number of trajectories is not a multiple of the number of devices (nothing
        is padded: padding an :class:`~bayes_mfg.Observations` would add trajectories to
        the model; drop or add trajectories, or pass fewer ``devices``), if the arrays
        disagree on it, or if ``devices`` is empty, repeated or not this process's.
    TypeError
        If ``data`` holds something that is not an array, or ``devices`` is not a sequence
        of ``jax.Device``.

    Examples
    --------
    >>> import bayes_mfg as bm, jax
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> sim = bm.datasets.simulate(game, {"gamma": 1.3}, 4, bm.observe.Dirichlet(500.0), seed=1)
    >>> data = bm.shard_trajectories(sim.data, devices=jax.local_devices()[:1])
    >>> data.values.sharding.spec == jax.sharding.PartitionSpec("trajectory")
    True
    >>> [shard.data.shape for shard in data.values.addressable_shards]   # one block per device
    [(4, 20, 3)]
    >>> mu0 = bm.shard_trajectories(sim.data.mu0, devices=jax.local_devices()[:1])
    >>> solve = jax.jit(jax.vmap(lambda m: bm.equilibrium(game, {"gamma": 1.3}, m).mu))
    >>> solve(mu0).shape                   # (trajectory, time step, state), sharded like mu0
    (4, 20, 3)
    """
    devs = _devices(devices)
    leaves, treedef = jax.tree_util.tree_flatten(data)
    if not leaves:
        raise ValueError("data holds no arrays")
    bad = [leaf for leaf in leaves if not isinstance(leaf, (np.ndarray, jax.Array, np.generic))]
    if bad:
        raise TypeError(f"data must be an Observations or a pytree of arrays, "
                        f"got a leaf of type {type(bad[0]).__name__}")
    sizes = _leading_sizes(leaves)
    if len(sizes) > 1:
        raise ValueError(f"data: the arrays must share their leading (trajectory) axis, got sizes {sorted(sizes)}")
    (n,) = sizes
    if n % len(devs):
        what = "data.n_trajectories" if isinstance(data, Observations) else "the leading axis of data"
        raise ValueError(f"{what} ({n}) must be a multiple of the number of devices ({len(devs)}): "
                         f"drop or add trajectories, or pass fewer devices")
    sharding = NamedSharding(Mesh(np.asarray(devs), (AXIS,)), PartitionSpec(AXIS))
    return jax.tree_util.tree_unflatten(treedef, [jax.device_put(leaf, sharding) for leaf in leaves])


def is_sharded(data: Any) -> bool:
    """Whether any array of ``data`` is spread over more than one device."""
    return any(isinstance(leaf, jax.Array) and len(leaf.sharding.device_set) > 1
               for leaf in jax.tree_util.tree_leaves(data))


def pad_leading(tree: Any, multiple: int) -> tuple[Any, int]:
    """Pad the leading axis of every array to a multiple of ``multiple`` by repeating its last
    entry; returns the padded tree and the original length (slice results with ``[:n]``)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    (n,) = _leading_sizes(leaves)
    extra = -n % multiple
    if not extra:
        return tree, n
    pad = lambda a: jax.numpy.concatenate([a, jax.numpy.repeat(a[-1:], extra, axis=0)])  # noqa: E731
    return jax.tree_util.tree_unflatten(treedef, [pad(leaf) for leaf in leaves]), n


__all__ = ["shard_trajectories", "AXIS"]
