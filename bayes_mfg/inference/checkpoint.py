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
import zipfile
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
    saved leaves are put back into. Every field is validated (a file of another run, a
    crafted or corrupted file: a ``ValueError`` naming the file and the field, never a raw
    ``KeyError`` or ``JSONDecodeError``).
    """
    where = f"checkpoint: {str(path)!r}"
    try:
        with np.load(path, allow_pickle=False) as f:
            content = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{where} is not a readable bayes_mfg checkpoint ({type(e).__name__}: {e})") from None
    meta = _meta(content, where)
    if meta["format"] != FORMAT:
        raise ValueError(f"{where} is not a bayes_mfg NUTS checkpoint (format {meta['format']!r})")
    if meta["fingerprint"] != fp:
        raise ValueError(
            f"{where} was written by a different run (other data, model or sampler "
            "settings); delete it or pass another checkpoint path"
        )
    template_leaves, treedef = jax.tree_util.tree_flatten(template)
    if treedef.num_leaves != meta["n_state_leaves"]:
        raise ValueError(f"{where} holds a state of another structure")
    leaves = []
    for i, t in enumerate(template_leaves):
        x = content.get(f"state_{i}")
        t = np.asarray(t)
        if x is None or x.shape != t.shape or x.dtype != t.dtype:
            got = "missing" if x is None else f"{x.dtype}{list(x.shape)}"
            raise ValueError(f"{where}: field state_{i} must be {t.dtype}{list(t.shape)} (the sampler's state), got {got}")
        leaves.append(x)
    state = jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(x) for x in leaves])
    draws = {k[len("draw__"):]: v for k, v in content.items() if k.startswith("draw__")}
    fields = {k[len("field__"):]: v for k, v in content.items() if k.startswith("field__")}
    for name, v in {**draws, **fields}.items():
        if v.ndim < 2 or v.shape[1] != meta["n_done"] or v.dtype.kind not in "biuf":
            raise ValueError(f"{where}: draws of {name!r} must be numbers of shape (chains, n_done={meta['n_done']}, "
                             f"...), got {v.dtype}{list(v.shape)}")
    return state, draws, fields, meta["n_done"], meta["failures"]


def _meta(content: dict[str, np.ndarray], where: str) -> dict[str, Any]:
    """The checkpoint's ``meta`` record, each field checked (types and ranges)."""
    raw = content.get("meta")
    if raw is None or raw.ndim != 0 or raw.dtype.kind != "U":
        raise ValueError(f"{where} is not a bayes_mfg checkpoint (no meta record)")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: the meta record is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: the meta record must be a JSON object, got {type(meta).__name__}")
    for key, kind in (("format", str), ("fingerprint", str), ("n_done", int), ("n_state_leaves", int),
                      ("failures", dict)):
        if key not in meta:
            raise ValueError(f"{where}: the meta record has no field {key!r}")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool) or (kind is int and meta[key] < 0):
            raise ValueError(f"{where}: meta field {key!r} must be a {'non-negative int' if kind is int else kind.__name__}, "
                             f"got {meta[key]!r:.80}")
    try:
        meta["failures"] = SolverFailures.from_summary(meta["failures"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{where}: meta field 'failures' is not a solver-failure tally ({type(e).__name__}: {e})") from None
    return meta
