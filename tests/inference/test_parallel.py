"""Scale-out across devices: trajectories sharded with jax.sharding, chains on several devices,
SBC simulations split across devices.

XLA reads ``--xla_force_host_platform_device_count`` when JAX initialises, and this process
already has JAX with one CPU device, so the multi-device checks run in a child Python with
two CPU devices and report back as JSON.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

import bayes_mfg as bm
from bayes_mfg.inference import recording
from bayes_mfg.parallel import is_sharded, pad_leading

GAME = bm.games.LinearQuadratic(n_states=3, n_times=20)

PREAMBLE = """
import json, os, warnings
import jax, jax.numpy as jnp, numpy as np
import numpyro.distributions as dist
import bayes_mfg as bm
warnings.simplefilter("ignore")
assert jax.device_count() == 2, jax.devices()
game = bm.games.LinearQuadratic(n_states=3, n_times=20)
res = {}
"""


def run_on_two_devices(code: str, *, extra_xla_flags: str = "", env: dict | None = None, timeout: float = 300) -> dict:
    """Run ``code`` (after PREAMBLE) in a child Python with two CPU devices; it fills the dict
    ``res``, which comes back."""
    flags = f"--xla_force_host_platform_device_count=2 --xla_cpu_multi_thread_eigen=false {extra_xla_flags}"
    env = {**os.environ, **(env or {}), "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}
    script = PREAMBLE + textwrap.dedent(code) + '\nprint("RESULT " + json.dumps(res))\n'
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"child failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT "):])


# ---------------------------------------------------------------------------- two devices (child process)
def test_sharded_batched_equilibrium_matches_one_device_and_is_partitioned():
    res = run_on_two_devices("""
        sim = bm.datasets.simulate(game, {"gamma": 1.2}, 8, seed=0)
        gamma = np.linspace(0.5, 2.0, 8)  # a different equilibrium per trajectory
        solve = jax.jit(jax.vmap(lambda m, g: bm.equilibrium(game, {"gamma": g}, m).mu))
        ref = solve(jnp.asarray(sim.data.mu0), jnp.asarray(gamma))
        mu0, g = bm.shard_trajectories((sim.data.mu0, gamma))
        out = solve(mu0, g)
        hlo = solve.lower(mu0, g).compile().as_text()
        res.update(
            err=float(jnp.max(jnp.abs(out - ref))),
            ref_devices=len(ref.sharding.device_set),
            devices=len(out.sharding.device_set),
            spec=list(out.sharding.spec),
            shards=sorted((s.device.id, s.index[0].start, list(s.data.shape)) for s in out.addressable_shards),
            full_blocks=hlo.count("f64[8,20,3]"),
            device_blocks=hlo.count("f64[4,20,3]"),
        )
    """)
    assert res["ref_devices"] == 1
    assert res["err"] <= 1e-12
    assert res["devices"] == 2 and res["spec"] == ["trajectory"]
    assert res["shards"] == [[0, 0, [4, 20, 3]], [1, 4, [4, 20, 3]]]
    # the compiled program works on each device's 4 trajectories, never on all 8
    assert res["device_blocks"] > 0 and res["full_blocks"] == 0


@pytest.mark.slow  # a child process with 2 devices and a fit: ~30-45 s (CI budget)
def test_parallel_chains_on_two_devices_match_sequential_and_sharded_data_is_partitioned(tmp_path):
    """chain_method='parallel' (pmap, one chain per device) runs the same chains as
    'sequential' (same per-chain keys; equal up to rounding: the two are compiled
    differently, so draws agree to ~1e-9 here, not bit for bit). Data sharded over the two
    devices give the same draws too, from a sampling loop XLA partitioned by trajectory."""
    dump = tmp_path / "hlo"
    res = run_on_two_devices("""
        sim = bm.datasets.simulate(game, {"gamma": 1.2}, 4, bm.observe.Dirichlet(2000.0), seed=0)
        model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(2000.0), record_mu=True)
        kw = dict(num_chains=2, num_warmup=20, num_samples=20, progress_bar=False, seed=3)
        par = bm.fit_nuts(model, sim.data, chain_method="parallel", **kw)
        seq = bm.fit_nuts(model, sim.data, chain_method="sequential", **kw)
        data = bm.shard_trajectories(sim.data)
        sh = bm.fit_nuts(model, data, chain_method="sequential", **kw)
        try:
            bm.fit_nuts(model, data, chain_method="parallel", **kw)
        except ValueError as e:
            res["parallel_with_sharded"] = str(e)
        diff = lambda a, b: {k: float(np.max(np.abs(a.samples[k] - b.samples[k]))) for k in ("gamma", "mu")}
        loops = []
        for f in sorted(os.listdir(os.environ["DUMP"]) if os.path.isdir(os.environ["DUMP"]) else []):
            if "fori_collect" in f and f.endswith("after_optimizations.txt"):
                text = open(os.path.join(os.environ["DUMP"], f)).read()
                loops.append([text.split("\\n", 1)[0].count("num_partitions=2"), text.count("f64[2,20,3]"),
                              text.count("f64[4,20,3]")])
        res.update(
            method=par.settings["chain_method"],
            par_devices=len(par.mcmc.get_samples(group_by_chain=True)["gamma"].sharding.device_set),
            par_vs_seq=diff(par, seq),
            steps_equal=bool(np.array_equal(par.fields["num_steps"], seq.fields["num_steps"])),
            seq_distinct_chains=float(np.max(np.abs(seq.samples["gamma"][0] - seq.samples["gamma"][1]))),
            sharded_vs_seq=diff(sh, seq),
            sharded_mu_devices=len(sh.mcmc.get_samples()["mu"].sharding.device_set),
            loops=loops,
        )
    """, extra_xla_flags=f"--xla_dump_to={dump} --xla_dump_hlo_module_re=.*fori_collect.*", env={"DUMP": str(dump)})
    assert res["method"] == "parallel" and res["par_devices"] == 2
    assert res["seq_distinct_chains"] > 1e-3  # two different chains, not one chain twice
    assert res["steps_equal"]
    assert res["par_vs_seq"]["gamma"] < 1e-6 and res["par_vs_seq"]["mu"] < 1e-6
    assert res["sharded_vs_seq"]["gamma"] < 1e-6 and res["sharded_vs_seq"]["mu"] < 1e-6
    assert "chain_method='parallel'" in res["parallel_with_sharded"]
    # the sampling loop of the sharded fit is compiled for 2 partitions, on 2 of 4 trajectories each
    partitioned = [loop for loop in res["loops"] if loop[0]]
    assert partitioned, res["loops"]
    assert all(per_device > 0 and full == 0 for _, per_device, full in partitioned), partitioned
    assert res["sharded_mu_devices"] == 2


@pytest.mark.slow  # a child process with 2 devices and a fit: ~30-45 s (CI budget)
def test_sbc_with_shard_splits_simulations_across_devices_and_gives_the_same_ranks():
    res = run_on_two_devices("""
        import importlib
        sbc_module = importlib.import_module("bayes_mfg.criticism._sbc_fits")  # the vmapped fits of bm.sbc
        sim = bm.datasets.simulate(game, {"gamma": 1.2}, 2, bm.observe.Dirichlet(2000.0), seed=0)
        model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(2000.0))
        seen = []
        original = sbc_module.nuts_batch
        def spy(model, batch, keys, *args):
            seen.append([int(keys.shape[0]), len(keys.sharding.device_set), len(batch.values.sharding.device_set)])
            return original(model, batch, keys, *args)
        sbc_module.nuts_batch = spy
        kw = dict(n_sims=3, bins=2, num_samples=9, thin=1, num_warmup=15, max_tree_depth=4, batch_size=3)
        a = bm.sbc(model, sim.data, shard=True, **kw)
        b = bm.sbc(model, sim.data, **kw)
        res.update(seen=seen, draws_err=float(np.max(np.abs(a.draws - b.draws))), shape=list(a.draws.shape),
                   ranks_equal=bool((a.ranks.to_numpy() == b.ranks.to_numpy()).all()),
                   n_failed=[a.n_failed, b.n_failed])
    """)
    # 3 simulations padded to 4, two per device; without shard: 3 on one device
    assert res["seen"] == [[4, 2, 2], [3, 1, 1]]
    assert res["shape"] == [3 - res["n_failed"][0], 9, 1] and res["n_failed"][0] == res["n_failed"][1]
    assert res["draws_err"] <= 1e-10 and res["ranks_equal"]


@pytest.mark.slow  # a child process with 2 devices and a fit: ~30-45 s (CI budget)
def test_fit_svi_on_sharded_data_matches_one_device_and_is_partitioned(tmp_path):
    dump = tmp_path / "hlo"
    res = run_on_two_devices("""
        sim = bm.datasets.simulate(game, {"gamma": 1.2}, 4, bm.observe.Dirichlet(2000.0), seed=0)
        model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(2000.0))
        one = bm.fit_svi(model, sim.data, guide="normal", num_steps=30, progress_bar=False)
        two = bm.fit_svi(model, bm.shard_trajectories(sim.data), guide="normal", num_steps=30, progress_bar=False)
        tree = two.to_arviz(num_samples=10)
        loops = []
        for f in sorted(os.listdir(os.environ["DUMP"]) if os.path.isdir(os.environ["DUMP"]) else []):
            if f.endswith("after_optimizations.txt"):
                text = open(os.path.join(os.environ["DUMP"], f)).read()
                loops.append([text.split("\\n", 1)[0].count("num_partitions=2"), text.count("f64[2,20,3]"),
                              text.count("f64[4,20,3]")])
        res.update(
            loss_err=float(np.max(np.abs(one.losses - two.losses))),
            params_err=max(float(np.max(np.abs(one.params[k] - two.params[k]))) for k in one.params),
            mask_is_numpy=isinstance(tree["observed_data"]["mask"].data, np.ndarray),
            mask_equal=bool(np.array_equal(tree["observed_data"]["mask"].values, sim.data.mask)),
            loops=loops,
        )
    """, extra_xla_flags=f"--xla_dump_to={dump} --xla_dump_hlo_module_re=jit_run", env={"DUMP": str(dump)})
    assert res["loss_err"] <= 1e-8 and res["params_err"] <= 1e-10
    assert res["mask_is_numpy"] and res["mask_equal"]
    # the optimisation loop was compiled for 2 partitions, on 2 of 4 trajectories each
    assert [loop for loop in res["loops"] if loop[0] and loop[1] > 0 and loop[2] == 0], res["loops"]


def test_shard_trajectories_needs_a_multiple_of_the_device_count():
    res = run_on_two_devices("""
        sim = bm.datasets.simulate(game, {"gamma": 1.2}, 3, seed=0)
        for name, arg in (("observations", sim.data), ("array", sim.data.mu0)):
            try:
                bm.shard_trajectories(arg)
            except ValueError as e:
                res[name] = str(e)
        one = bm.shard_trajectories(sim.data, devices=jax.devices()[:1])
        res["one_device"] = len(one.values.sharding.device_set)
    """)
    assert "data.n_trajectories (3) must be a multiple of the number of devices (2)" in res["observations"]
    assert "leading axis of data (3) must be a multiple of the number of devices (2)" in res["array"]
    assert res["one_device"] == 1


# ---------------------------------------------------------------------------- one device (this process)
def test_shard_trajectories_on_one_device_keeps_the_data():
    sim = bm.datasets.simulate(GAME, {"gamma": 1.2}, 3, bm.observe.Dirichlet(500.0), seed=2)
    data = bm.shard_trajectories(sim.data)
    assert isinstance(data, bm.Observations) and data is not sim.data
    assert data.values.sharding.spec == jax.sharding.PartitionSpec("trajectory")
    for name in ("values", "mask", "mu0"):
        np.testing.assert_array_equal(np.asarray(getattr(data, name)), getattr(sim.data, name))
    np.testing.assert_array_equal(data.times, sim.data.times)
    assert (data.kind, data.state_names, data.trajectory_names) == (sim.data.kind, sim.data.state_names,
                                                                     sim.data.trajectory_names)
    assert not is_sharded(data)  # one device: the fits treat it like any data
    tree = {"a": np.zeros((3, 2)), "b": [jnp.ones(3)]}
    out = bm.shard_trajectories(tree)
    assert isinstance(out["a"], jax.Array) and out["b"][0].shape == (3,)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"data": 1.5}, TypeError, "data must be an Observations or a pytree of arrays"),
        ({"data": {"a": "text"}}, TypeError, "data must be an Observations or a pytree of arrays"),
        ({"data": {}}, ValueError, "data holds no arrays"),
        ({"data": np.float64(1.0)}, ValueError, "data: every array must have a leading trajectory axis"),
        ({"data": (np.zeros(4), np.zeros(3))}, ValueError, r"data: the arrays must share .* sizes \[3, 4\]"),
        ({"data": np.zeros(4), "devices": "cpu"}, TypeError, "devices must be a sequence of jax.Device"),
        ({"data": np.zeros(4), "devices": jax.devices()[0]}, TypeError, "devices must be a sequence of jax.Device"),
        ({"data": np.zeros(4), "devices": [0]}, TypeError, "devices must be a sequence of jax.Device"),
        ({"data": np.zeros(4), "devices": []}, ValueError, "devices must not be empty"),
        ({"data": np.zeros(4), "devices": jax.devices() * 2}, ValueError, "devices must be distinct"),
    ],
)
def test_shard_trajectories_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        bm.shard_trajectories(**kwargs)


def test_sbc_rejects_a_non_bool_shard():
    sim = bm.datasets.simulate(GAME, {"gamma": 1.2}, 2, bm.observe.Dirichlet(500.0), seed=0)
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(500.0))
    with pytest.raises(TypeError, match="shard must be a bool"):
        bm.sbc(model, sim.data, n_sims=10, shard="yes")


def test_pad_leading_repeats_the_last_entry():
    (a, b), n = pad_leading((np.arange(3.0), np.arange(6).reshape(3, 2)), 2)
    assert n == 3
    np.testing.assert_array_equal(a, [0.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(b[-1], [4, 5])
    same, n = pad_leading(np.arange(4.0), 2)
    assert n == 4 and np.shape(same) == (4,)


def test_failures_are_still_reported_when_the_model_runs_eagerly():
    """An eagerly evaluated model (NumPyro's first trace) reports failed solves by a direct
    host call (not an eager pure_callback, whose output is committed to one device)."""
    sim = bm.datasets.simulate(GAME, {"gamma": 1.2}, 2, seed=0)
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(500.0),
                                solver=bm.Picard(tol=1e-14, max_iter=1))
    with recording("initialisation") as rec:
        numpyro.handlers.trace(numpyro.handlers.seed(model, rng_seed=0)).get_trace(sim.data)
    assert rec.tally.n_rejected == 1 and rec.tally.n_failed_solves == 2
    assert rec.tally.by_phase == {"initialisation": 1}
