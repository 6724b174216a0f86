"""Parity with MFGLib (skipped unless an interpreter with ``mfglib`` is available).

MFGLib needs PyTorch, which may live in another Python environment: set
``BAYES_MFG_MFGLIB_PYTHON`` to its interpreter (or install mfglib next to bayes_mfg). Our
equilibrium policies are scored by MFGLib's own ``exploitability_score`` through
``experiments/_mfglib_side.py`` and must get the score :func:`bayes_mfg.exploitability` gives.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bayes_mfg as bm

ROOT = Path(__file__).resolve().parents[2]


def _mfglib_python():
    for candidate in (os.environ.get("BAYES_MFG_MFGLIB_PYTHON"), sys.executable):
        if candidate and Path(candidate).exists():
            if subprocess.run([candidate, "-c", "import mfglib.alg"], capture_output=True).returncode == 0:
                return candidate
    return None


PYTHON = _mfglib_python()
pytestmark = pytest.mark.skipif(PYTHON is None, reason="mfglib not installed (set BAYES_MFG_MFGLIB_PYTHON)")


def test_mfglib_scores_our_equilibria_as_we_do(tmp_path):
    cases = {
        "beach_bar": (bm.games.BeachBar(temperature=0.1), [0.25] * 4, {}),
        "left_right": (bm.games.LeftRight(temperature=0.05), [1.0, 0.0, 0.0], {}),
        "susceptible_infected": (bm.games.SusceptibleInfected(temperature=0.3), [0.4, 0.6], {}),
    }
    policies, ours = {}, {}
    for name, (game, mu0, params) in cases.items():
        eq = bm.equilibrium(game, params, mu0)
        assert bool(eq.converged)
        policies[f"{name}__eq"] = np.asarray(eq.policy)
        ours[name] = float(bm.exploitability(game, params, mu0, eq, regularised=False))
    np.savez(tmp_path / "policies.npz", **policies)
    subprocess.run([PYTHON, str(ROOT / "experiments" / "_mfglib_side.py"), str(tmp_path / "policies.npz"),
                    str(tmp_path / "out.json"), "2"], check=True, timeout=600)
    theirs = json.loads((tmp_path / "out.json").read_text())["envs"]
    for name, value in ours.items():
        assert value > 1e-4
        assert theirs[name]["ours"]["eq"] == pytest.approx(value, rel=1e-10)
