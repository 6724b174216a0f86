"""MFGLib's side of ``experiments/mfglib_parity.py``: runs under an interpreter that has ``mfglib``.

Reads an ``.npz`` of policies (``<env>__<label>`` -> ``(T + 1, *S, *A)`` arrays), scores each
with MFGLib's own ``exploitability_score``, runs MFGLib's solvers on each environment for a
fixed number of iterations, and writes a JSON report. It imports neither JAX nor bayes_mfg
(MFGLib needs PyTorch, which may live in another environment), so the two libraries meet
only through files. Computation in float64 (``torch.set_default_dtype``).

Usage: ``python _mfglib_side.py POLICIES.npz OUT.json ITERATIONS``
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

import mfglib.alg  # noqa: E402  (mfglib.scoring must be imported after mfglib.alg)
from mfglib.env import Environment  # noqa: E402
from mfglib.scoring import exploitability_score  # noqa: E402

SOLVERS = {
    "FictitiousPlay": lambda: mfglib.alg.FictitiousPlay(),
    "OnlineMirrorDescent": lambda: mfglib.alg.OnlineMirrorDescent(),
    "PriorDescent": lambda: mfglib.alg.PriorDescent(),
}


def main(policies_path: str, out_path: str, iterations: int) -> None:
    policies = np.load(policies_path)
    envs = sorted({key.split("__")[0] for key in policies.files})
    report: dict = {"mfglib": getattr(mfglib, "__version__", "?"), "torch": torch.__version__, "envs": {}}
    for name in envs:
        env = getattr(Environment, name)()
        entry: dict = {"ours": {}, "mfglib": {}}
        for key in policies.files:
            if key.split("__")[0] == name:
                pi = torch.as_tensor(policies[key]).reshape((env.T + 1, *env.S, *env.A))
                entry["ours"][key.split("__", 1)[1]] = exploitability_score(env, pi)
        for solver_name, make in SOLVERS.items():
            t0 = time.perf_counter()
            pis, expls, runtimes = make().solve(env, max_iter=iterations, atol=None, rtol=None)
            wall = time.perf_counter() - t0
            best = int(np.argmin(expls))
            entry["mfglib"][solver_name] = {
                "iterations": iterations,
                "final_exploitability": expls[-1],
                "best_exploitability": expls[best],
                "best_iteration": best,
                # MFGLib's runtimes include its own per-iteration scoring
                "seconds_to_best": runtimes[best],
                "seconds_total": wall,
            }
        report["envs"][name] = entry
    with open(out_path, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
