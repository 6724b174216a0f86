"""The import rules import-linter cannot see, checked on the source with ``ast``.

The layers themselves are an import-linter contract in ``pyproject.toml`` (``make lint``:
``lint-imports``); it works on modules, so two rules are checked here:

* **no private names across modules**: ``from bayes_mfg.x import _name`` (or
  ``module._name``) outside ``bayes_mfg.x`` reaches into another module's implementation. A
  helper shared by several modules is a public name, in a private module if it is not API.
  (Importing a private *module*, ``from bayes_mfg.criticism import _sbc``, is the
  ``private_modules`` contract's business.)
* **no upward imports hidden in a function**: an import inside a function body of a module
  from a higher layer (the layers are read from the import-linter contract), or of the
  package ``bayes_mfg`` itself from a module that the package imports, is an import circle
  postponed to run time.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bayes_mfg"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_module(name: str) -> bool:
    return name in MODULES


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def layers() -> list[set[str]]:
    """The layers of the import-linter contract, highest first: ``[{"cli"}, ..., {"data", ...}]``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c.get("id") == "layers"]
    return [{t.strip().strip("()") for t in re.split(r"[|:]", layer)} for layer in contract["layers"]]


LAYERS = layers()


def layer_of(module: str) -> int | None:
    """Index of the layer of ``bayes_mfg.<top>...`` (0 = highest); None for the package itself."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    for i, layer in enumerate(LAYERS):
        if parts[1] in layer:
            return i
    raise AssertionError(f"{module} is in no layer of the import-linter contract (pyproject.toml)")


def imported_by_the_package() -> set[str]:
    """The subpackages/modules ``bayes_mfg/__init__.py`` imports (at any depth of its body)."""
    out = set()
    for node in ast.walk(ast.parse((PACKAGE / "__init__.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bayes_mfg":
                out |= {a.name for a in node.names if is_module(f"bayes_mfg.{a.name}")}
            elif node.module.startswith("bayes_mfg."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("bayes_mfg.")}
    return out


@dataclass
class Found:
    line: int
    what: str

    def __str__(self) -> str:
        return f"l.{self.line}: {self.what}"


class Imports(ast.NodeVisitor):
    """Every import of a bayes_mfg module or name in one module, with whether it sits in a function."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.depth = 0  # function nesting
        self.aliases: dict[str, str] = {}  # local name -> bayes_mfg module it is bound to
        self.private: list[Found] = []
        self.function_level: list[tuple[int, str]] = []  # (line, imported bayes_mfg module)

    def absolute(self, node: ast.ImportFrom) -> str | None:
        if node.level == 0:
            return node.module
        base = self.module.split(".")
        base = base if self.is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            if alias.name == "bayes_mfg" or alias.name.startswith("bayes_mfg."):
                if self.depth:
                    self.function_level.append((node.lineno, alias.name))
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    self.aliases["bayes_mfg"] = "bayes_mfg"

    def visit_ImportFrom(self, node: ast.ImportFrom):
        source = self.absolute(node)
        if not source or not (source == "bayes_mfg" or source.startswith("bayes_mfg.")):
            return
        for alias in node.names:
            target = f"{source}.{alias.name}"
            if is_module(target):  # a submodule: its own import
                self.aliases[alias.asname or alias.name] = target
                if self.depth:
                    self.function_level.append((node.lineno, target))
                continue
            if self.depth:
                self.function_level.append((node.lineno, source))
            if is_private(alias.name) and source != self.module:
                self.private.append(Found(node.lineno, f"from {source} import {alias.name}"))

    def visit_Attribute(self, node: ast.Attribute):
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.aliases:
            module = self.aliases[base.id]
            for attr in reversed(chain):
                if is_module(f"{module}.{attr}"):
                    module = f"{module}.{attr}"
                    continue
                if is_private(attr) and module != self.module:
                    self.private.append(Found(node.lineno, f"{module}.{attr} (as {base.id}...)"))
                break
            return  # the chain is handled: do not visit its inner Attribute nodes again
        self.generic_visit(node)


def scan(module: str) -> Imports:
    path = MODULES[module]
    visitor = Imports(module, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(), filename=str(path)))
    return visitor


SCANS = {m: scan(m) for m in MODULES}


def test_the_scan_sees_the_package():
    assert len(MODULES) >= 40 and "bayes_mfg.model" in MODULES
    assert {"games", "model", "criticism"} <= imported_by_the_package()


def test_the_rules_catch_what_they_should(tmp_path):
    """The visitor on a made-up module: each rule fires, and fires only where it should."""
    source = (
        "from bayes_mfg.model import _helper, CalibrationModel\n"
        "from bayes_mfg import _validation\n"
        "import bayes_mfg.model as m\n"
        "x = m._private_name\n"
        "y = _validation.check_positive\n"
        "def f():\n"
        "    import bayes_mfg\n"
        "    from bayes_mfg.criticism import sbc\n"
    )
    visitor = Imports("bayes_mfg.games.toy", is_package=False)
    visitor.visit(ast.parse(source))
    assert [f.what for f in visitor.private] == ["from bayes_mfg.model import _helper",
                                                 "bayes_mfg.model._private_name (as m...)"]
    assert [m for _, m in visitor.function_level] == ["bayes_mfg", "bayes_mfg.criticism"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_across_modules(module):
    found = SCANS[module].private
    assert not found, f"{module} uses private names of other modules:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "bayes_mfg"))
def test_no_upward_imports_inside_functions(module):
    own = layer_of(module)
    package_imports = imported_by_the_package()
    upward = []
    for line, target in SCANS[module].function_level:
        if target == "bayes_mfg":
            if module.split(".")[1] in package_imports:
                upward.append(f"l.{line}: import bayes_mfg (the package imports {module.split('.')[1]})")
            continue
        other = layer_of(target)
        if other is not None and other < own:
            upward.append(f"l.{line}: {target} (layer {sorted(LAYERS[other])} is above {sorted(LAYERS[own])})")
    assert not upward, f"{module} hides upward imports in functions:\n" + "\n".join(upward)
