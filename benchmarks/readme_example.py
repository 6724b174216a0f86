"""Wall time of the README's first example, statement by statement, as a new user runs it.

Run as::

    python -m benchmarks.readme_example [--out-dir benchmarks/results]

The code is read from ``README.md`` itself (its first ``python`` block), so the figure is
that of the example users copy. Each top-level statement runs once, in order, in a fresh
process's first session: compilation is included, as a user in a notebook waits for it
(there is no warm-up and no repeat; a second run of the same process would be faster). The
table gives each statement's wall time, the warnings it raised and the total; also the size
of the fit's DataTree written by ``bm.save`` (the user's result file) and how ``compare``
scored each model (PSIS-LOO or refits). JSON in ``<out-dir>/readme_example.json``.
"""

from __future__ import annotations

import argparse
import ast
import re
import tempfile
import time
import warnings
from pathlib import Path

from benchmarks._timing import ROOT, machine_info, markdown_table, write_json


def readme_statements(readme: Path = ROOT / "README.md") -> list[str]:
    """The top-level statements of the README's first ``python`` code block, as source."""
    block = re.search(r"```python\n(.*?)```", readme.read_text(), re.S)
    if block is None:
        raise ValueError(f"{readme}: no python code block")
    code = block.group(1)
    return [ast.get_source_segment(code, node) for node in ast.parse(code).body]


def run(out_dir: Path) -> dict:
    namespace: dict = {}
    rows = []
    t_start = time.perf_counter()
    for stmt in readme_statements():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            if isinstance(ast.parse(stmt).body[0], ast.Expr):  # keep an expression's value, as a notebook cell does
                namespace["_"] = eval(compile(stmt, "README.md", "eval"), namespace)  # noqa: S307 - the README's code
            else:
                exec(compile(stmt, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
            wall = time.perf_counter() - t0
        rows.append({"statement": stmt.splitlines()[0][:70], "wall_s": wall,
                     "warnings": [f"{w.category.__name__}: {str(w.message)[:160]}" for w in caught]})
        print(f"{wall:8.1f} s  {rows[-1]['statement']}", flush=True)
    total = time.perf_counter() - t_start
    bm = namespace["bm"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fit.nc"
        bm.save(namespace["tree"], path)
        size = path.stat().st_size
    cmp = rows[-1]
    last = namespace.get("_")
    methods = {str(k): str(v) for k, v in last.table["method"].items()} if hasattr(last, "table") else {}
    result = {"machine": machine_info(), "statements": rows, "total_s": total, "fit_file_bytes": size,
              "compare_methods": methods, "compare_s": cmp["wall_s"]}
    print()
    print(markdown_table(["statement", "wall s", "warnings"],
                         [[r["statement"], f"{r['wall_s']:.1f}", len(r["warnings"])] for r in rows]))
    print(f"\ntotal {total:.0f} s; fit file (bm.save of fit.to_arviz()) {size / 1e6:.2f} MB; "
          f"compare methods {methods}")
    for r in rows:
        for w in r["warnings"]:
            print(f"  warning in `{r['statement']}`: {w}")
    write_json(out_dir / "readme_example.json", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    run(args.out_dir)


if __name__ == "__main__":
    main()
