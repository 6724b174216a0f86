"""Fail when the built documentation site shows a raw Sphinx role (``:meth:`...```).

Usage: ``python scripts/check_site.py build/site`` (``make test`` and ``make docs`` run it
after ``mkdocs build``). Exit status 1 and one line per page and role when any is left.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RAW_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const|term|ref):(?:`|<code>)")


def raw_roles(site: Path) -> list[str]:
    """``"page: role"`` for every raw role in the site's HTML pages."""
    found = []
    for page in sorted(site.rglob("*.html")):
        for match in RAW_ROLE.finditer(page.read_text(encoding="utf-8")):
            found.append(f"{page.relative_to(site)}: {match.group(0)}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python scripts/check_site.py SITE_DIR (a built mkdocs site)", file=sys.stderr)
        return 2
    site = Path(argv[0])
    pages = list(site.rglob("*.html"))
    if not pages:
        print(f"check_site: no HTML pages under {site}", file=sys.stderr)
        return 1
    found = raw_roles(site)
    for line in found:
        print(f"raw Sphinx role on the site: {line}", file=sys.stderr)
    print(f"check_site: {len(pages)} pages, {len(found)} raw roles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
