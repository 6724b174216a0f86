"""Synthetic data: equilibrium trajectories with observation noise or finite populations."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro

from bayes_mfg._validation import check_distribution, check_positive_float, check_positive_int, check_seed
from bayes_mfg.data import Observations, time_indices
from bayes_mfg.engine import default_solver, equilibrium, transition_matrix
from bayes_mfg.engine.continuous_time import step_rates
from bayes_mfg.games.base import Game, MeanFieldGame
from bayes_mfg.games.dependent import MeanFieldDependent
from bayes_mfg.observe import ObservationModel, Readout
from bayes_mfg.observe.readouts import accepts


class Simulation(NamedTuple):
    """Synthetic data with the truth that generated it.

    Attributes
    ----------
    data
        The :class:`Observations` (noisy fractions or counts at the observed times).
    mu
        ``(n_traj, N, d)`` equilibrium distribution paths on the game's grid (noise-free).
    truth
        ``{name: (n_traj, N, *shape)}`` the true parameter paths of every trajectory
        (mean-field-dependent ones evaluated along each equilibrium).
    game
        The game that generated the data (a :class:`MeanFieldDependent` wrapper when a truth
        was a function of ``(t, mu)``).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> sim = bm.datasets.simulate(bm.games.LinearQuadratic(n_states=3, n_times=20), {"gamma": 1.3}, 2, seed=0)
    >>> sim.mu.shape, sim.truth["gamma"].shape
    ((2, 20, 3), (2, 20))
    """

    data: Observations
    mu: np.ndarray
    truth: dict[str, np.ndarray]
    game: MeanFieldGame


def simulate(
    game: MeanFieldGame,
    truth: Mapping[str, Any],
    n_trajectories: int,
    observation: ObservationModel | None = None,
    *,
    times: Any = None,
    mu0: Any = None,
    mu0_concentration: float = 1.0,
    n_agents: int | None = None,
    total_count: Any = None,
    readout: Readout | None = None,
    seed: int = 0,
) -> Simulation:
    """Simulate population trajectories of a game's equilibrium, with noise.

    For each trajectory: ``mu_0 ~ Dirichlet(mu0_concentration * 1)`` (or the given ``mu0``),
    the equilibrium ``mu*`` for the true parameters, then either the noise-free shares, the
    empirical shares of a finite population of ``n_agents`` agents jumping with the
    equilibrium rates (:func:`simulate_agents`), and on top of that, if given, draws from the
    ``observation`` model at the observed ``times``.

    Parameters
    ----------
    game
        The game.
    truth
        ``{name: value}`` with a constant, an ``(N,)`` path, or a function ``fn(t, mu)`` of
        time and the current distribution (a mean-field-dependent parameter).
    n_trajectories
        Number of trajectories J.
    observation
        Noise model (``None``: exact shares, or finite-population shares if ``n_agents``).
    times
        Observation times on the game's grid (default: the whole grid).
    mu0
        Optional ``(J, d)`` initial distributions.
    n_agents
        Finite population size (>= 1) or ``None`` (infinite population).
    total_count
        Counts per (trajectory, time) for count observation models that need it
        (``Multinomial``); default ``n_agents`` or 1000.
    readout
        What the data's columns observe (a :class:`bayes_mfg.observe.Readout`: linear
        functionals, histogram bins, flows), applied to the shares (or to the agents'
        empirical shares) before the noise; ``None``: every state's share.
    mu0_concentration
        Concentration of the Dirichlet draws of ``mu0`` when it is not given.
    seed
        Seed of every random draw.

    Returns
    -------
    Simulation
        ``data`` (an :class:`~bayes_mfg.Observations` with the noisy values and ``mu0``),
        the exact equilibrium ``mu`` and the true parameter paths.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> sim = bm.datasets.simulate(game, {"gamma": 1.3}, 5, bm.observe.Dirichlet(500.0), seed=1)
    >>> sim.data.values.shape, sim.data.kind
    ((5, 20, 3), 'fractions')
    """
    check_seed("seed", seed)
    if not isinstance(game, MeanFieldGame):
        raise TypeError(f"game must be a bayes_mfg.games.MeanFieldGame, got {type(game).__name__}")
    if not isinstance(truth, Mapping):
        raise TypeError(f"truth must be a mapping from parameter name to value, got {type(truth).__name__}")
    n_traj = check_positive_int("n_trajectories", n_trajectories)
    check_positive_float("mu0_concentration", mu0_concentration)
    if n_agents is not None:
        check_positive_int("n_agents", n_agents)
        if not isinstance(game, Game):
            raise ValueError("n_agents (simulating individual agents) needs a continuous-time Game; "
                             f"for {type(game).__name__} leave it None")
    if observation is not None and not isinstance(observation, ObservationModel):
        raise TypeError(f"observation must be an ObservationModel or None, got {type(observation).__name__}")
    if readout is not None:
        if not isinstance(readout, Readout):
            raise TypeError(f"readout must be a bayes_mfg.observe.Readout or None, got {type(readout).__name__}")
        readout.bind(game)
        if observation is None and readout.output_kind != "shares":
            raise ValueError(f"readout gives {readout.output_kind}, not shares: pass an observation model "
                             "(e.g. Normal, Binomial, Poisson) to simulate its data")
    if observation is not None and not accepts(observation.needs, readout.output_kind if readout else "shares"):
        raise ValueError(f"{type(observation).__name__} needs {observation.needs} but the readout gives {readout.output_kind}")
    d = game.n_states
    grid = np.asarray(game.time_grid)
    t_obs = grid if times is None else np.asarray(times, dtype=np.float64)
    idx = time_indices(t_obs, grid)
    if readout is not None:
        readout.check_times(idx)
        if readout.reads_equilibrium and n_agents is not None:
            raise ValueError(f"n_agents: {type(readout).__name__} reads the equilibrium's flows, not a finite "
                             "population's (pass n_agents=None)")

    functions = {k: v for k, v in truth.items() if callable(v)}
    constants = {k: v for k, v in truth.items() if not callable(v)}
    if functions and not isinstance(game, Game):
        raise ValueError(f"truth: mean-field-dependent parameters {sorted(functions)} need a continuous-time Game")
    sim_game = MeanFieldDependent(game, functions) if functions else game
    params = sim_game.params(**constants)

    rng = np.random.default_rng(seed)
    if mu0 is None:
        m0 = rng.dirichlet(np.full(d, mu0_concentration), size=n_traj)
    else:
        m0 = np.asarray(mu0, dtype=np.float64)
        if m0.shape != (n_traj, d):
            raise ValueError(f"mu0 must have shape ({n_traj}, {d}), got {m0.shape}")
        for j, row in enumerate(m0):  # before any solve
            check_distribution(f"mu0[{j}]", row, d)

    solve = jax.jit(jax.vmap(lambda m: equilibrium(sim_game, params, m, solver=default_solver(game, max_iter=1000))))
    eq = solve(jnp.asarray(m0))
    if not bool(jnp.all(eq.info.converged)):
        bad = int(jnp.sum(~eq.info.converged))
        raise RuntimeError(f"simulate: {bad} of {n_traj} equilibrium solves did not converge ({eq.message()})")
    mu = np.asarray(eq.mu)

    paths = {k: np.broadcast_to(np.asarray(v), (n_traj, *v.shape)).copy() for k, v in params.items() if k in truth}
    if functions:
        evaluated = jax.vmap(sim_game.evaluate)(eq.mu)
        paths.update({k: np.asarray(v) for k, v in evaluated.items()})

    key = jax.random.PRNGKey(seed)
    shares = mu
    if n_agents is not None:
        key, sub = jax.random.split(key)
        # the rates each step of the scheme applied (a second-order scheme's are not eq.rates)
        applied = jax.vmap(lambda v, m: step_rates(sim_game, v, m, params))(eq.value, eq.mu)
        counts = jax.vmap(lambda k, r, m: simulate_agents(game, r, m, n_agents, k))(
            jax.random.split(sub, n_traj), applied, jnp.asarray(m0)
        )
        shares = np.asarray(counts) / n_agents

    if readout is None:
        at_obs = jnp.asarray(shares[:, idx, :])
    elif readout.reads_equilibrium:  # flows of the equilibrium (a finite population's are not simulated)
        at_obs = readout(jax.vmap(lambda e: readout.from_equilibrium(sim_game, e, params))(eq), idx)
    else:
        at_obs = readout(jnp.asarray(shares), idx)
    if observation is None:
        values, kind = np.asarray(at_obs), "fractions"
    else:
        total = total_count if total_count is not None else (n_agents or 1000)
        total = jnp.broadcast_to(jnp.asarray(total), at_obs.shape[:2])
        with numpyro.handlers.seed(rng_seed=int(jax.random.randint(key, (), 0, 2**31 - 1))):
            values = np.asarray(observation("obs", at_obs, None, total_count=total))
        kind = observation.kind
    data = Observations.from_arrays(
        values, t_obs, kind=kind, mu0=m0, state_names=game.state_names if readout is None else readout.names,
        n_states=d,
    )
    return Simulation(data, mu, paths, sim_game)


def simulate_agents(game: Game, rates: jax.Array, mu0: jax.Array, n_agents: int, key: jax.Array) -> jax.Array:
    """Counts of a finite population of ``n_agents`` agents jumping with the given rates.

    Agents start i.i.d. from ``mu0``; over step ``n -> n+1`` each agent in state x moves to y
    with probability ``P_n[x, y]``, the game's one-step transition matrix for the rates
    ``rates[n]`` (:func:`bayes_mfg.engine.transition_matrix`: ``expm(dt Q_n)``,
    the exact law of the jump process with frozen rates, for ``scheme="exponential"``). So
    the empirical shares converge to the game's discretised mean field as ``n_agents`` grows.

    Parameters
    ----------
    game
        The game (its grid and scheme).
    rates
        ``(N - 1, d, d)`` jump rates per step: the rates each step of the scheme applies,
        ``bayes_mfg.engine.continuous_time.step_rates(game, eq.value, eq.mu, params)`` (for a
        first-order scheme these are ``eq.rates``).
    mu0
        ``(d,)`` initial distribution of the agents.
    n_agents
        Population size.
    key
        A JAX PRNG key.

    Returns
    -------
    jax.Array
        ``(N, d)`` counts per state and time step.

    Examples
    --------
    >>> import bayes_mfg as bm, jax
    >>> from bayes_mfg.engine.continuous_time import step_rates
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params = game.params(gamma=1.3)
    >>> eq = bm.equilibrium(game, params, [0.5, 0.3, 0.2])
    >>> rates = step_rates(game, eq.value, eq.mu, params)
    >>> counts = bm.datasets.simulate_agents(game, rates, eq.mu[0], 1000, jax.random.PRNGKey(0))
    >>> counts.shape, int(counts[0].sum())
    ((20, 3), 1000)
    """
    d = game.n_states
    k0, k1 = jax.random.split(key)
    states = jax.random.categorical(k0, jnp.log(jnp.maximum(mu0, 1e-300)), shape=(n_agents,))

    def step(states, xs):
        k, r = xs
        p = transition_matrix(game, r)
        logits = jnp.log(jnp.clip(p, 1e-300, None))[states]
        new = jax.random.categorical(k, logits, axis=-1)
        return new, jnp.bincount(new, length=d)

    keys = jax.random.split(k1, rates.shape[0])
    _, counts = jax.lax.scan(step, states, (keys, rates))
    return jnp.concatenate([jnp.bincount(states, length=d)[None], counts], axis=0)
