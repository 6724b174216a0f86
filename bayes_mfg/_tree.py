"""Where a fit's DataTree keeps what (a leaf: no imports of the package).

The ``posterior`` group holds the latent sites only (what ArviZ diagnoses and plots by
default: ``az.summary(tree)`` is one row per parameter entry); the deterministic functions of
each draw (the parameter paths on the time grid ``f"{name}_path"``, the equilibrium ``mu``, a
readout, other deterministic sites) are in the group :data:`DETERMINISTIC_GROUP`, with the
same ``chain``/``draw`` dims. The prior draws of the paths sit likewise in
:data:`PRIOR_DETERMINISTIC_GROUP` beside ``prior``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DETERMINISTIC_GROUP", "PRIOR_DETERMINISTIC_GROUP", "posterior_variables"]

#: The DataTree group of the deterministic sites of each posterior draw.
DETERMINISTIC_GROUP = "posterior_deterministic"
#: The DataTree group of the parameter paths ``f"{name}_path"`` of each prior draw.
PRIOR_DETERMINISTIC_GROUP = "prior_deterministic"


def posterior_variables(tree: Any) -> Any:
    """The posterior draws and their deterministic sites as one ``xarray.Dataset``
    (a tree saved before the split keeps both in ``posterior``)."""
    post = tree["posterior"].to_dataset()
    if DETERMINISTIC_GROUP in tree.children:
        post = post.merge(tree[DETERMINISTIC_GROUP].to_dataset(), compat="override", join="outer")
    return post
