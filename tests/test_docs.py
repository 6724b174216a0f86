"""Documentation that cannot rot: the public API's docstrings, the API reference pages, notebooks."""

import doctest
import importlib
import importlib.util
import inspect
import json
import pkgutil
import types
from pathlib import Path

import pytest

import bayes_mfg as bm

ROOT = Path(__file__).resolve().parents[1]
MODULES = {m: importlib.import_module(m) for m in ("bayes_mfg", "bayes_mfg.games", "bayes_mfg.paths", "bayes_mfg.observe",
                                                  "bayes_mfg.datasets", "bayes_mfg.engine",
                                                  "bayes_mfg.stepping")}


def public_objects():
    """``{qualified name: object}`` of every public class and function (``__all__`` of each module)."""
    out, seen = {}, set()
    for mname, mod in MODULES.items():
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if id(obj) not in seen:
                seen.add(id(obj))
                out[f"{mname}.{name}"] = obj
    return out


PUBLIC = public_objects()


def _documented_parameters(obj) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def test_the_walker_finds_the_public_api():
    assert len(PUBLIC) >= 60
    assert "bayes_mfg.fit_nuts" in PUBLIC and "bayes_mfg.games.UrbanMobility" in PUBLIC


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_object_has_a_numpy_style_docstring(name):
    obj = PUBLIC[name]
    doc = inspect.getdoc(obj) or ""
    assert len(doc.strip()) >= 20, f"{name}: missing docstring"
    if _documented_parameters(obj):
        assert "Parameters\n---" in doc or "Attributes\n---" in doc, f"{name}: no Parameters/Attributes section"
    if inspect.isfunction(obj) and inspect.signature(obj).return_annotation not in (None, "None"):
        assert "Returns\n---" in doc, f"{name}: no Returns section"
    assert "Examples\n---" in doc and ">>>" in doc, f"{name}: no Examples section"


PACKAGE_MODULES = sorted(m.name for m in pkgutil.walk_packages(bm.__path__, "bayes_mfg.")
                         if not m.name.endswith((".cli", ".demo", ".__main__")))


@pytest.mark.parametrize("module", PACKAGE_MODULES)
def test_docstring_examples_run(module):
    """Every ``>>>`` example in the package runs and prints what it says (``+SKIP`` marks the
    ones that need a fitted model; the notebooks run those calls)."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module}"


def test_every_public_object_is_in_the_api_reference():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md"))
    aliases = {}
    for mname, mod in MODULES.items():
        for name in mod.__all__:
            aliases.setdefault(id(getattr(mod, name)), []).append(f"{mname}.{name}")
    missing = [n for n, obj in PUBLIC.items() if not any(f"::: {a}\n" in pages for a in aliases[id(obj)])]
    assert not missing, f"not in docs/api/*.md: {missing}"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    names = [p.name for p in NOTEBOOKS]
    assert {"01_quickstart.ipynb", "02_time_and_state_dependent_paths.ipynb", "03_identifiability.ipynb",
            "04_model_comparison.ipynb", "05_urban_mobility_auckland.ipynb", "06_epidemic_boarding_school.ipynb",
            "07_continuous_state_games.ipynb"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_has_a_fast_switch(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "outputs not stripped"
    assert any('os.environ.get("BAYES_MFG_FAST"' in "".join(c["source"]) for c in code), "no FAST switch"


# ---------------------------------------------------------------------------- code in README and docs pages
def _code_blocks(path: Path) -> list[str]:
    text, blocks = path.read_text(), []
    for part in text.split("```python\n")[1:]:
        blocks.append(part.split("```", 1)[0])
    return blocks


def _resolve(node, namespace):
    """The object an attribute chain ``bm.a.b`` names, or None if it does not start at a known name."""
    import ast

    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        if base is None:
            return None
        if not hasattr(base, node.attr):
            raise AssertionError(f"{ast.unparse(node)}: no attribute {node.attr!r}")
        return getattr(base, node.attr)
    return None


DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", DOC_PAGES, ids=lambda p: p.name)
def test_library_calls_in_code_blocks_exist_and_bind(path):
    """Every ``bm.*`` call in the page's Python blocks names an existing object and its
    arguments bind to that object's signature (keyword names, number of positionals).
    Static: nothing is run, so the long fits shown there cost nothing here."""
    import ast

    namespace = {"bm": bm}
    checked = 0
    for block in _code_blocks(path):
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            chain = node.func
            while isinstance(chain, ast.Attribute):
                chain = chain.value
            if not (isinstance(chain, ast.Name) and chain.id == "bm"):
                continue
            fn = _resolve(node.func, namespace)
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                continue
            sig = inspect.signature(fn)
            try:
                sig.bind(*[None] * len(node.args), **{k.arg: None for k in node.keywords})
            except TypeError as err:
                raise AssertionError(f"{path.name}: {ast.unparse(node)}: {err}") from None
            checked += 1
    if path.name in ("README.md", "index.md", "guide.md"):
        assert checked >= 5, f"{path.name}: expected library calls in its code blocks"


# ------------------------------------------------------- Sphinx roles on the site (scripts/griffe_roles.py)
def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "role, html",
    [
        (":func:`~bayes_mfg.loo`", '<autoref identifier="bayes_mfg.loo" optional><code>loo()</code></autoref>'),
        (":class:`bayes_mfg.Fit`", '<autoref identifier="bayes_mfg.Fit" optional><code>bayes_mfg.Fit</code></autoref>'),
        (":meth:`the tree <bayes_mfg.Fit.to_arviz>`",
         '<autoref identifier="bayes_mfg.Fit.to_arviz" optional><code>the tree</code></autoref>'),
        (":py:data:`~.SIMPLEX_ATOL`", '<autoref identifier="SIMPLEX_ATOL" optional><code>SIMPLEX_ATOL</code></autoref>'),
    ],
)
def test_sphinx_roles_become_autorefs(role, html):
    assert _script("griffe_roles").rewrite_roles(f"see {role}.") == f"see {html}."


def test_relative_role_targets_resolve_like_sphinx():
    """A bare name is looked up from the documented object outwards, then kept as written."""
    import griffe

    pkg = griffe.load("bayes_mfg", search_paths=[str(ROOT)])
    roles = _script("griffe_roles")
    resolve = roles._resolver(pkg["inference"]["Fit"], pkg)
    assert resolve("to_arviz") == "bayes_mfg.inference.Fit.to_arviz"  # a member of the object
    assert resolve("fit_nuts") == "bayes_mfg.inference.fit_nuts"  # its module's
    assert resolve("numpyro.infer.MCMC") == "numpyro.infer.MCMC"  # not ours: unchanged


def test_site_check_finds_a_raw_role(tmp_path):
    check = _script("check_site")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "index.html").write_text("<p>Use <a href='#x'><code>loo()</code></a>.</p>")
    assert check.main([str(tmp_path)]) == 0
    (tmp_path / "index.html").write_text("<p>Use :meth:<code>bayes_mfg.Fit.to_arviz</code>.</p>")
    assert check.raw_roles(tmp_path) == ["index.html: :meth:<code>"]
    assert check.main([str(tmp_path)]) == 1
