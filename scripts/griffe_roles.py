"""Sphinx cross-reference roles in docstrings, as links on the documentation site.

The docstrings use Sphinx's roles (``:class:`~bayes_mfg.Fit```, ``:func:`bayes_mfg.loo```),
which read well in ``help()`` and IDEs; mkdocstrings renders Markdown and would show them
raw. This griffe extension (``mkdocs.yml``: mkdocstrings' ``extensions``) rewrites each role
into an *optional* autorefs reference: a link where the target is rendered on the site, the
name in code font where it is not (an external or undocumented object), never the raw role.

``scripts/check_site.py`` fails the docs build if any role survives in the HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

#: ``:role:`target``` / ``:role:`~target``` / ``:role:`title <target>```, roles as in Sphinx's Python domain.
ROLE = re.compile(r":(?:py:)?(?P<role>class|func|meth|attr|data|mod|exc|obj|const|term|ref)"
                  r":`(?P<body>[^`]+)`")
CALLABLE_ROLES = {"func", "meth"}


def _reference(match: re.Match, resolve: Any = None) -> str:
    role, body = match["role"], match["body"].strip()
    explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^<>]+)>", body)
    if explicit:
        title, target = explicit["title"], explicit["target"]
    else:
        short = body.startswith("~")
        target = body.lstrip("~")
        title = target.lstrip(".").rsplit(".", 1)[-1] if short else target.lstrip(".")
        if role in CALLABLE_ROLES and not title.endswith(")"):
            title += "()"
    target = target.lstrip("~.")
    if resolve is not None:
        target = resolve(target)
    return (f'<autoref identifier="{html.escape(target, quote=True)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>")


def rewrite_roles(text: str, resolve: Any = None) -> str:
    """Replace every Sphinx role in ``text`` by an optional autorefs reference.

    ``resolve(target)`` (optional) turns a relative target (``save``, ``Fit.to_arviz``) into
    the full path the site knows it by.

    Examples
    --------
    >>> rewrite_roles("see :func:`~bayes_mfg.loo`")
    'see <autoref identifier="bayes_mfg.loo" optional><code>loo()</code></autoref>'
    """
    return ROLE.sub(lambda m: _reference(m, resolve), text)


def _resolver(obj: griffe.Object, root: griffe.Module) -> Any:
    """Sphinx's lookup order for a relative target: the object, its parents outwards, then
    the package's top level; the target unchanged if none holds it."""

    def exists(path: str) -> bool:
        if not path.startswith(root.path + "."):
            return False
        try:
            root.get_member(path[len(root.path) + 1:])
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return False
        return True

    def resolve(target: str) -> str:
        scope: griffe.Object | None = obj
        while scope is not None:
            if exists(f"{scope.path}.{target}"):
                return f"{scope.path}.{target}"
            scope = scope.parent
        return target

    return resolve


def _rewrite_tree(obj: griffe.Object, root: griffe.Module) -> None:
    if obj.docstring is not None:
        obj.docstring.value = rewrite_roles(obj.docstring.value, _resolver(obj, root))
    for member in obj.members.values():
        if not member.is_alias:  # an alias's docstring is its target's, rewritten where that lives
            _rewrite_tree(member, root)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles in every docstring of a loaded package (modules, classes, functions,
    attributes), once the whole package is loaded (attribute docstrings come last)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:  # noqa: D102
        _rewrite_tree(pkg, pkg)
