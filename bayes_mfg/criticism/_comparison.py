"""Model comparison: PSIS-LOO (ArviZ) with K-fold fallback, and held-out trajectory error.

Compare parameterisations of one game (constant / spline / neural / hierarchical), games
against each other, and any of them against the no-game baseline
(:class:`bayes_mfg.games.MeanFieldDynamics`), all fitted to the same :class:`Observations`
with the same observation model.

The unit left out is chosen with ``unit``:

* ``"trajectory"`` (default): the log-likelihood of a whole trajectory (summed over its
  observed times): predicting a new population trajectory, the seed paper's test question;
* ``"observation"``: one observed row ``(trajectory, time)``: interpolation within
  trajectories.

PSIS-LOO's Pareto ``k`` diagnoses each unit; where any ``k`` exceeds ArviZ's threshold
(``min(1 - 1 / log10(S), 0.7)`` for S draws) and the fit result (not only its DataTree) is
given, those units are scored exactly: the model is refitted with the same method and
settings (:meth:`bayes_mfg.inference.Fit.refit`) on the data with the unit masked, and the unit
is scored by ``log mean_s p(y_unit | theta_s)`` over the draws of the fit without it. With at
most ``kfold`` bad units each is refitted alone (exact leave-one-out, ArviZ's *reloo*; the
other units keep their PSIS estimate); with more, exact K-fold cross-validation of every unit
(K refits) is cheaper. A warning says how many refits start before the first one, and a
progress bar follows them. A NUTS refit is warm-started (:meth:`NUTSResult.refit
<bayes_mfg.inference.NUTSResult.refit>`): its chains start at the fit's last draws with the
fit's adapted mass matrix, and a short warm-up adapts only the step size; its draws are
exact NUTS draws of the posterior without the unit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mfg._tables import markdown_table
from bayes_mfg._validation import check_choice, check_positive_int, check_seed
from bayes_mfg.criticism._fits import tree_and_fit
from bayes_mfg.criticism._predictive import heldout_error, posterior_draws
from bayes_mfg.data import Observations
from bayes_mfg.inference import Fit
from bayes_mfg.inference.failures import without_reports

UNITS = ("trajectory", "observation")
PLURAL = {"trajectory": "trajectories", "observation": "observations"}


def pointwise_log_likelihood(tree: xr.DataTree, unit: str = "trajectory") -> xr.DataArray:
    """Log-likelihood per left-out unit, dims ``(chain, draw, unit)``.

    Parameters
    ----------
    tree
        A fit's ArviZ ``DataTree`` (groups ``log_likelihood`` and ``observed_data``).
    unit
        ``"trajectory"`` sums over time; ``"observation"`` keeps the rows ``(trajectory,
        time)`` with at least one observed entry (stacked into ``"observation"``).

    Returns
    -------
    xarray.DataArray
        Dims ``(chain, draw, trajectory)`` or ``(chain, draw, observation)``.

    Examples
    --------
    >>> bm.criticism.pointwise_log_likelihood(fit.to_arviz(), "observation").dims  # doctest: +SKIP
    ('chain', 'draw', 'observation')
    """
    check_choice("unit", unit, UNITS)
    ll = tree["log_likelihood"]["obs"]
    if unit == "trajectory":
        return ll.sum("time")
    mask = np.asarray(tree["observed_data"]["mask"].values).any(-1)
    stacked = ll.stack(observation=("trajectory", "time"))
    keep = mask.reshape(-1)
    out = stacked.isel(observation=np.nonzero(keep)[0])
    out = out.drop_vars(["observation", "trajectory", "time"])
    return out.assign_coords(observation=np.arange(out.sizes["observation"]))


def _stacking_weights(elpd_i: np.ndarray) -> np.ndarray:
    """Stacking weights (Yao et al. 2018) from pointwise ELPDs ``(n_units, n_models)``:
    maximise ``sum_i log sum_k w_k exp(elpd_ik)`` over the simplex."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    lp = elpd_i - elpd_i.max(axis=1, keepdims=True)

    def loss(a):
        w = np.log(softmax(np.append(a, 0.0)))
        return -np.sum(logsumexp(lp + w[None], axis=1))

    a = minimize(loss, np.zeros(elpd_i.shape[1] - 1), method="BFGS").x
    return softmax(np.append(a, 0.0))


def _good_k(n_draws: int) -> float:
    return min(1.0 - 1.0 / np.log10(n_draws), 0.7)


@dataclass
class ModelLOO:
    """ELPD of one model (:func:`loo`): PSIS-LOO, or K-fold where PSIS was unreliable.

    Attributes
    ----------
    name, method
        The model's label and ``"psis-loo"``, ``"psis-loo+reloo"`` (bad-k units refitted one
        by one) or ``"kfold"``.
    elpd, se, p
        ELPD, its standard error and the effective number of parameters (NaN after refits).
    pointwise, pareto_k
        Per left-out unit: its ELPD and PSIS Pareto ``k``.
    n_bad_k, good_k
        Units with ``k > good_k`` and the threshold ``min(1 - 1 / log10(S), 0.7)``.
    heldout
        :func:`heldout_error` on test data (set by :func:`compare` with ``test_data``).

    Examples
    --------
    >>> m = bm.loo(fit)  # doctest: +SKIP
    >>> m.elpd, m.se, m.method  # doctest: +SKIP
    """

    name: str
    method: str  # "psis-loo", "psis-loo+reloo" or "kfold"
    elpd: float
    se: float
    p: float
    pointwise: np.ndarray
    pareto_k: np.ndarray
    n_bad_k: int
    good_k: float
    heldout: dict[str, float] | None = None


@dataclass
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    table
        One row per model, best first: ``elpd``, ``se``, ``elpd_diff`` and ``dse`` (the
        difference to the best model and its standard error, from the paired pointwise
        differences), ``p`` (effective number of parameters; NaN for K-fold), ``method``
        (``psis-loo`` or ``kfold``), ``n_bad_k`` (units with Pareto k above ``good_k``),
        ``weight`` (stacking weights from ArviZ when all models use PSIS-LOO) and, with
        ``test_data``, the held-out ``test_mse`` / ``test_rmse``.
    models
        ``{name: ModelLOO}`` with the pointwise values.
    unit
        The unit left out.
    warnings
        Pareto-k and fallback messages (also emitted as ``UserWarning``).

    Examples
    --------
    >>> cmp = bm.compare({"game": fit_game, "no game": fit_baseline}, test_data=test)  # doctest: +SKIP
    >>> cmp.table, cmp.difference("game", "no game"), cmp.plot()  # doctest: +SKIP
    """

    table: pd.DataFrame
    models: dict[str, ModelLOO]
    unit: str
    warnings: list[str] = field(default_factory=list)

    def difference(self, a: str, b: str) -> tuple[float, float]:
        """``(elpd_a - elpd_b, se)`` with the standard error of the paired differences."""
        pa, pb = self.models[a].pointwise, self.models[b].pointwise
        diff = pa - pb
        return float(diff.sum()), float(np.sqrt(len(diff) * np.var(diff, ddof=1)))

    def to_markdown(self) -> str:
        head = f"ELPD by leaving out one {self.unit} at a time (higher is better)"
        notes = "".join(f"\n- {w}" for w in self.warnings)
        return f"{head}\n\n{markdown_table(self.table)}\n{notes}\n"

    def __repr__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def plot(self, ax: Any = None):
        """ELPD per model with +-2 se bars (differences to the best in orange)."""
        import matplotlib.pyplot as plt

        t = self.table
        if ax is None:
            fig, ax = plt.subplots(figsize=(5.5, 0.5 * len(t) + 1.5), constrained_layout=True)
        else:
            fig = ax.figure
        y = np.arange(len(t))[::-1]
        ax.errorbar(t["elpd"], y, xerr=2 * t["se"], fmt="o", color="k", label="elpd +- 2 se")
        best = t["elpd"].iloc[0]
        ax.errorbar(best - t["elpd_diff"], y - 0.15, xerr=2 * t["dse"], fmt="^", color="tab:orange",
                    label="best - diff +- 2 dse")
        ax.set_yticks(y, list(t.index))
        ax.set(xlabel=f"elpd (leave one {self.unit} out)")
        ax.legend(fontsize=7)
        return fig


def loo(fit: Any, *, unit: str = "trajectory", kfold: int | None = 5, name: str = "model", seed: int = 0,
        progress_bar: bool = True) -> ModelLOO:
    """PSIS-LOO ELPD of one fit, refitted exactly where Pareto k is bad (see module docstring).

    Parameters
    ----------
    fit
        A fit (:class:`bayes_mfg.inference.Fit`: K-fold possible) or an ArviZ ``DataTree`` (PSIS-LOO only).
    unit
        ``"trajectory"`` or ``"observation"``.
    kfold
        Most refits the exact fallback may run: with ``n_bad`` units of bad k, ``n_bad <=
        kfold`` refits them one by one (exact leave-one-out), more run ``kfold``-fold
        cross-validation of every unit. ``None`` disables refits (a warning reports bad k).
    name
        Label used in messages.
    seed
        Seed of the fold assignment and refits.
    progress_bar
        Show a progress bar over the refits (a warning says how many start, before the first).

    Returns
    -------
    ModelLOO
        ``elpd``, ``se``, ``p``, ``pointwise``, ``pareto_k``, ``n_bad_k`` and ``method``
        (``"psis-loo"``, ``"psis-loo+reloo"`` or ``"kfold"``).

    Examples
    --------
    >>> m = bm.loo(fit, unit="trajectory", kfold=5)  # doctest: +SKIP
    >>> m.elpd, m.se, m.method, m.n_bad_k  # doctest: +SKIP
    """
    check_seed("seed", seed)
    check_choice("unit", unit, UNITS)
    if kfold is not None:
        check_positive_int("kfold", kfold, minimum=2)
    tree, result = tree_and_fit(fit)
    return _loo(tree, result, unit, kfold, name, seed, progress_bar)


def _loo(tree: xr.DataTree, result: Any, unit: str, kfold: int | None, name: str, seed: int,
         progress_bar: bool = True) -> ModelLOO:
    import arviz_stats as azs

    if unit == "observation" and result is not None and not result.model.observation.rows_independent:
        obs = type(result.model.observation).__name__
        raise ValueError(f"{name}: unit='observation' cannot leave out one row of {obs} data: a row's likelihood "
                         "depends on the earlier rows of its trajectory (the numbers at risk), so one row is not a "
                         "unit of its own; use unit='trajectory'")
    ll = pointwise_log_likelihood(tree, unit)
    unit_dim = ll.dims[-1]
    vals = np.asarray(ll.values).reshape(-1, ll.shape[-1])
    n_draws = vals.shape[0]
    # a unit whose likelihood is the same for every draw (e.g. the observation of a given mu0
    # at t = 0) is predicted exactly by every draw: its elpd is that value, with k = 0
    varying = np.ptp(vals, axis=0) > 1e-12 * (1.0 + np.abs(vals).max(axis=0))
    pointwise = vals[0].copy()
    k = np.zeros(vals.shape[1])
    p_loo = 0.0
    if varying.any():
        varying_ll = ll.isel({unit_dim: np.nonzero(varying)[0]})
        sub = xr.DataTree.from_dict({"posterior": tree["posterior"].to_dataset(),
                                     "log_likelihood": xr.Dataset({"obs": varying_ll})})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = azs.loo(sub, pointwise=True)
        pointwise[varying] = np.asarray(res.elpd_i).reshape(-1)
        k[varying] = np.asarray(res.pareto_k).reshape(-1)
        p_loo = float(res.p)
    good = _good_k(n_draws)
    n_bad = int(np.sum(~(k <= good)))
    elpd = float(pointwise.sum())
    se = float(np.sqrt(len(pointwise) * np.var(pointwise, ddof=1)))
    out = ModelLOO(name, "psis-loo", elpd, se, p_loo, pointwise, k, n_bad, good)
    if not (n_bad and kfold is not None and result is not None):
        return out
    exact = n_bad <= kfold  # refit only the bad units when that is fewer refits than K folds
    units = PLURAL[unit]
    how = f"exact leave-one-out of those {units}" if exact else f"exact {kfold}-fold cross-validation of every {unit}"
    warnings.warn(f"{name}: {n_bad} of {len(k)} {units} have Pareto k > {good:.2f}; starting "
                  f"{min(n_bad, kfold)} refits ({how}) with the fit's own settings; kfold=None skips them",
                  UserWarning, stacklevel=3)
    if exact:
        return _reloo(out, result, unit, seed, progress_bar)
    return _kfold(result, unit, kfold, name, seed, k, good, progress_bar)


def _fold_data(data: Observations, unit: str, members: np.ndarray, keep_rows: np.ndarray) -> Observations:
    """``data`` with the units in ``members`` masked (values NaN)."""
    vals = np.where(data.mask, data.values, np.nan)
    if unit == "trajectory":
        vals[members] = np.nan
    else:
        rows = np.argwhere(keep_rows)[members]
        vals[rows[:, 0], rows[:, 1]] = np.nan
    return Observations.from_arrays(vals, data.times, kind=data.kind, mu0=data.mu0, state_names=data.state_names,
                                    trajectory_names=data.trajectory_names,
                                    n_states=None if data.mu0 is None else data.mu0.shape[1])


def _refit_scores(result: Fit, unit: str, groups: list[np.ndarray], seed: int, what: str,
                  progress_bar: bool) -> dict[int, float]:
    """``log mean_s p(y_u | theta_s)`` for each unit ``u`` of each group, the draws ``theta_s``
    coming from a refit on the data with that group's units masked (one refit per group)."""
    import numpyro
    from scipy.special import logsumexp
    from tqdm.auto import tqdm

    data = result.data
    keep_rows = data.mask.any(-1)
    model = without_reports(result.model)
    scores = {}
    for members in tqdm(groups, desc=what, unit="refit", disable=not progress_bar):
        fit_f = result.refit(_fold_data(data, unit, members, keep_rows))
        draws, params = posterior_draws(fit_f, None, seed)
        fn = numpyro.handlers.substitute(model, data=params) if params else model
        ll = np.asarray(numpyro.infer.log_likelihood(fn, draws, data)["obs"])  # (S, traj, time)
        ll_units = ll.sum(-1) if unit == "trajectory" else ll[:, keep_rows]
        for u, score in zip(members, logsumexp(ll_units[:, members], axis=0) - np.log(ll_units.shape[0])):
            scores[int(u)] = float(score)
    return scores


def _n_units(data: Observations, unit: str) -> int:
    return data.n_trajectories if unit == "trajectory" else int(data.mask.any(-1).sum())


def _kfold(result: Fit, unit: str, k: int, name: str, seed: int, pareto_k: np.ndarray, good: float,
           progress_bar: bool = False) -> ModelLOO:
    """Exact K-fold cross-validation: K refits, each unit scored once by the fit without its fold."""
    n_units = _n_units(result.data, unit)
    if n_units < k:
        raise ValueError(f"kfold={k} folds but only {n_units} {unit}s")
    folds = np.random.default_rng(seed).permutation(np.arange(n_units) % k)
    groups = [np.nonzero(folds == f)[0] for f in range(k)]
    scores = _refit_scores(result, unit, groups, seed, f"{name}: {k}-fold", progress_bar)
    pointwise = np.array([scores[u] for u in range(n_units)])
    se = float(np.sqrt(n_units * np.var(pointwise, ddof=1)))
    return ModelLOO(name, "kfold", float(pointwise.sum()), se, float("nan"), pointwise, pareto_k,
                    int(np.sum(~(pareto_k <= good))), good)


def _reloo(psis: ModelLOO, result: Fit, unit: str, seed: int, progress_bar: bool) -> ModelLOO:
    """PSIS-LOO with the units of bad Pareto k replaced by exact leave-one-out (one refit each,
    ArviZ's *reloo*); the effective number of parameters is then not defined (NaN)."""
    bad = np.nonzero(~(psis.pareto_k <= psis.good_k))[0]
    scores = _refit_scores(result, unit, [np.array([u]) for u in bad], seed,
                           f"{psis.name}: exact LOO", progress_bar)
    pointwise = psis.pointwise.copy()
    pointwise[bad] = [scores[int(u)] for u in bad]
    se = float(np.sqrt(len(pointwise) * np.var(pointwise, ddof=1)))
    return ModelLOO(psis.name, "psis-loo+reloo", float(pointwise.sum()), se, float("nan"), pointwise,
                    psis.pareto_k, psis.n_bad_k, psis.good_k)


def compare(
    fits: Mapping[str, Any],
    *,
    unit: str = "trajectory",
    kfold: int | None = 5,
    test_data: Observations | None = None,
    seed: int = 0,
    progress_bar: bool = True,
) -> Comparison:
    """Compare fitted models by their expected log predictive density (ELPD).

    Parameters
    ----------
    fits
        ``{name: fit}`` with fits (NUTS, SVI, Laplace results; or ArviZ DataTrees: PSIS-LOO only), all
        fitted to the same observations (same trajectories, times and mask).
    unit
        ``"trajectory"`` (leave one trajectory out) or ``"observation"`` (one row).
    kfold
        Most refits per model for units with bad Pareto k (exact leave-one-out of those
        units, or K-fold of all when there are more than ``kfold``; see :func:`loo`). None: off.
    test_data
        Optional held-out trajectories: adds each model's ``test_mse`` / ``test_rmse``
        (:func:`bayes_mfg.heldout_error`); needs fit results.
    seed
        Seed of the K-fold folds.
    progress_bar
        Progress bars over refits.

    Returns
    -------
    Comparison
        ``.table`` (best first, ``elpd_diff`` and ``dse`` against the best), ``.models``,
        ``.difference(a, b)``, ``.plot()``, ``.to_markdown()``.

    Examples
    --------
    >>> cmp = bm.compare({"constant": fit_c, "spline": fit_s, "no game": fit_b})  # doctest: +SKIP
    >>> cmp.difference("spline", "constant")  # (elpd difference, its se)        # doctest: +SKIP
    """
    check_seed("seed", seed)
    if not isinstance(fits, Mapping) or len(fits) < 2:
        raise ValueError("fits must be a mapping {name: fit} with at least 2 models")
    check_choice("unit", unit, UNITS)
    models, notes, trees = {}, [], {}
    shapes = set()
    for name, fit in fits.items():
        tree, result = tree_and_fit(fit)
        trees[name] = tree
        shapes.add(tuple(np.asarray(tree["observed_data"]["mask"].values).shape))
        models[name] = _loo(tree, result, unit, kfold, name, seed, progress_bar)
        m = models[name]
        if m.n_bad_k:
            msg = (f"{name}: {m.n_bad_k} of {len(m.pareto_k)} units ({unit}) have Pareto k > {m.good_k:.2f}; "
                   + {"kfold": f"ELPD by exact {kfold}-fold cross-validation",
                      "psis-loo+reloo": "those units scored by exact leave-one-out refits"}.get(
                       m.method, "PSIS-LOO is unreliable for them (pass fit results and kfold to refit)"))
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=2)
    if len(shapes) != 1:
        raise ValueError(f"fits were made on different data (observation shapes {sorted(shapes)})")
    best = max(models, key=lambda k: models[k].elpd)
    rows = {}
    for name, m in models.items():
        diff = m.pointwise - models[best].pointwise
        dse = float(np.sqrt(len(diff) * np.var(diff, ddof=1))) if name != best else 0.0
        elpd_diff = abs(float(diff.sum())) if name == best else -float(diff.sum())
        rows[name] = {"elpd": m.elpd, "se": m.se, "elpd_diff": elpd_diff, "dse": dse, "p": m.p,
                      "method": m.method, "n_bad_k": m.n_bad_k}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("elpd", ascending=False)
    table.index.name = "model"
    table["weight"] = _stacking_weights(np.stack([models[k].pointwise for k in table.index], axis=1))
    if test_data is not None:
        for name, fit in fits.items():
            _, result = tree_and_fit(fit)
            if result is None:
                raise TypeError("test_data needs fits (bayes_mfg Fit results), not DataTrees")
            err = heldout_error(result, test_data, seed=seed)
            models[name].heldout = err
            table.loc[name, "test_mse"] = err["mse"]
            table.loc[name, "test_rmse"] = err["rmse"]
    return Comparison(table, models, unit, notes)


__all__ = ["compare", "loo", "Comparison", "ModelLOO", "pointwise_log_likelihood"]
