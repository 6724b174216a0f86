"""One-call uncertainty report of a calibration: a self-contained HTML or Markdown file.

:func:`report` writes, for one fit or several (``{name: fit}``): the model and sampler
settings, a parameter table with HDIs, the parameter-path bands, sampler and solver
diagnostics, the identifiability report, a posterior predictive check with its coverage
table and, for several fits, the model comparison table. HTML embeds its figures (PNG,
base64); Markdown writes them next to the file in ``<stem>_figures/``.

From a saved ``DataTree`` alone (the CLI's ``bayes-mfg report``) the sections that need
the model (identifiability's prior and Laplace parts, K-fold refits) are computed only when
the model is given; the others read the tree's groups.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mfg._tables import markdown_table, markdown_to_html
from bayes_mfg._tree import posterior_variables
from bayes_mfg.criticism._comparison import compare
from bayes_mfg.criticism._fits import ROLES_ATTR, default_parameters, tree_site_roles
from bayes_mfg.criticism._identifiability import identifiability as ident
from bayes_mfg.criticism._predictive import predictive_check
from bayes_mfg.criticism._time_step import time_step_check
from bayes_mfg.data import Observations
from bayes_mfg.games.base import ContinuousTimeGame
from bayes_mfg.inference import Fit, site_roles

FORMATS = (".html", ".md")
#: Site roles left out of a tree-only parameter table (network weights: identified only up to symmetries).
_NOT_REPORTED = ("path", "equilibrium", "network", "point", "local")


def _fig_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def parameter_table(tree: xr.DataTree, var_names: list[str], hdi_prob: float = 0.94) -> pd.DataFrame:
    """Mean, sd, HDI, r_hat, bulk/tail ESS per scalar parameter (ArviZ ``summary``)."""
    import arviz_stats as azs

    return azs.summary(tree, var_names=var_names, ci_prob=hdi_prob)


def plot_paths(tree: xr.DataTree, names: list[str], *, trajectory: int = 0, truth: Mapping[str, Any] | None = None):
    """:func:`bayes_mfg.plots.plot_path` for each parameter, side by side; returns the Figure."""
    import matplotlib.pyplot as plt

    from bayes_mfg.plots import plot_path

    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.3), squeeze=False, constrained_layout=True)
    for ax, name in zip(axes[0], names):
        plot_path(tree, name, truth=None if truth is None else truth.get(name), trajectory=trajectory, ax=ax)
    return fig


def diagnostics(tree: xr.DataTree, roles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Sampler and solver diagnostics from a fit's tree (``roles``: its sites' roles, default
    :func:`tree_site_roles`; r_hat and ESS are over the global sites but paths and ``mu``)."""
    import arviz_stats as azs

    roles = tree_site_roles(tree) if roles is None else roles

    out: dict[str, Any] = {"method": tree.attrs.get("bayes_mfg_method", "?")}
    st = tree["sample_stats"] if "sample_stats" in tree.children else None
    post = tree["posterior"]
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    out["chains x draws"] = f"{n_chain} x {n_draw}"
    if st is not None and "diverging" in st:
        out["divergences"] = int(np.asarray(st["diverging"].values).sum())
        out["mean tree depth"] = float(np.asarray(st["tree_depth"].values).mean())
    latent = [v for v in post.data_vars
              if roles.get(v) not in ("path", "equilibrium") and "trajectory" not in post[v].dims]
    if latent and n_chain > 1:
        rh = azs.rhat(post.to_dataset()[latent])
        es = azs.ess(post.to_dataset()[latent])
        out["max r_hat"] = float(max(float(rh[v].max()) for v in latent))
        out["min bulk ESS"] = float(min(float(es[v].min()) for v in latent))
    if st is not None and "solver_converged" in st:
        conv = np.asarray(st["solver_converged"].values)
        out["equilibrium solves converged"] = f"{conv.mean():.4%}"
        out["max solver residual"] = float(np.asarray(st["solver_residual"].values).max())
    return out


def _tree_ppc(tree: xr.DataTree, prob: float = 0.94) -> pd.DataFrame:
    """Coverage of central predictive intervals from the tree's posterior_predictive group."""
    pred = np.asarray(tree["posterior_predictive"]["obs"].values)
    pred = pred.reshape(-1, *pred.shape[2:])
    obs = np.asarray(tree["observed_data"]["obs"].values)
    mask = np.asarray(tree["observed_data"]["mask"].values)
    q = (1 - prob) / 2
    lo, hi = np.quantile(pred, [q, 1 - q], axis=0)
    inside = (obs >= lo) & (obs <= hi)
    column = tree["observed_data"]["obs"].dims[-1]  # "state", or a readout's outputs
    states = [str(s) for s in tree["observed_data"]["obs"][column].values]
    rows = {s: (float(inside[..., x][mask[..., x]].mean()) if mask[..., x].any() else np.nan, int(mask[..., x].sum()))
            for x, s in enumerate(states)}
    rows["all"] = (float(inside[mask].mean()), int(mask.sum()))
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["coverage", "n_entries"])
    df.index.name = column
    return df


def _blocks_for_fit(name: str, fit: Any, *, model, data: Observations | None, test_data: Observations | None,
                    truth: Mapping[str, Any] | None, identifiability: bool, time_step: bool) -> list:
    is_result = isinstance(fit, Fit)
    tree = fit.to_arviz() if is_result else fit
    model = fit.model if is_result else model
    data = fit.data if is_result else data
    blocks: list = [("md", f"## {name}")]
    attrs = {k: v for k, v in tree.attrs.items() if k != ROLES_ATTR and k.startswith((
        "bayes_mfg", "game", "paths", "observation", "setting_", "version_", "seed", "solver"))}
    if attrs:
        blocks.append(("md", "### Model and settings\n\n" + "\n".join(f"- **{k}**: `{v}`" for k, v in attrs.items())))
    post = posterior_variables(tree)
    if is_result:
        roles = fit.site_roles()
    elif model is not None and data is not None:
        roles = site_roles(model, data)
    else:
        roles = tree_site_roles(tree)
    if model is not None and data is not None:
        names = default_parameters(model, data, roles)
    else:
        names = [v for v in post.data_vars if roles.get(v) not in _NOT_REPORTED and v != "mu0"
                 and "trajectory" not in post[v].dims]
    blocks.append(("md", "### Parameters\n\n" + markdown_table(parameter_table(tree, names))))
    # a path site is named f"{parameter}_path" (CalibrationModel.declared_site_roles)
    path_names = sorted(v.removesuffix("_path") for v in post.data_vars if roles.get(v) == "path")
    if path_names:
        blocks.append(("fig", plot_paths(tree, path_names, truth=truth), "parameter paths (trajectory 0)"))
    diag = diagnostics(tree, roles)
    blocks.append(("md", "### Diagnostics\n\n" + "\n".join(f"- {k}: {v:.4g}" if isinstance(v, float) else f"- {k}: {v}"
                                                           for k, v in diag.items())))
    if time_step and is_result and isinstance(model.game, ContinuousTimeGame):
        check = time_step_check(fit, num_draws=50)
        warn = f"**Warning: {check.warning}**\n\n" if check.warning is not None else ""
        blocks.append(("md", "### Time step\n\n" + warn + check.summary()))
    if "svi_losses" in tree.children:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 2.8), constrained_layout=True)
        loss = np.asarray(tree["svi_losses"]["loss"].values)
        ax.plot(loss)
        ax.set(xlabel="step", ylabel="loss (-ELBO)", yscale="symlog", title="SVI loss")
        blocks.append(("fig", fig, "SVI loss"))
    if identifiability and model is not None and data is not None:
        src = fit if is_result else tree
        rep = ident(src, model=None if is_result else model, data=None if is_result else data)
        blocks.append(("md", rep.to_markdown().replace("## Identifiability", "### Identifiability")))
        blocks.append(("fig", rep.plot_contraction(), "prior-to-posterior contraction"))
        if len(rep.parameters) > 1 and not np.all(np.isnan(rep.parameters["sd"])):
            blocks.append(("fig", rep.plot_pairs(), "least identified parameters"))
    elif identifiability:
        blocks.append(("md", "### Identifiability\n\nNeeds the model and data (Python API: `bm.report(fit, ...)`)."))
    ppc_md = "### Posterior predictive check (fitted data)\n\n" + markdown_table(_tree_ppc(tree))
    blocks.append(("md", ppc_md))
    if is_result:
        chk = predictive_check(fit)
        blocks.append(("fig", chk.plot(trajectories=list(range(min(3, data.n_trajectories)))),
                       "observed (dots) vs predicted: equilibrium band (dark) and predictive interval (light)"))
        if test_data is not None:
            held = predictive_check(fit, test_data)
            blocks.append(("md", "### Posterior predictive check (held-out trajectories)\n\n" + held.to_markdown()))
    return blocks


def report(
    fits: Any,
    path: str | Path,
    *,
    model: Any = None,
    data: Observations | None = None,
    test_data: Observations | None = None,
    truth: Mapping[str, Any] | None = None,
    identifiability: bool = True,
    time_step: bool = True,
    compare_unit: str = "trajectory",
    title: str = "bayes_mfg calibration report",
) -> Path:
    """Write an uncertainty report for one fit or several.

    Parameters
    ----------
    fits
        A fit (:class:`bayes_mfg.inference.Fit`) or ArviZ DataTree, or ``{name: fit}`` for several (then a model
        comparison section is added).
    path
        Output file, ``.html`` (self-contained, figures embedded) or ``.md`` (figures in
        ``<stem>_figures/``).
    model, data
        For DataTree inputs: the model and data (enable identifiability); ignored for results.
    test_data
        Held-out trajectories: an out-of-sample predictive check and, with several fits,
        held-out errors in the comparison.
    truth
        Optional ``{parameter: value or (N,) path}`` drawn on the path figures (synthetic data).
    identifiability
        Include the identifiability section.
    time_step
        Include the time-step check of each fit (:func:`~bayes_mfg.time_step_check`: do the
        posterior means move when dt is halved?) and its warning; fits only, continuous-time
        games only.
    compare_unit
        Unit left out by the comparison (``"trajectory"`` or ``"observation"``).
    title
        Report title.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> bm.report(fit, "report.html", test_data=test)  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ValueError(f"path must end in one of {FORMATS}, got {str(path)!r}")
    many = isinstance(fits, Mapping) and not isinstance(fits, xr.DataTree)  # a DataTree is a Mapping too
    items = dict(fits) if many else {"fit": fits}
    if not items:
        raise ValueError("fits is empty")
    blocks: list = [("md", f"# {title}")]
    if many and len(items) > 1:
        cmp = compare(items, unit=compare_unit, test_data=test_data)
        blocks.append(("md", "## Model comparison\n\n" + cmp.to_markdown()))
        blocks.append(("fig", cmp.plot(), "ELPD per model"))
    for name, fit in items.items():
        blocks += _blocks_for_fit(name, fit, model=model, data=data, test_data=test_data, truth=truth,
                                  identifiability=identifiability, time_step=time_step)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".html":
        body = []
        for b in blocks:
            if b[0] == "md":
                body.append(markdown_to_html(b[1]))
            else:
                data64 = base64.b64encode(_fig_png(b[1])).decode()
                body.append(f'<figure><img src="data:image/png;base64,{data64}"/><figcaption>{html.escape(b[2])}'
                            "</figcaption></figure>")
        style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
                 "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}")
        path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    else:
        figdir = path.with_name(path.stem + "_figures")
        figdir.mkdir(exist_ok=True)
        parts, k = [], 0
        for b in blocks:
            if b[0] == "md":
                parts.append(b[1])
            else:
                k += 1
                f = figdir / f"figure_{k:02d}.png"
                f.write_bytes(_fig_png(b[1]))
                parts.append(f"![{b[2]}]({figdir.name}/{f.name})")
        path.write_text("\n\n".join(parts) + "\n")
    return path


__all__ = ["report", "parameter_table", "plot_paths", "diagnostics"]
