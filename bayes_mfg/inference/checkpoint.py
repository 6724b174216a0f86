"""Checkpoints of long NUTS runs: resume after an interruption without losing draws.

``fit_nuts(..., checkpoint="run.npz", checkpoint_every=K)`` samples in segments of ``K``
draws per chain. After warm-up and after every segment it writes one ``.npz`` file
(atomically: a temporary file renamed over the old one) holding

* the NUTS state of every chain after the last finished segment (position, gradient,
  adapted step size and mass matrix, random key, iteration counter),
* all draws and sampler statistics collected so far,
* the solver-failure tally, and a fingerprint of the data, the model and the sampler
  settings.

Calling ``fit_nuts`` again with the same arguments finds the file, checks the
fingerprint and continues from the saved state: warm-up is not repeated, finished
segments are not redrawn, and the final draws are bit-identical to an uninterrupted run
with the same ``checkpoint_every`` (the random key travels in the state). A run
interrupted in the middle of a segment loses only that segment. ``num_samples`` may be
raised on a resumed run to extend it. The file is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from dataclasses import asdict
from typing import Any

import jax
import numpy as np

from bayes_mfg.inference.failures import SolverFailures

__all__ = ["FORMAT", "fingerprint", "write", "read"]

FORMAT = "bayes_mfg-nuts-checkpoint-1"


def fingerprint(model: Any, data: Any, settings: dict[str, Any]) -> str:
    """SHA-256 of everything that determines the draws (except their number)."""
    h = hashlib.sha256()
    for arr in (data.values, data.mask, data.times, data.mu0 if data.mu0 is not None else np.zeros(0)):
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    parts = [repr(model.game), repr(dict(model.paths)), repr(model.observation), repr(model.fixed),
             repr(model.solver), repr(model.adjoint), model.mu0_source, repr(model.mu0_concentration),
             repr(data.kind), repr(data.state_names), repr(data.trajectory_names)]
    parts += [f"{k}={settings[k]!r}" for k in sorted(settings) if k != "num_samples"]
    h.update("\x1f".join(parts).encode())
    return h.hexdigest()


def write(path: pathlib.Path, *, fp: str, state: Any, draws: dict[str, np.ndarray], fields: dict[str, np.ndarray],
          n_done: int, failures: SolverFailures) -> None:
    """Write a checkpoint atomically."""
    leaves = jax.tree_util.tree_leaves(state)
    meta = {"format": FORMAT, "fingerprint": fp, "n_done": int(n_done), "n_state_leaves": len(leaves),
            "failures": {k: v for k, v in asdict(failures).items() if k != "examples"}}
    arrays = {f"state_{i}": np.asarray(x) for i, x in enumerate(leaves)}
    arrays.update({f"draw__{k}": np.asarray(v) for k, v in draws.items()})
    arrays.update({f"field__{k}": np.asarray(v) for k, v in fields.items()})
    arrays["meta"] = np.array(json.dumps(meta))
    tmp = path.with_name(path.name + ".tmp.npz")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def read(path: pathlib.Path, fp: str, template: Any):
    """``(state, draws, fields, n_done, failures)`` from a checkpoint written by :func:`write`.

    ``template`` is any NUTS state of the same kernel: it provides the tree structure the
    saved leaves are put back into. Raises ValueError for a file of another run.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            content = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"checkpoint: {str(path)!r} is not a readable bayes_mfg checkpoint ({e})") from None
    meta = json.loads(str(content.get("meta", np.array("{}"))))
    if meta.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {str(path)!r} is not a bayes_mfg NUTS checkpoint (format {meta.get('format')!r})")
    if meta["fingerprint"] != fp:
        raise ValueError(
            f"checkpoint: {str(path)!r} was written by a different run (other data, model or sampler "
            "settings); delete it or pass another checkpoint path"
        )
    treedef = jax.tree_util.tree_structure(template)
    if treedef.num_leaves != meta["n_state_leaves"]:
        raise ValueError(f"checkpoint: {str(path)!r} holds a state of another structure")
    leaves = [content[f"state_{i}"] for i in range(meta["n_state_leaves"])]
    state = jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(x) for x in leaves])
    draws = {k[len("draw__"):]: v for k, v in content.items() if k.startswith("draw__")}
    fields = {k[len("field__"):]: v for k, v in content.items() if k.startswith("field__")}
    failures = SolverFailures.from_summary(meta["failures"])
    return state, draws, fields, int(meta["n_done"]), failures
