#!/usr/bin/env bash
# The package as a user gets it: build the wheel, install it into a fresh venv (no editable
# install, no source tree on the path) and use it from an empty folder: the import, the
# shipped dataset files, the console script and one small calibration model.
# Usage: bash scripts/check_wheel.sh [PYTHON]   (default: scripts/find_python.sh's choice)
set -euo pipefail
cd "$(dirname "$0")/.."
PYBIN=${1:-$(bash scripts/find_python.sh)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
"$PYBIN" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/wheel" .
WHEEL=$(ls "$WORK"/wheel/bayes_mfg-*.whl)
"$PYBIN" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL"
mkdir "$WORK/empty"
cd "$WORK/empty"
"$WORK/venv/bin/bayes-mfg" --version
"$WORK/venv/bin/python" - <<'EOF'
import pathlib

import numpyro.distributions as dist
from numpyro.infer.util import log_density

import bayes_mfg as bm

here = pathlib.Path(bm.__file__).resolve()
assert "site-packages" in here.parts, f"bayes_mfg imported from {here}, not from the installed wheel"
d = bm.datasets.japan_covid("2020-10-01", "2020-10-31")  # the dataset files ship in the wheel
assert d.n_days == 31, d.n_days
game = bm.games.SIR(horizon=10.0, n_times=21)
sim = bm.datasets.simulate(game, {"beta": 0.4, "gamma": 0.125}, 2, bm.observe.Dirichlet(400.0), seed=0)
model = bm.CalibrationModel(game, {"beta": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(400.0), fixed={"gamma": 0.125})
lp, _ = log_density(model, (sim.data,), {}, {"beta": 0.4})
assert bool(lp > -1e300), lp
print(f"wheel OK: bayes_mfg {bm.__version__} from {here.parent}, japan_covid {d.n_days} days, log density {float(lp):.2f}")
EOF
echo "wheel check: $(( $(date +%s) - start )) s"
