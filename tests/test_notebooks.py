"""Every notebook runs top to bottom (FAST mode unless BAYES_MFG_FAST is set otherwise).

Each notebook is executed with nbclient in a child process (so the Jupyter client's
ZeroMQ/tornado machinery never lives in a pytest worker that also compiles JAX programs),
in a fresh kernel; any cell error fails the test. The executed copy (with outputs) is
written to ``build/notebooks/``, from where the documentation site renders it
(mkdocs-jupyter, ``notebook_dirs`` in ``mkdocs.yml``): the site shows the outputs of the
run that tested it. The notebooks in git stay stripped.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXECUTED = ROOT / "build" / "notebooks"

RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, target = sys.argv[1], sys.argv[2]
nb = nbformat.read(source, as_version=4)
client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[3]}})
try:
    client.execute()
except CellExecutionError as err:
    print(err, file=sys.stderr)
    sys.exit(1)
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
if errors:
    print(errors, file=sys.stderr)
    sys.exit(1)
nbformat.write(nb, target)
"""


# The default suite runs the quickstart (the README's path); the others (2-3 minutes each on
# 2 cores, in FAST mode: 06 took 123 s in CI) run under -m slow (CI budget).
DEFAULT = ("01_quickstart",)


@pytest.mark.parametrize("path", [p if p.stem in DEFAULT else pytest.param(p, marks=pytest.mark.slow)
                                  for p in NOTEBOOKS], ids=lambda p: p.stem)
def test_notebook_runs(path):
    EXECUTED.mkdir(parents=True, exist_ok=True)
    target = EXECUTED / path.name
    env = {**os.environ, "BAYES_MFG_FAST": os.environ.get("BAYES_MFG_FAST", "1")}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(path), str(target), str(path.parent)], env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stderr[-6000:]}"
    assert target.exists()
