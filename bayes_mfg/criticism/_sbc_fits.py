"""The posterior fits of :func:`bayes_mfg.sbc`: NUTS and SVI vectorised over simulated data
sets (``jax.vmap`` of NumPyro's functional HMC interface / of an SVI loop), or a fit callable
one simulation at a time."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from numpyro.infer import SVI, Trace_ELBO, autoguide
from numpyro.infer.initialization import init_to_median

from bayes_mfg.data import Observations
from bayes_mfg.parallel import pad_leading, shard_trajectories


def batched_data(design: Observations, values: np.ndarray) -> Observations:
    """A batch of data sets with ``design``'s times, mask, ``mu0`` and labels (leading axis =
    simulation); a latent ``mu0`` stays latent."""
    _, treedef = jax.tree_util.tree_flatten(design)
    n = values.shape[0]
    mask = np.broadcast_to(design.mask, values.shape)
    m0 = None if design.mu0 is None else np.broadcast_to(design.mu0, (n, *design.mu0.shape))
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(np.where(mask, values, 0.0)), jnp.asarray(mask)]
                                        + ([] if m0 is None else [jnp.asarray(m0)]))


def index_batch(batch: Observations, i: int) -> Observations:
    return jax.tree_util.tree_map(lambda x: np.asarray(x[i]), batch)


def flat_parameters(draws: dict[str, np.ndarray], sites: list[str], n_lead: int) -> tuple[np.ndarray, list[str]]:
    cols, names = [], []
    for s in sites:
        x = np.asarray(draws[s])
        shape = x.shape[n_lead:]
        cols.append(x.reshape(*x.shape[:n_lead], -1))
        names += [s] if not shape else [f"{s}[{','.join(map(str, i))}]" for i in np.ndindex(*shape)]
    return np.concatenate(cols, axis=-1), names


def nuts_batch(model, batch: Observations, keys, num_warmup: int, num_samples: int, target_accept: float,
                max_tree_depth: int):
    """Vmapped NUTS over a batch of data sets: constrained draws ``{site: (B, num_samples, ...)}``."""
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import initialize_model

    one = index_batch(batch, 0)
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=(one,), dynamic_args=True,
                            init_strategy=init_to_median(num_samples=15))
    potential_gen, postprocess_gen = info.potential_fn, info.postprocess_fn
    z0 = info.param_info.z
    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def run(key, data):
        state = init_kernel(z0, num_warmup, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                            model_args=(data,), rng_key=key)

        def step(s, _):
            s = sample_kernel(s, model_args=(data,))
            return s, (s.z, s.diverging)

        state, (zs, div) = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
        zs = jax.tree_util.tree_map(lambda x: x[num_warmup:], zs)
        post = jax.vmap(postprocess_gen(data))(zs)
        return post, jnp.sum(div[num_warmup:])

    return jax.jit(jax.vmap(run))(keys, batch)


def svi_batch(model, batch: Observations, keys, guide: str, num_steps: int, learning_rate: float, num_samples: int):
    init = init_to_median(num_samples=15)
    if guide == "delta":
        g = autoguide.AutoDelta(model, init_loc_fn=init)
    else:
        cls = {"normal": autoguide.AutoNormal, "multivariate": autoguide.AutoMultivariateNormal}[guide]
        g = cls(model, init_loc_fn=init, init_scale=0.05)
    svi = SVI(model, g, optax.adam(learning_rate), Trace_ELBO())

    def run(key, data):
        k1, k2 = jax.random.split(key)
        state = svi.init(k1, data)

        def step(s, _):
            s, loss = svi.stable_update(s, data)
            return s, loss

        state, _ = jax.lax.scan(step, state, None, length=num_steps)
        params = svi.get_params(state)
        return g.sample_posterior(k2, params, sample_shape=(num_samples,), data=data), jnp.zeros((), jnp.int32)

    return jax.jit(jax.vmap(run))(keys, batch)


def custom_draws(method: Callable, model, batch: Observations, keys, sites: list[str], num_samples: int,
                 progress_bar: bool = False) -> np.ndarray:
    """``(n, L, P)`` draws of a fit callable, one simulation at a time."""
    from tqdm.auto import tqdm

    out = []
    for i in tqdm(range(keys.shape[0]), desc="SBC fits", unit="simulation", disable=not progress_bar):
        x, _ = flat_parameters(method(model, index_batch(batch, i), keys[i]), sites, 1)
        if x.shape[0] != num_samples:
            raise ValueError(f"the fit callable returned {x.shape[0]} draws, expected num_samples={num_samples}")
        out.append(x[None])
    return np.concatenate(out, axis=0)


def batched_draws(method: str, model, batch: Observations, keys, sites: list[str], num_samples: int,
                   batch_size: int, shard: bool, settings: dict, progress_bar: bool = False) -> tuple[np.ndarray, int]:
    """``((n, L, P) draws, divergences)`` of the vmapped NUTS or SVI fits, ``batch_size`` simulations at a time."""
    from tqdm.auto import tqdm

    out, n_div, total = [], 0, keys.shape[0]
    thin = settings["thin"]
    bar = tqdm(total=total, desc=f"SBC fits ({method}, {batch_size} at a time)", unit="simulation",
               disable=not progress_bar)
    for start in range(0, total, batch_size):
        sl = slice(start, min(start + batch_size, total))
        sub, sub_keys = jax.tree_util.tree_map(lambda a, sl=sl: a[sl], (batch, keys))
        n = sub_keys.shape[0]
        if shard:  # the padding copies are computed and dropped: [:n] below
            (sub, sub_keys), _ = pad_leading((sub, sub_keys), jax.local_device_count())
            sub, sub_keys = shard_trajectories((sub, sub_keys))
        if method == "nuts":
            post, div = nuts_batch(model, sub, sub_keys, settings["num_warmup"], thin * num_samples,
                                    settings["target_accept"], settings["max_tree_depth"])
            post = {k: np.asarray(v)[:n, thin - 1 :: thin] for k, v in post.items()}
        else:
            post, div = svi_batch(model, sub, sub_keys, settings["guide"], settings["num_steps"],
                                   settings["learning_rate"], num_samples)
            post = {k: np.asarray(v)[:n] for k, v in post.items()}
        n_div += int(np.sum(np.asarray(div)[:n]))
        out.append(flat_parameters(post, sites, 2)[0])
        bar.update(n)
    bar.close()
    return np.concatenate(out, axis=0), n_div


__all__ = ["batched_data", "index_batch", "flat_parameters", "nuts_batch", "svi_batch", "custom_draws", "batched_draws"]
