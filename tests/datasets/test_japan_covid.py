"""COVID-19 in Japan (bm.datasets.japan_covid): facts measured on the MHLW file, covariates, bad input."""

import csv
import datetime as dt
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg.datasets import JapanCovid, japan_covid

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = [ROOT / "shared" / "data" / "japan_covid", Path("/work/shared/data/japan_covid")]
SOURCE = next((d / "newly_confirmed_cases_daily.csv" for d in SOURCE_DIRS
               if (d / "newly_confirmed_cases_daily.csv").exists()), None)
needs_source = pytest.mark.skipif(SOURCE is None, reason="the MHLW source file (shared/data/japan_covid) is absent")


@pytest.fixture(scope="module")
def jp():
    return japan_covid()


@pytest.fixture(scope="module")
def prefs():
    return japan_covid(level="prefectures")


def day(s):
    return np.datetime64(s, "D")


def at(data, date):
    return int(np.flatnonzero(data.dates == day(date))[0])


# ---------------------------------------------------------------------------- facts (hard numbers)
def test_default_window_national_facts(jp):
    y = jp.cases.values[0, :, 0]
    assert len(jp.dates) == 368 and y.shape == (368,)
    assert str(jp.dates[0]) == "2020-10-01" and str(jp.dates[-1]) == "2021-10-03"
    assert int(y.sum()) == 1_621_870
    assert int(y.max()) == 25_978 and str(jp.dates[y.argmax()]) == "2021-08-20"
    assert int(y.min()) == 268 and str(jp.dates[y.argmin()]) == "2020-10-05"
    winter = jp.dates < day("2021-03-01")
    assert int(y[winter].max()) == 7_945 and str(jp.dates[winter][y[winter].argmax()]) == "2021-01-08"
    may = (jp.dates >= day("2021-05-01")) & (jp.dates <= day("2021-05-31"))
    assert int(y[may].max()) == 7_224 and str(jp.dates[may][y[may].argmax()]) == "2021-05-08"
    assert jp.cumulative_before.tolist() == [82_655.0]


def test_seven_day_mean_peaks(jp):
    y = jp.cases.values[0, :, 0]
    mean7 = np.convolve(y, np.ones(7) / 7, mode="valid")  # mean7[i]: days i .. i+6, dated at the last day
    last = jp.dates[6:]
    for lo, hi, peak, date in [("2020-12-01", "2021-02-28", 6485, "2021-01-11"),
                               ("2021-04-01", "2021-06-30", 6437, "2021-05-14"),
                               ("2021-07-01", "2021-09-30", 23193, "2021-08-25")]:
        sel = (last >= day(lo)) & (last <= day(hi))
        assert round(mean7[sel].max()) == peak and str(last[sel][mean7[sel].argmax()]) == date


def test_observations_layout(jp):
    obs = jp.cases
    assert isinstance(jp, JapanCovid) and isinstance(obs, bm.Observations)
    assert obs.kind == "counts" and obs.state_names == ("new_cases",) and obs.trajectory_names == ("Japan",)
    assert obs.values.shape == (1, 368, 1) and obs.mu0 is None and obs.mask.all()
    np.testing.assert_array_equal(obs.times, np.arange(1.0, 369.0))
    assert jp.dates.dtype == np.dtype("datetime64[D]")
    assert jp.population.tolist() == [126_146_099.0]
    assert "Ministry of Health, Labour and Welfare" in jp.attribution
    assert "Our World in Data" in jp.attribution and "Oxford COVID-19 Government Response Tracker" in jp.attribution
    assert "JapanCovid(368 days" in repr(jp)


def test_weekday_is_monday_zero(jp):
    assert int(jp.weekday[0]) == 3  # 2020-10-01 was a Thursday
    expected = [dt.date.fromisoformat(str(d)).weekday() for d in jp.dates]
    assert jp.weekday.tolist() == expected and jp.weekday.dtype.kind == "i"


def test_returned_arrays_are_read_only(jp):
    for arr in (jp.dates, jp.weekday, jp.population, jp.cumulative_before, jp.covariates["stringency"]):
        with pytest.raises(ValueError):
            arr[0] = 0


# ---------------------------------------------------------------------------- prefectures
def test_prefectures_add_up_to_the_national_column_every_day():
    full = japan_covid("2020-09-01", "2021-12-31")
    pref = japan_covid("2020-09-01", "2021-12-31", level="prefectures")
    assert pref.cases.values.shape == (47, 487, 1)
    np.testing.assert_array_equal(pref.cases.values.sum(0), full.cases.values[0])
    assert pref.cumulative_before.sum() == full.cumulative_before[0] == 67_624


def test_prefecture_names_order_and_populations(prefs):
    names = prefs.cases.trajectory_names
    assert len(names) == 47 and names[0] == "Hokkaido" and names[12] == "Tokyo" and names[-1] == "Okinawa"
    pop = dict(zip(names, prefs.population))
    assert prefs.population.sum() == 126_146_099
    assert pop["Tokyo"] == 14_047_594 and pop["Hokkaido"] == 5_224_614 and pop["Tottori"] == 553_407
    assert prefs.population.min() == pop["Tottori"] and prefs.population.max() == pop["Tokyo"]


def test_selected_prefectures_keep_the_requested_order(prefs):
    sel = japan_covid(level="prefectures", prefectures=["Osaka", "Tokyo"])
    assert sel.cases.trajectory_names == ("Osaka", "Tokyo")
    names = prefs.cases.trajectory_names
    np.testing.assert_array_equal(sel.cases.values[1], prefs.cases.values[names.index("Tokyo")])
    np.testing.assert_array_equal(sel.population, [8_837_685, 14_047_594])


def test_a_window_is_a_slice_of_a_wider_window():
    wide = japan_covid("2020-09-01", "2021-12-31", level="prefectures")
    part = japan_covid("2021-03-15", "2021-04-30", level="prefectures")
    i = int((day("2021-03-15") - day("2020-09-01")).astype(int))
    np.testing.assert_array_equal(part.cases.values, wide.cases.values[:, i:i + 47])
    np.testing.assert_array_equal(part.cumulative_before, wide.cumulative_before + wide.cases.values[:, :i, 0].sum(1))
    for name, series in part.covariates.items():
        np.testing.assert_allclose(series, wide.covariates[name][i:i + 47], err_msg=name)
    assert japan_covid(dt.date(2021, 3, 15), np.datetime64("2021-04-30")).cases.n_times == 47


# ---------------------------------------------------------------------------- covariates
def test_vaccinated_share(jp):
    v, full = jp.covariates["vaccinated_share"], jp.covariates["fully_vaccinated_share"]
    assert np.all(np.diff(v) >= 0) and v.min() >= 0 and v.max() <= 1
    assert np.all(full <= v) and np.all(np.diff(full) >= 0)
    assert np.all(v[jp.dates < day("2021-02-17")] == 0) and v[at(jp, "2021-02-17")] == pytest.approx(125 / 126_146_099)
    # reported days (OWID): people with >= 1 dose / 2020 census population
    assert v[at(jp, "2021-10-01")] == pytest.approx(91_866_665 / 126_146_099)
    assert full[at(jp, "2021-10-03")] == pytest.approx(80_476_005 / 126_146_099)
    # 2021-02-20 is not reported: linear between 02-19 (5,039) and 02-22 (11,934)
    assert v[at(jp, "2021-02-20")] * 126_146_099 == pytest.approx(5039 + (11934 - 5039) / 3)


def test_vaccination_rate_is_the_daily_increase(jp):
    v, rate = jp.covariates["vaccinated_share"], jp.covariates["vaccination_rate"]
    np.testing.assert_allclose(rate[1:], np.diff(v), rtol=0, atol=1e-15)
    assert rate[0] == 0.0 and np.all(rate >= 0)
    later = japan_covid("2021-06-01", "2021-06-30")
    assert later.covariates["vaccination_rate"][0] * 126_146_099 == pytest.approx(13_476_787 - 12_750_676)


def test_event_indicators(jp):
    soe, oly = jp.covariates["state_of_emergency"], jp.covariates["olympics"]
    assert set(np.unique(soe)) == {0.0, 1.0} and set(np.unique(oly)) == {0.0, 1.0}
    for d, on in [("2021-01-07", 0), ("2021-01-08", 1), ("2021-03-21", 1), ("2021-03-22", 0), ("2021-04-24", 0),
                  ("2021-04-25", 1), ("2021-06-20", 1), ("2021-06-21", 0), ("2021-07-11", 0), ("2021-07-12", 1),
                  ("2021-09-30", 1), ("2021-10-01", 0)]:
        assert soe[at(jp, d)] == on, d
    assert soe.sum() == 73 + 57 + 81
    assert oly.sum() == 17 and oly[at(jp, "2021-07-23")] == 1 and oly[at(jp, "2021-08-08")] == 1
    assert oly[at(jp, "2021-07-22")] == 0 and oly[at(jp, "2021-08-09")] == 0


def test_stringency(jp):
    s = jp.covariates["stringency"]
    assert s.shape == (368,) and 0 <= s.min() and s.max() <= 100
    assert s[at(jp, "2021-04-24")] == 45.37 and s[at(jp, "2021-04-25")] == 49.07
    assert s[at(jp, "2021-09-30")] == 50.46 and s[at(jp, "2021-10-01")] == 47.22
    assert s.max() == 55.09


def test_all_covariates_are_aligned_float_series(prefs):
    expected = {"vaccinated_share", "fully_vaccinated_share", "vaccination_rate", "state_of_emergency", "olympics",
                "stringency"}
    assert set(prefs.covariates) == expected
    for v in prefs.covariates.values():
        assert v.shape == prefs.dates.shape and v.dtype == np.float64 and np.all(np.isfinite(v))


# ---------------------------------------------------------------------------- the shipped copy vs the source
def _source():
    with open(SOURCE, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    out = {}
    for r in rows[1:]:
        y, m, d = (int(x) for x in r[0].split("/"))
        out[dt.date(y, m, d)] = [int(x) for x in r[1:]]
    return header, out


@needs_source
def test_shipped_cases_equal_the_mhlw_file():
    header, by_day = _source()
    assert header[1] == "ALL" and len(header) == 49
    got = japan_covid("2020-09-01", "2021-12-31", level="prefectures")
    nat = japan_covid("2020-09-01", "2021-12-31")
    assert got.cases.trajectory_names == tuple(header[2:])
    days = [dt.date.fromisoformat(str(d)) for d in got.dates]
    expected = np.array([by_day[d] for d in days], dtype=float)  # (487, 48)
    np.testing.assert_array_equal(nat.cases.values[0, :, 0], expected[:, 0])
    np.testing.assert_array_equal(got.cases.values[..., 0], expected[:, 1:].T)
    before = np.array([v for d, v in by_day.items() if d < dt.date(2020, 9, 1)], dtype=float).sum(0)
    np.testing.assert_array_equal(got.cumulative_before, before[1:])
    assert nat.cumulative_before[0] == before[0]


@needs_source
def test_readme_facts_recomputed_from_the_mhlw_file():
    _, by_day = _source()
    window = [v[0] for d, v in by_day.items() if dt.date(2020, 10, 1) <= d <= dt.date(2021, 10, 3)]
    assert len(window) == 368 and sum(window) == 1_621_870 and max(window) == 25_978 and min(window) == 268
    assert sum(v[0] for d, v in by_day.items() if d < dt.date(2020, 10, 1)) == 82_655
    assert all(v[0] == sum(v[1:]) for v in by_day.values())


def test_shipped_files_are_package_data():
    base = resources.files("bayes_mfg.datasets").joinpath("data", "japan_covid")
    names = {"cases_daily.csv", "cases_before.csv", "vaccinations.csv", "stringency.csv", "population.csv",
             "events.csv", "README.md"}
    assert names <= {p.name for p in base.iterdir()}
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"data/japan_covid/*.csv", "data/japan_covid/*.md"} <= set(spec["bayes_mfg.datasets"])


# ---------------------------------------------------------------------------- bad input
def test_start_not_parseable():
    with pytest.raises(ValueError, match=r"start must be a date 'YYYY-MM-DD'.*not parseable"):
        japan_covid("2020/10/01")


def test_end_not_parseable():
    with pytest.raises(ValueError, match=r"end must be a date 'YYYY-MM-DD'.*'yesterday'"):
        japan_covid(end="yesterday")


def test_start_impossible_day():
    with pytest.raises(ValueError, match=r"start must be a date.*2021-02-30"):
        japan_covid("2021-02-30")


def test_end_before_start():
    with pytest.raises(ValueError, match=r"dates not increasing: end \(2021-01-01\) must be after start \(2021-02-01\)"):
        japan_covid("2021-02-01", "2021-01-01")


def test_end_equal_to_start():
    with pytest.raises(ValueError, match=r"dates not increasing"):
        japan_covid("2021-02-01", "2021-02-01")


def test_start_before_the_shipped_data():
    with pytest.raises(ValueError, match=r"outside the shipped data; available: 2020-09-01 \.\. 2021-12-31"):
        japan_covid("2020-08-31")


def test_end_after_the_shipped_data():
    with pytest.raises(ValueError, match=r"start \.\. end = .*2022-01-01 is outside the shipped data; available"):
        japan_covid(end="2022-01-01")


def test_unknown_level():
    with pytest.raises(ValueError, match=r"level must be one of \('national', 'prefectures'\), got 'city'"):
        japan_covid(level="city")


def test_unknown_prefecture():
    with pytest.raises(ValueError, match=r"prefectures: unknown name\(s\) \['Tokio'\]; allowed .*'Tokyo'"):
        japan_covid(level="prefectures", prefectures=["Osaka", "Tokio"])


def test_prefectures_with_national_level():
    with pytest.raises(ValueError, match=r"prefectures is used only with level='prefectures'"):
        japan_covid(prefectures=["Tokyo"])


def test_empty_prefectures():
    with pytest.raises(ValueError, match=r"prefectures must name at least one prefecture; allowed"):
        japan_covid(level="prefectures", prefectures=[])


def test_repeated_prefectures():
    with pytest.raises(ValueError, match=r"prefectures must be distinct"):
        japan_covid(level="prefectures", prefectures=["Tokyo", "Tokyo"])


def test_start_of_wrong_type():
    with pytest.raises(TypeError, match=r"start must be a date string 'YYYY-MM-DD', got int 20201001"):
        japan_covid(20201001)


def test_level_of_wrong_type():
    with pytest.raises(TypeError, match=r"level must be a str"):
        japan_covid(level=None)


def test_prefectures_as_a_bare_string():
    with pytest.raises(TypeError, match=r"prefectures must be a sequence of names \(e\.g\. \['Tokyo'\]\), got str"):
        japan_covid(level="prefectures", prefectures="Tokyo")
