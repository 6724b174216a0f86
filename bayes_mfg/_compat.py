"""Work-arounds for other packages, each guarded by the versions it is known for (a leaf module)."""

from __future__ import annotations

import importlib.metadata as md
import sys

__all__ = ["rebind_numpyro_submodules"]

_DONE = False


def _arviz_base_affected() -> bool:
    """arviz-base 1.x (measured on 1.3.1) loads NumPyro through ``importlib.util.LazyLoader``."""
    if "arviz_base" not in sys.modules:
        return False
    try:
        return md.version("arviz-base").split(".")[0] == "1"
    except md.PackageNotFoundError:
        return False


def rebind_numpyro_submodules() -> None:
    """Re-attach loaded ``numpyro.*`` submodules to their parent packages, once, if needed.

    Why: when ArviZ (arviz-base 1.x) is imported before NumPyro, NumPyro is loaded through
    arviz-base's lazy module, which leaves some submodules, e.g.
    ``numpyro.distributions.distribution``, in ``sys.modules`` but not bound as attributes
    of their parent; ``numpyro.factor`` then fails with "module 'numpyro.distributions' has
    no attribute 'distribution'". Binding them is what a normal import does. Called where
    the library first needs NumPyro's handlers (a model evaluation, building a DataTree),
    never at import; a no-op when arviz-base was not imported or is not a 1.x release.
    """
    global _DONE
    if _DONE or not _arviz_base_affected():
        return
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith("numpyro."):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name)
        if parent is not None and child not in vars(parent):
            setattr(parent, child, module)
    _DONE = True
