"""``CalibrationModel``: game + parameter paths + observation model as one NumPyro model.

The model is a plain callable ``model(data)`` usable with every NumPyro tool (``MCMC``,
``SVI``, autoguides, ``Predictive``, ``log_likelihood``). Its generative story, per
trajectory j = 1..J:

    theta_j(t)  ~ the parameter paths (priors, splines, networks, hierarchies)
    mu0_j       = data.mu0[j]                      (observed), or ~ Dirichlet(1) (latent)
    mu*_j       = equilibrium(game, theta_j, mu0_j) (solved to tolerance, implicit gradient)
    y_j(t_k)    ~ observation(R(mu*_j)(t_k))       at the observed times t_k

where the readout ``R`` is the identity (a data column per state) unless the model has
one (:mod:`bayes_mfg.observe.readouts`: linear functionals, histogram bins, flows).

A solve that does not converge adds ``-inf`` to the log density (site
``equilibrium_failure``): NUTS treats the proposal as divergent and rejects it, SVI's
``stable_update`` skips the step. NaN never reaches the likelihood. An adjoint solve that
does not converge makes the gradient NaN (``ImplicitAdjoint(on_failure="nan")``), which
NUTS also rejects (the momentum after the step is NaN, so the point gets zero weight).
Both are counted by :func:`bayes_mfg.inference.recording` and reported by ``fit_nuts``/``fit_svi``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.primitives import Messenger

from bayes_mfg._compat import rebind_numpyro_submodules
from bayes_mfg._reporting import report_forward
from bayes_mfg._validation import check_positive_float
from bayes_mfg.data import Observations, interpolate_in_time, time_indices
from bayes_mfg.engine import AbstractAdjoint, AbstractSolver, ImplicitAdjoint, check_solver, default_solver, equilibrium
from bayes_mfg.games.base import MeanFieldGame
from bayes_mfg.observe import ObservationModel, Readout
from bayes_mfg.observe.readouts import accepts
from bayes_mfg.paths import PathContext, as_path

MU0_MODES = ("auto", "data", "latent", "shared")

#: Deterministic sites with solver diagnostics, moved to ``sample_stats`` in ArviZ output.
SOLVER_SITES = ("solver_converged", "solver_iterations", "solver_residual")

#: Key of a site's ``infer`` dict naming the parameter whose path created the site.
PATH_TAG = "bayes_mfg_path"


class PathSites(Messenger):
    """Marks every site created inside it as made by the path of parameter ``name``
    (``site["infer"][PATH_TAG]``), so that a trace says which path made which site."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def process_message(self, msg: dict) -> None:
        msg["infer"] = {**(msg.get("infer") or {}), PATH_TAG: self.name}


def grid_inputs(data: Observations, grid: np.ndarray) -> np.ndarray:
    """Observed shares on the game's time grid, ``(n_traj, N, d)``: the inputs of neural paths.

    Shares are renormalised over observed states, linearly interpolated in time between
    observed rows (held constant beyond the first/last one); a state never observed in a
    trajectory gets 0.
    """
    shares = data.shares()
    n_traj, _, d = shares.shape
    out = np.zeros((n_traj, len(grid), d))
    for j in range(n_traj):
        for x in range(d):
            ok = ~np.isnan(shares[j, :, x])
            if ok.any():
                out[j, :, x] = np.interp(grid, data.times[ok], shares[j, ok, x])
    return out


@dataclass(frozen=True, eq=False)
class CalibrationModel:
    """A NumPyro model calibrating a game's parameters to observed population trajectories.

    Parameters
    ----------
    game
        A :class:`bayes_mfg.games.Game` or :class:`bayes_mfg.games.DiscreteTimeGame`.
    paths
        ``{parameter name: ParameterPath}`` for the calibrated parameters (a NumPyro
        ``Distribution`` is shorthand for ``Constant(prior=...)``).
    observation
        An :class:`bayes_mfg.observe.ObservationModel` matching the data kind.
    fixed
        Values of other parameters (constants or ``(N,)`` paths); the rest keep the game's
        defaults.
    mu0_source
        ``"data"`` (use ``data.mu0``), ``"latent"`` (infer each trajectory's ``mu_0`` with a
        ``Dirichlet(mu0_concentration)`` prior), ``"shared"`` (one latent ``mu_0`` for all
        trajectories, site ``mu0`` with dims ``(state,)``: new trajectories, e.g. held-out
        days, start from its posterior) or ``"auto"`` (data if given, else latent).
    mu0_concentration
        Dirichlet concentration of the latent ``mu_0``: a float > 0 (symmetric) or one
        value > 0 per state.
    solver, adjoint
        Equilibrium solver and its differentiation (defaults: the game's default solver to
        1e-10, i.e. Anderson in at most 300 iterations, damped by 0.5 for discrete-time games,
        or damped Picard for games that ask for it such as the meeting-time game; implicit
        GMRES adjoint whose failure makes the gradient NaN; failures are handled by the
        model, see the module docstring).
    record_mu
        Also record the equilibrium shares at the observed times as the deterministic site
        ``mu`` (and a readout's values as ``readout``) in every draw: ``n_traj x n_times x
        d`` more numbers per draw in the fit and its DataTree. Off by default (the
        posterior predictive ``obs`` is always recorded);
        :func:`bayes_mfg.posterior_predictive` returns ``mu`` whatever this says.
    report_failures
        Report failed solves to the :func:`bayes_mfg.inference.recording` blocks open when
        the model is evaluated (one host callback per model evaluation, compiled in whenever True).
    readout
        What the data's columns observe of the equilibrium: ``None`` (every state's share,
        the default) or a :class:`bayes_mfg.observe.Readout` (``Linear`` functionals
        ``<w, mu_t>``, ``CoarseGrain`` histogram bins, ``Increments`` flows, ``Hazard``
        entry hazards). Its outputs must be what the observation model needs (e.g.
        ``Binomial`` needs probabilities, ``Arrivals`` the hazards of a ``Hazard``);
        with ``record_mu`` the readout is recorded as the deterministic site ``readout``.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(500.0))
    """

    game: MeanFieldGame
    paths: Mapping[str, Any]
    observation: ObservationModel
    fixed: Mapping[str, Any] | None = None
    mu0_source: str = "auto"
    mu0_concentration: float | tuple[float, ...] = 1.0
    solver: AbstractSolver | None = None
    adjoint: AbstractAdjoint = field(default_factory=lambda: ImplicitAdjoint(on_failure="nan"))
    record_mu: bool = False
    report_failures: bool = True
    readout: Readout | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.game, MeanFieldGame):
            raise TypeError(f"game must be a bayes_mfg.games.MeanFieldGame, got {type(self.game).__name__}")
        if not isinstance(self.paths, Mapping) or not self.paths:
            raise ValueError("paths must be a non-empty mapping {parameter name: ParameterPath}")
        specs = self.game.parameter_specs()
        unknown = sorted(set(self.paths) - set(specs))
        if unknown:
            raise ValueError(f"paths: unknown parameter(s) {unknown} for {type(self.game).__name__}; expected names {sorted(specs)}")
        object.__setattr__(self, "paths", {k: as_path(v) for k, v in self.paths.items()})
        for k, path in self.paths.items():
            path.check(k, specs[k], self.game)
        fixed = dict(self.fixed or {})
        both = sorted(set(fixed) & set(self.paths))
        if both:
            raise ValueError(f"fixed: {both} are calibrated (in paths) and cannot also be fixed")
        object.__setattr__(self, "fixed", fixed)
        # validates names, shapes and values of the fixed parameters now, not at inference time
        self.game.params(**fixed)
        if not isinstance(self.observation, ObservationModel):
            raise TypeError(f"observation must be a bayes_mfg.observe.ObservationModel, got {type(self.observation).__name__}")
        if self.readout is not None:
            if not isinstance(self.readout, Readout):
                raise TypeError(f"readout must be a bayes_mfg.observe.Readout or None, got {type(self.readout).__name__}")
            self.readout.bind(self.game)
        reads_data = sorted(k for k, p in self.paths.items() if p.uses_mu_input)
        if reads_data and (self.readout is not None or self.observation.kind == "values"):
            why = ("with a readout the data's columns are not the game's states" if self.readout is not None
                   else f"{type(self.observation).__name__} data are real values, not shares")
            raise ValueError(f"paths {reads_data} read the observed shares (a 'mu' input), but {why}")
        values = self.readout.output_kind if self.readout is not None else "shares"
        if not accepts(self.observation.needs, values):
            raise ValueError(
                f"{type(self.observation).__name__} needs {self.observation.needs} but the "
                f"{'readout' if self.readout is not None else 'equilibrium shares'} give {values} "
                f"({type(self.readout).__name__ if self.readout is not None else 'no readout'})"
            )
        if self.mu0_source not in MU0_MODES:
            raise ValueError(f"mu0_source must be one of {MU0_MODES}, got {self.mu0_source!r}")
        conc = self.mu0_concentration
        if np.ndim(conc) == 0:
            check_positive_float("mu0_concentration", conc)
        else:
            arr = np.asarray(conc, dtype=float)
            if arr.shape != (self.game.n_states,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise ValueError(f"mu0_concentration must be a float > 0 or {self.game.n_states} values > 0 "
                                 f"(one per state), got {conc!r}")
            object.__setattr__(self, "mu0_concentration", tuple(float(c) for c in arr))
        if self.solver is None:
            # Anderson: at most 300 iterations (a stalled solve fails fast); a game that asks for
            # damped Picard keeps its solver's larger budget
            budget = {"max_iter": 300} if getattr(self.game, "solver_acceleration", True) else {}
            object.__setattr__(self, "solver", default_solver(self.game, tol=1e-10, **budget))
        check_solver(self.solver, self.game)
        if not isinstance(self.adjoint, AbstractAdjoint):
            raise TypeError(f"adjoint must be a bayes_mfg.engine.AbstractAdjoint (e.g. ImplicitAdjoint), "
                            f"got {type(self.adjoint).__name__}")
        self.adjoint.check(self.solver)
        if isinstance(self.adjoint, ImplicitAdjoint) and self.adjoint.report_failures != self.report_failures:
            # one static choice: a model that reports nothing compiles no adjoint report either
            object.__setattr__(self, "adjoint", dataclasses.replace(self.adjoint, report_failures=self.report_failures))

    # ------------------------------------------------------------------ helpers
    def on_time_grid(self, n_times: int) -> CalibrationModel:
        """The same model with its game on ``n_times`` grid points (same horizon and scheme).

        Every input given on the time grid is interpolated linearly in time onto the new grid:
        the fixed parameters given as paths (``(N, *shape)`` or ``(n_traj, N, *shape)``) and
        the covariates of the paths (:meth:`~bayes_mfg.paths.ParameterPath.on_time_grid`). With
        ``n_times - 1`` a multiple of ``N - 1`` every old grid point (so every observation
        time) stays on the grid: this is how :func:`bayes_mfg.time_step_check` halves dt.

        Parameters
        ----------
        n_times
            Number of grid points of the new game (>= 2).

        Returns
        -------
        CalibrationModel

        Examples
        --------
        >>> import bayes_mfg as bm, numpyro.distributions as dist
        >>> game = bm.games.SIR(n_times=41, horizon=40.0)
        >>> model = bm.CalibrationModel(game, {"beta": dist.LogNormal(-0.7, 0.3)}, bm.observe.Poisson(),
        ...                             fixed={"vaccination": [0.0] * 20 + [0.01] * 21})
        >>> fine = model.on_time_grid(81)
        >>> fine.game.n_times, fine.fixed["vaccination"].shape, float(fine.fixed["vaccination"][39])
        (81, (81,), 0.005)
        """
        if isinstance(n_times, bool) or not isinstance(n_times, (int, np.integer)) or n_times < 2:
            raise ValueError(f"n_times must be an int >= 2, got {n_times!r}")
        if not dataclasses.is_dataclass(self.game) or not hasattr(self.game, "n_times"):
            raise TypeError(f"{type(self.game).__name__} is not a dataclass game with n_times: its grid cannot be changed")
        game = dataclasses.replace(self.game, n_times=int(n_times))
        old, new = np.asarray(self.game.time_grid), np.asarray(game.time_grid)
        specs = self.game.parameter_specs()
        fixed = {}
        for k, v in (self.fixed or {}).items():
            a = np.asarray(v) if not isinstance(v, dist.Distribution) else None
            own = len(specs[k].shape) if k in specs else 0
            if a is not None and a.dtype.kind == "f" and a.ndim == own + 1 and a.shape[0] == len(old):
                v = interpolate_in_time(a, old, new, axis=0)
            elif a is not None and a.dtype.kind == "f" and a.ndim == own + 2 and a.shape[1] == len(old):
                v = interpolate_in_time(a, old, new, axis=1)
            fixed[k] = v
        paths = {k: as_path(p).on_time_grid(old, new) for k, p in self.paths.items()}
        return dataclasses.replace(self, game=game, fixed=fixed, paths=paths)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.paths)

    def check_data(self, data: Observations) -> np.ndarray:
        """Validate ``data`` against the game and observation model; return the time indices."""
        if not isinstance(data, Observations):
            raise TypeError(f"data must be bayes_mfg.Observations, got {type(data).__name__}")
        if self.readout is not None:
            if data.n_states != self.readout.n_outputs:
                raise ValueError(f"data has {data.n_states} columns but the readout gives {self.readout.n_outputs} "
                                 f"({list(self.readout.names)})")
        elif data.n_states != self.game.n_states:
            raise ValueError(f"data has {data.n_states} states but the game has {self.game.n_states}")
        if data.mu0 is not None and data.mu0.shape[1] != self.game.n_states:
            raise ValueError(f"data.mu0 has {data.mu0.shape[1]} states but the game has {self.game.n_states}")
        if data.kind != self.observation.kind:
            raise ValueError(
                f"data.kind is {data.kind!r} but {type(self.observation).__name__} models {self.observation.kind!r}"
            )
        if self.mu0_source == "data" and data.mu0 is None:
            raise ValueError("mu0_source='data' needs data.mu0 (the initial distribution of every trajectory)")
        idx = time_indices(data.times, np.asarray(self.game.time_grid))
        if self.readout is not None:
            self.readout.check_times(idx)
        return idx

    def uses_latent_mu0(self, data: Observations) -> bool:
        return self.mu0_source == "latent" or (self.mu0_source == "auto" and data.mu0 is None)

    def site_dims(self) -> dict[str, tuple[str, ...]]:
        """Non-sample dims of every site (for ArviZ)."""
        specs = self.game.parameter_specs()
        dims: dict[str, tuple[str, ...]] = {}
        for name, path in self.paths.items():
            dims.update(path.site_dims(name, specs[name]))
            per = ("trajectory",) if path.varies_by_trajectory else ()
            dims[f"{name}_path"] = (*per, "time_step", *specs[name].axis_names(name))
        dims.update(
            mu0=("state",) if self.mu0_source == "shared" else ("trajectory", "state"),
            mu=("trajectory", "time", "state"),
            obs=("trajectory", "time", self.observed_dim),
            solver_converged=("trajectory",),
            solver_iterations=("trajectory",),
            solver_residual=("trajectory",),
        )
        dims.update(self.observation.site_dims("obs"))
        if self.readout is not None:
            dims["readout"] = ("trajectory", "time", self.readout.dim)
        return dims

    @property
    def observed_dim(self) -> str:
        """Name of the data's column dimension: ``"state"``, or the readout's dimension."""
        return "state" if self.readout is None else self.readout.dim

    def declared_site_roles(self) -> dict[str, str]:
        """Roles of the sites the model itself creates, whatever its paths and data:
        ``"path"`` (``f"{name}_path"``), ``"solver"`` (diagnostics), ``"equilibrium"``
        (``mu`` and ``readout``), ``"observation"`` (``obs``) and ``"factor"`` (``equilibrium_failure``).
        The other sites' roles come from a trace (:func:`bayes_mfg.inference.site_roles`)."""
        roles = {f"{name}_path": "path" for name in self.paths}
        roles.update({k: "solver" for k in SOLVER_SITES})
        roles.update(mu="equilibrium", obs="observation", equilibrium_failure="factor")
        if self.readout is not None:
            roles["readout"] = "equilibrium"
        return roles

    # ------------------------------------------------------------------ the model
    def path_context(self, data: Observations) -> PathContext:
        """The :class:`PathContext` of ``data`` on the game's grid (observed shares are
        interpolated only when a path reads them, so ``data`` may hold traced arrays otherwise)."""
        grid = np.asarray(self.game.time_grid)
        needs_mu = any(p.uses_mu_input for p in self.paths.values())
        mu_input = jnp.asarray(grid_inputs(data, grid)) if needs_mu else None
        return PathContext(jnp.asarray(grid), float(self.game.horizon), mu_input, data.n_trajectories)

    def parameters(self, data: Observations) -> tuple[dict[str, jax.Array], jax.Array]:
        """The prior part of the model: declare the path sites (and latent ``mu0``).

        Returns ``(theta, mu0)`` with ``theta[name]`` of shape ``(n_traj, N, *shape)`` and
        ``mu0`` ``(n_traj, d)``. Each path is recorded as the deterministic site
        ``f"{name}_path"``: ``(n_traj, N, *shape)`` when it varies by trajectory
        (:attr:`ParameterPath.varies_by_trajectory`), else once, ``(N, *shape)``.
        Running this alone (e.g. under ``Predictive``) draws from the prior without solving
        any equilibrium.
        """
        game = self.game
        n_traj, d = data.n_trajectories, game.n_states
        ctx = self.path_context(data)
        specs = game.parameter_specs()
        theta = {}
        for name, path in self.paths.items():
            with PathSites(name):
                value = path(name, specs[name], ctx)
            value = jnp.broadcast_to(value, (n_traj, game.n_times, *specs[name].shape))
            theta[name] = value
            # a path shared by all trajectories is recorded once, not n_traj times
            numpyro.deterministic(f"{name}_path", value if path.varies_by_trajectory else value[0])
        concentration = jnp.broadcast_to(jnp.asarray(self.mu0_concentration, dtype=jnp.result_type(float)), (d,))
        if self.mu0_source == "shared":
            mu0 = jnp.broadcast_to(numpyro.sample("mu0", dist.Dirichlet(concentration)), (n_traj, d))
        elif self.uses_latent_mu0(data):
            with numpyro.plate("trajectory", n_traj, dim=-1):
                mu0 = numpyro.sample("mu0", dist.Dirichlet(concentration))
        else:
            mu0 = jnp.asarray(data.mu0)
        return theta, mu0

    def prior_sites(self, data: Observations) -> dict[str, dist.Distribution]:
        """``{site: prior distribution}`` of every latent sample site (one trace, no solve);
        the trajectory-plated ``mu0`` prior is returned with its batch shape."""
        tr = numpyro.handlers.trace(numpyro.handlers.seed(self.parameters, rng_seed=0)).get_trace(data)
        out = {k: v["fn"] for k, v in tr.items() if v["type"] == "sample" and not v["is_observed"]}
        out.update({f"obs_{f}": getattr(self.observation, f) for f in self.observation.learned})
        return out

    def sample_prior(self, data: Observations, num_samples: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
        """``{site: (num_samples, ...)}`` prior draws of the latent sites and the parameter
        paths ``f"{name}_path"`` (no equilibrium is solved)."""
        from numpyro.infer import Predictive

        key_paths, key_obs = jax.random.split(jax.random.PRNGKey(seed))
        draws = Predictive(self.parameters, num_samples=num_samples)(key_paths, data)
        out = {k: np.asarray(v) for k, v in draws.items()}
        for i, f in enumerate(self.observation.learned):
            prior = getattr(self.observation, f)
            out[f"obs_{f}"] = np.asarray(prior.sample(jax.random.fold_in(key_obs, i), (num_samples,)))
        return out

    def check_subsample_size(self, data: Observations, subsample_size: Any) -> None:
        """Refuse a trajectory subsample size this model cannot use (before any solve).

        Subsampling estimates the likelihood of all trajectories from a random batch (scaled
        by ``n_traj / subsample_size``); it is exact in expectation only when every latent
        site is global, so per-trajectory latent sites (latent ``mu0``, trajectory-wise
        paths) are refused.
        """
        if isinstance(subsample_size, bool) or not isinstance(subsample_size, (int, np.integer)):
            raise TypeError(f"subsample_size must be an int or None, got {type(subsample_size).__name__}")
        if not 1 <= subsample_size <= data.n_trajectories:
            raise ValueError(
                f"subsample_size must be in [1, {data.n_trajectories}] (the number of trajectories), got {subsample_size}"
            )
        declared = self.declared_site_roles()
        local = sorted(k for k, v in self.site_dims().items() if "trajectory" in v and k not in declared and k != "mu0")
        if self.uses_latent_mu0(data):
            local.insert(0, "mu0")
        if local:
            raise ValueError(
                f"subsample_size needs global latent sites only; this model has per-trajectory latent sites {local} "
                "(use mu0_source='data' or 'shared' and paths shared across trajectories, or fit all trajectories)"
            )

    def __call__(
        self, data: Observations, *, observe: bool = True, iteration: Any = None, subsample_size: int | None = None
    ) -> None:
        """The NumPyro model.

        Parameters
        ----------
        data
            The observations (their times, masks and, when ``observe``, values).
        observe
            True: condition on ``data.values``. False: sample the observation site
            (posterior/prior predictive) with the data's shape. Under
            ``numpyro.infer.Predictive`` (which masks the log density,
            ``numpyro.get_mask() is False``) the observation site is always sampled, so
            ``Predictive(model, samples)(key, data)["obs"]`` are new observations, not the data.
        iteration
            The sampler's iteration index, passed by ``fit_nuts`` so that failed solves are
            attributed to warm-up or sampling (see :func:`bayes_mfg.inference.recording`).
        subsample_size
            Solve and observe only a random batch of this many trajectories (a NumPyro
            subsample plate ``"trajectory_batch"``: the log-likelihood is scaled by
            ``n_traj / subsample_size``, an unbiased estimate of the full one). For
            stochastic optimisation (``fit_svi(batch_size=...)``); None: all trajectories.
        """
        rebind_numpyro_submodules()
        if observe and numpyro.get_mask() is False:
            observe = False  # Predictive: no log density is computed, so predict rather than echo the data
        idx = self.check_data(data)
        if subsample_size is not None:
            self.check_subsample_size(data, subsample_size)
        game = self.game
        theta, mu0 = self.parameters(data)
        if subsample_size is not None:
            # the paths are evaluated for every trajectory (cheap, and paths that read the
            # observed shares need the concrete data); only the batch is solved and observed
            batch = numpyro.plate("trajectory_batch", data.n_trajectories, subsample_size=subsample_size, dim=-2)
            with batch as rows:  # the plate draws its random rows once, when it is created
                theta = {k: v[rows] for k, v in theta.items()}
                mu0 = mu0[rows]
                data = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[rows], data)
        else:
            batch = None
        fixed = game.params(**self.fixed)
        fixed = {k: v for k, v in fixed.items() if k in self.fixed}

        reads_eq = self.readout is not None and self.readout.reads_equilibrium

        def solve(theta_j, mu0_j):
            p = {**fixed, **theta_j}
            eq = equilibrium(game, p, mu0_j, solver=self.solver, adjoint=self.adjoint)
            return eq.mu, eq.info, (self.readout.from_equilibrium(game, eq, p) if reads_eq else None)

        mu, info, read = jax.vmap(solve)(theta, mu0)
        ok = info.converged & jnp.all(jnp.isfinite(mu), axis=(-2, -1))
        numpyro.deterministic("solver_converged", ok)
        numpyro.deterministic("solver_iterations", info.iterations)
        numpyro.deterministic("solver_residual", info.residual)
        reported = report_forward(ok, info.status, theta, iteration) if self.report_failures else 0.0
        numpyro.factor("equilibrium_failure", jnp.where(jnp.all(ok), 0.0, -jnp.inf) + reported)
        # a failed solve never feeds NaN to the likelihood (its -inf above rejects the point)
        safe = jax.lax.stop_gradient(jnp.broadcast_to(mu0[:, None, :], mu.shape))
        mu = jnp.where(ok[:, None, None], mu, safe)
        mu_obs = mu[:, idx, :]
        if self.record_mu:
            numpyro.deterministic("mu", mu_obs)
        if self.readout is not None:
            if reads_eq:  # what the readout reads of the equilibrium (flows), 0 for a failed solve
                read = jnp.where(ok.reshape(-1, *([1] * (read.ndim - 1))), read, 0.0)
            mu_obs = self.readout(read if reads_eq else mu, idx)
            if self.record_mu:
                numpyro.deterministic("readout", mu_obs)
        if observe:
            if batch is not None:
                with batch, numpyro.plate("time_batch", mu_obs.shape[1], dim=-1):
                    self.observation("obs", mu_obs, data)
            else:
                self.observation("obs", mu_obs, data)
        else:
            total = jnp.where(data.mask, data.values, 0.0).sum(-1) if data.kind == "counts" else None
            self.observation("obs", mu_obs, None, total_count=total, times=data.times)
