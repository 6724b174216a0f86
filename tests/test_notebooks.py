"""Every notebook runs top to bottom (FAST mode unless BAYES_MFG_FAST is set otherwise).

Each notebook is executed in a fresh kernel with nbclient; any cell error fails the test.
The executed copy (with outputs) is written to ``build/notebooks/``, from where the
documentation site renders it (mkdocs-jupyter, ``notebook_dirs`` in ``mkdocs.yml``), so the
site shows the outputs of the very run that tested it. The notebooks in git stay stripped.
"""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXECUTED = ROOT / "build" / "notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("BAYES_MFG_FAST", os.environ.get("BAYES_MFG_FAST", "1"))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED / path.name)
