"""Simulation-based calibration (SBC, Talts et al. 2018): are the posteriors calibrated?

For s = 1..S: draw ``theta_s`` from the prior, simulate data ``y_s`` from the model (the
equilibrium plus observation noise, on a fixed design: trajectories, times, mask, ``mu0``),
fit the posterior ``p(theta | y_s)`` and record, for every scalar parameter, the rank of
``theta_s`` among L posterior draws. If the fits are exact, each rank is uniform on
``0..L``; a too-narrow posterior piles ranks at the ends, a biased one on one side.

Simulations whose equilibrium did not converge are dropped and counted: the model puts
``-inf`` log density there (its effective prior is the converging region), so dropping
them draws from that same effective prior.

Methods:

* ``"nuts"``: NUTS with window adaptation, **vectorised over simulations** (``jax.vmap``
  of the whole warm-up + sampling loop of NumPyro's functional HMC interface, in batches of
  ``batch_size`` simulations): one compilation for all simulations;
* ``"svi"``: an autoguide fitted by SVI, also vmapped over simulations;
* a callable ``fit(model, data, key) -> {site: (L, ...)}``: any other method, one
  simulation at a time (e.g. a deliberately wrong posterior to check that SBC detects it).

Uniformity is tested per parameter with a chi-square test on ``bins`` equiprobable rank
bins; the smallest p-value is Bonferroni-corrected over the parameters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import jax
import numpy as np
import pandas as pd
from numpyro.infer import Predictive

from bayes_mfg._tables import markdown_table
from bayes_mfg._validation import check_positive_int, check_seed
from bayes_mfg.criticism._fits import global_sites
from bayes_mfg.criticism._sbc_fits import batched_data, batched_draws, custom_draws, flat_parameters
from bayes_mfg.data import Observations
from bayes_mfg.model import CalibrationModel

SBC_METHODS = ("nuts", "svi")
#: Autoguides of method "svi" ("delta", a point estimate, is a deliberately overconfident posterior).
SBC_GUIDES = ("normal", "multivariate", "delta")


@dataclass
class SBCResult:
    """Result of :func:`sbc`.

    Attributes
    ----------
    ranks
        ``(n_kept, P)`` ranks of the true values among ``num_samples`` posterior draws (one
        column per scalar parameter).
    truths
        ``(n_kept, P)`` the prior draws that generated the data.
    num_samples
        L: posterior draws per simulation (ranks lie in ``0..L``).
    tests
        Per parameter: chi-square statistic and p-value of rank uniformity, and the
        Kolmogorov-Smirnov p-value of the randomised fractional ranks.
    p_value
        Smallest chi-square p-value, Bonferroni-corrected over the parameters.
    n_failed
        Simulations dropped because the equilibrium of the prior draw did not converge
        (or, for NUTS, the posterior draws were not finite).
    n_divergent
        Total divergent transitions (NUTS).
    method
        What fitted the posteriors.
    draws
        ``(n_kept, L, P)`` the posterior draws that were ranked.

    Examples
    --------
    >>> bm.sbc(model, design, n_sims=100).to_markdown()  # doctest: +SKIP
    """

    ranks: pd.DataFrame
    truths: pd.DataFrame
    num_samples: int
    bins: int
    tests: pd.DataFrame
    p_value: float
    n_failed: int
    n_divergent: int
    method: str
    draws: np.ndarray = None

    def with_draws(self, draws: np.ndarray, method: str | None = None) -> SBCResult:
        """The same simulations ranked against other posterior draws ``(n_kept, L, P)``
        (e.g. a transformed posterior, to see what the test makes of it)."""
        ranks, tests, p = rank_test(draws, self.truths.to_numpy(), list(self.ranks.columns), self.bins)
        return SBCResult(pd.DataFrame(ranks, columns=self.ranks.columns), self.truths, np.shape(draws)[1], self.bins,
                         tests, p, self.n_failed, self.n_divergent, method or self.method + " (modified)", draws)

    def rejected(self, alpha: float = 0.01) -> bool:
        """Whether rank uniformity is rejected at level ``alpha`` (Bonferroni over parameters)."""
        return self.p_value < alpha

    def to_markdown(self) -> str:
        return (f"SBC ({self.method}): {len(self.ranks)} simulations kept ({self.n_failed} dropped), "
                f"{self.num_samples} posterior draws each, {self.bins} rank bins; uniformity p-value "
                f"{self.p_value:.3g} (Bonferroni over {self.ranks.shape[1]} parameters)\n\n"
                + markdown_table(self.tests))

    def __repr__(self) -> str:
        return self.to_markdown()

    def plot(self, *, n_simulated_bands: int = 2000, seed: int = 0):
        """Rank histograms (top) and ECDF differences ``F(u) - u`` of the fractional ranks with
        simultaneous 95% bands for uniform ranks (bottom), one column per parameter."""
        import matplotlib.pyplot as plt

        names = list(self.ranks.columns)
        n = len(self.ranks)
        fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 5.2), squeeze=False,
                                 constrained_layout=True)
        u_grid = np.linspace(0, 1, 201)
        rng = np.random.default_rng(seed)
        sims = np.sort(rng.uniform(size=(n_simulated_bands, n)), axis=1)
        dev = np.max(np.abs(_ecdf_many(sims, u_grid) - u_grid), axis=1)
        band = np.quantile(dev, 0.95)
        expected = n / self.bins
        for col, name in enumerate(names):
            r = self.ranks[name].to_numpy()
            ax = axes[0, col]
            ax.hist(r, bins=np.linspace(0, self.num_samples + 1, self.bins + 1), color="tab:blue", alpha=0.7)
            lo, hi = _binomial_band(n, 1.0 / self.bins)
            ax.axhspan(lo, hi, color="grey", alpha=0.25, lw=0)
            ax.axhline(expected, color="k", lw=0.8)
            ax.set(title=name, xlabel="rank")
            u = (r + 0.5) / (self.num_samples + 1)
            ax = axes[1, col]
            ax.plot(u_grid, np.searchsorted(np.sort(u), u_grid, side="right") / n - u_grid, color="tab:blue")
            ax.fill_between(u_grid, -band, band, color="grey", alpha=0.25, lw=0)
            ax.axhline(0, color="k", lw=0.8)
            ax.set(xlabel="fractional rank u", ylabel="ECDF(u) - u" if col == 0 else None)
        fig.suptitle(f"SBC ({self.method}), p = {self.p_value:.3g}")
        return fig


def _ecdf_many(sorted_samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    n = sorted_samples.shape[1]
    return np.stack([np.searchsorted(s, grid, side="right") / n for s in sorted_samples])


def _binomial_band(n: int, p: float, prob: float = 0.99) -> tuple[float, float]:
    from scipy.stats import binom

    return float(binom.ppf((1 - prob) / 2, n, p)), float(binom.ppf((1 + prob) / 2, n, p))


# ---------------------------------------------------------------------------- main
def sbc(
    model: CalibrationModel,
    design: Observations,
    n_sims: int = 100,
    *,
    method: str | Callable = "nuts",
    num_samples: int = 99,
    thin: int = 2,
    num_warmup: int = 300,
    target_accept: float = 0.8,
    max_tree_depth: int = 8,
    guide: str = "normal",
    num_steps: int = 2000,
    learning_rate: float = 1e-2,
    bins: int = 10,
    batch_size: int = 50,
    var_names: list[str] | None = None,
    seed: int = 0,
    shard: bool = False,
    progress_bar: bool = True,
) -> SBCResult:
    """Simulation-based calibration of ``model`` on the data design ``design``.

    Parameters
    ----------
    model
        The calibration model (its priors generate the truths).
    design
        Observations fixing the trajectories, observation times, mask and ``mu0`` (their
        values are not used).
    n_sims
        Number of simulated data sets S (>= bins).
    method
        ``"nuts"``, ``"svi"`` or a callable ``fit(model, data, key) -> {site: (num_samples, ...)}``.
    num_samples
        L posterior draws per simulation used for the ranks; ``num_samples + 1`` must be a
        multiple of ``bins``.
    thin
        NUTS keeps every ``thin``-th of ``thin * num_samples`` draws (less autocorrelation).
    num_warmup, target_accept, max_tree_depth
        NUTS settings (NumPyro's names).
    guide, num_steps, learning_rate
        SVI settings (``guide`` "normal", "multivariate" or "delta": a point estimate, whose
        ranks are all 0 or L, the extreme of an overconfident posterior).
    bins
        Rank bins of the uniformity test and histogram.
    batch_size
        Simulations per vmapped batch.
    var_names
        Latent sites to rank (default: every site shared by all trajectories).
    seed
        Random seed.
    shard
        Split every batch of simulations (methods ``"nuts"`` and ``"svi"``) across the local
        devices (``jax.local_devices()``, :func:`~bayes_mfg.shard_trajectories`); a batch
        is padded to a multiple of the device count with copies of its last simulation,
        whose results are discarded. Same ranks as without sharding.
    progress_bar
        A progress bar over the fits (batches of ``batch_size`` simulations; a fit callable:
        one simulation at a time).

    Returns
    -------
    SBCResult

    Examples
    --------
    >>> res = bm.sbc(model, design, n_sims=100, method="svi")  # doctest: +SKIP
    >>> res.p_value, res.to_markdown()  # doctest: +SKIP
    """
    check_seed("seed", seed)
    if not isinstance(model, CalibrationModel):
        raise TypeError(f"model must be a bayes_mfg.CalibrationModel, got {type(model).__name__}")
    model.check_data(design)
    check_positive_int("bins", bins, minimum=2)
    check_positive_int("n_sims", n_sims, minimum=bins)
    check_positive_int("num_samples", num_samples)
    check_positive_int("thin", thin)
    check_positive_int("batch_size", batch_size)
    if not isinstance(shard, bool):
        raise TypeError(f"shard must be a bool, got {type(shard).__name__} {shard!r}")
    if not isinstance(progress_bar, bool):
        raise TypeError(f"progress_bar must be a bool, got {type(progress_bar).__name__} {progress_bar!r}")
    if (num_samples + 1) % bins:
        raise ValueError(f"num_samples + 1 must be a multiple of bins so that the bins are equiprobable; "
                         f"got num_samples={num_samples}, bins={bins}")
    if not (callable(method) or method in SBC_METHODS):
        raise ValueError(f"method must be one of {SBC_METHODS} or a callable fit(model, data, key), got {method!r}")
    if guide not in SBC_GUIDES:
        raise ValueError(f"guide must be one of {SBC_GUIDES}, got {guide!r}")
    sites = global_sites(model, design) if var_names is None else list(var_names)
    bad = [s for s in sites if s not in model.prior_sites(design)]
    if bad or not sites:
        raise ValueError(f"var_names: {bad or sites} are not latent sites of the model")

    quiet = dataclasses.replace(model, report_failures=False)  # no failure callback in the simulations and fits
    k_prior, k_fit = jax.random.split(jax.random.PRNGKey(seed))
    truths, names, batch, n_failed = _simulate(quiet, design, n_sims, sites, k_prior)
    keys = jax.random.split(k_fit, truths.shape[0])
    if callable(method):
        label, n_div = getattr(method, "__name__", "custom"), 0
        draws = custom_draws(method, model, batch, keys, sites, num_samples, progress_bar)
    else:
        label = method
        settings = dict(num_warmup=num_warmup, thin=thin, target_accept=target_accept, max_tree_depth=max_tree_depth,
                        guide=guide, num_steps=num_steps, learning_rate=learning_rate)
        draws, n_div = batched_draws(method, quiet, batch, keys, sites, num_samples, batch_size, shard, settings,
                                    progress_bar)
    finite = np.all(np.isfinite(draws), axis=(1, 2))
    n_failed += int(np.sum(~finite))
    draws, truths = draws[finite], truths[finite]
    ranks, tests, p_value = rank_test(draws, truths, names, bins, seed)
    return SBCResult(
        pd.DataFrame(ranks, columns=names), pd.DataFrame(truths, columns=names), num_samples, bins, tests, p_value,
        n_failed, n_div, label, draws,
    )


def _simulate(model, design: Observations, n_sims: int, sites: list[str], key):
    """Prior draws and simulated data, vectorised: ``(truths (n_ok, P), names, batch, n_failed)``,
    without the simulations whose equilibrium did not converge."""
    prior = Predictive(model, num_samples=n_sims)(key, design, observe=False)
    prior = {k: np.asarray(v) for k, v in prior.items()}
    ok = prior["solver_converged"].all(axis=-1) & np.all(np.isfinite(prior["obs"]), axis=(1, 2, 3))
    idx = np.nonzero(ok)[0]
    truths, names = flat_parameters({s: prior[s][idx] for s in sites}, sites, 1)
    return truths, names, batched_data(design, prior["obs"][idx]), int(n_sims - idx.size)


def rank_test(draws: np.ndarray, truths: np.ndarray, names: list[str], bins: int = 10, seed: int = 0):
    """Ranks of ``truths`` among posterior ``draws`` and their uniformity tests (see :func:`sbc`).

    Parameters
    ----------
    draws
        ``(S, L, P)`` posterior draws: S simulations, L draws, P scalar parameters
        (``L + 1`` a multiple of ``bins``).
    truths
        ``(S, P)`` the values that generated each simulation.
    names
        The P parameter names.
    bins
        Equiprobable rank bins of the chi-square test.
    seed
        Seed of the randomised fractional ranks of the Kolmogorov-Smirnov test.

    Returns
    -------
    tuple
        ``(ranks (S, P), tests DataFrame (chi2, p_chi2, p_ks per parameter), Bonferroni p-value)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truths = rng.normal(size=(100, 1))
    >>> draws = rng.normal(size=(100, 19, 1))  # exact posterior draws: the prior, data-free
    >>> ranks, tests, p = rank_test(draws, truths, ["theta"], bins=5)
    >>> ranks.shape, bool(p > 0.01)
    ((100, 1), True)
    """
    from scipy.stats import chi2, kstest

    draws, truths = np.asarray(draws), np.asarray(truths)
    n, num_draws, _ = draws.shape
    if (num_draws + 1) % bins:
        raise ValueError(f"the number of draws + 1 ({num_draws + 1}) must be a multiple of bins={bins}")
    ranks = np.sum(draws < truths[:, None, :], axis=1)
    rows = {}
    rng = np.random.default_rng(seed)
    for j, name in enumerate(names):
        counts = np.bincount(ranks[:, j] * bins // (num_draws + 1), minlength=bins)
        stat = float(np.sum((counts - n / bins) ** 2 / (n / bins)))
        u = (ranks[:, j] + rng.uniform(size=n)) / (num_draws + 1)
        rows[name] = {"chi2": stat, "p_chi2": float(chi2.sf(stat, bins - 1)),
                      "p_ks": float(kstest(u, "uniform").pvalue)}
    tests = pd.DataFrame.from_dict(rows, orient="index")
    tests.index.name = "parameter"
    return ranks, tests, float(min(1.0, tests["p_chi2"].min() * len(names)))


__all__ = ["sbc", "SBCResult", "SBC_METHODS"]
