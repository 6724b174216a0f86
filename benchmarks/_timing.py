"""The benchmarks' one timing harness: time, summarise, describe the machine, print, save.

Every benchmark module times through :func:`time_call` (one function) or
:func:`time_interleaved` (several functions compared with each other), so all of them
follow the same protocol:

1. one warm-up call per function, timed on its own and reported as ``compile_s`` (tracing,
   compilation and one execution; excluded from the statistics);
2. ``repeats`` rounds; in each round every function is called once, in order, each call
   ending with ``jax.block_until_ready`` (with one function this is ``repeats`` consecutive
   calls). Interleaving spreads slow drifts of the machine (other processes, clock
   frequency) evenly over the functions compared;
3. the median, min and max of the timed calls, and the raw timings.

:func:`machine_info` describes the machine and the versions, :func:`markdown_table` prints
a table and :func:`write_json` writes strict JSON (non-finite floats become ``null``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata as md
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def summarise(raw: list[float], compile_s: float) -> dict:
    """``{"median_s", "min_s", "max_s", "compile_s", "raw_s"}`` of the timed calls ``raw``."""
    return {
        "median_s": statistics.median(raw),
        "min_s": min(raw),
        "max_s": max(raw),
        "compile_s": compile_s,
        "raw_s": list(raw),
    }


def _timed(fn: Callable, args: tuple) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0


def time_interleaved(calls: dict[str, tuple[Callable, tuple]], repeats: int) -> dict[str, tuple[Any, dict]]:
    """Time several functions against each other: a warm-up call each, then ``repeats`` rounds.

    Parameters
    ----------
    calls
        ``{name: (fn, args)}``; ``fn(*args)`` is called as is (jit it beforehand to time
        compiled code).
    repeats
        Rounds; each calls every function once, in the order of ``calls``.

    Returns
    -------
    dict
        ``{name: (last output, timing)}`` with ``timing`` as :func:`summarise` gives it.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be positive, got {repeats}")
    outs, compile_s, raw = {}, {}, {name: [] for name in calls}
    for name, (fn, args) in calls.items():
        outs[name], compile_s[name] = _timed(fn, args)
    for _ in range(repeats):
        for name, (fn, args) in calls.items():
            outs[name], t = _timed(fn, args)
            raw[name].append(t)
    return {name: (outs[name], summarise(raw[name], compile_s[name])) for name in calls}


def time_call(fn: Callable, args: tuple, repeats: int) -> tuple[Any, dict]:
    """Time one function: a warm-up call, then ``repeats`` consecutive calls.

    Returns
    -------
    out, timing
        The last output and ``{"median_s", "min_s", "max_s", "compile_s", "raw_s"}``.
    """
    return time_interleaved({"fn": (fn, args)}, repeats)["fn"]


def machine_info(packages: tuple[str, ...] = ("numpyro", "optax", "equinox", "arviz-stats")) -> dict:
    """The machine, the JAX backend and device, the versions and the git state of the checkout."""
    import bayes_mfg as bm

    dev = jax.devices()[0]
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "numpy": np.__version__,
        "bayes_mfg": bm.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "jax_backend": jax.default_backend(),
        "jax_device": str(dev),
        "jax_devices": [str(d) for d in jax.devices()],
        "jax_device_kind": dev.device_kind,
        "jax_device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "x64": bool(jax.config.jax_enable_x64),
        "git": _git_state(),
    }
    info.update({pkg: _version(pkg) for pkg in packages})
    return info


def _version(pkg: str) -> str:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "unknown"


def _git_state() -> dict | None:
    """Commit of the repository and the files with uncommitted changes (None outside git)."""

    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=True).stdout.rstrip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "modified": git("status", "--porcelain").splitlines()}
    except (OSError, subprocess.CalledProcessError):
        return None


def jsonable(x: Any) -> Any:
    """Convert numpy/JAX scalars and arrays to Python; non-finite floats become None (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (np.ndarray, jax.Array)):
        return jsonable(np.asarray(x).tolist())
    if x is None or isinstance(x, str):
        return x
    return str(x)


def write_json(path: Path | str, obj: Any) -> Path:
    """Write ``obj`` as strict, indented JSON to ``path`` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")
    return path


def save_report(path: Path | str, t0: float, quick: bool, **payload: Any) -> dict:
    """``payload`` with the machine, ``quick`` and the wall time since ``t0``, written to ``path``
    (:func:`write_json`) and returned; prints where it went."""
    out = {**payload, "machine": machine_info(), "quick": quick, "wall_s": time.perf_counter() - t0}
    print(f"\nwritten: {write_json(path, out)}")
    return out


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (cells formatted with ``str``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def log_log_slope(xs: Any, ys: Any) -> float:
    """Least-squares slope of ``log(y)`` on ``log(x)`` (a cost model's exponent)."""
    return float(np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)[0])


def benchmark_parser(doc: str, out: Path, repeats: int = 5) -> argparse.ArgumentParser:
    """The arguments every sweep benchmark takes: ``--quick``, ``--repeats``, ``--out``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=repeats)
    ap.add_argument("--out", type=Path, default=out)
    return ap
