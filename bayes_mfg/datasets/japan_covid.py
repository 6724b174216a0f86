"""COVID-19 in Japan: newly confirmed cases per day, national and by prefecture, with covariates.

Source
------
* **Cases**: Ministry of Health, Labour and Welfare (MHLW), open data file
  ``newly_confirmed_cases_daily.csv`` (https://www.mhlw.go.jp/stf/covid-19/open-data.html):
  newly confirmed cases by report date, Japan (``ALL``) and the 47 prefectures. Terms: the
  Government of Japan Standard Terms of Use (ver. 2.0), compatible with CC BY 4.0; credit
  "Ministry of Health, Labour and Welfare". The package ships the days 2020-09-01 .. 2021-12-31
  and, per column, the cumulative count reported before 2020-09-01 (since 2020-01-16).
* **Vaccinations**: Our World in Data, ``public/data/vaccinations/country_data/Japan.csv``
  (people with at least one dose, fully vaccinated, doses; CC BY 4.0), 2021-02-17 .. 2021-12-31.
* **Policy stringency**: Oxford COVID-19 Government Response Tracker (OxCGRT), final v1 data,
  Stringency Index (the "average" version), Japan, national; CC BY 4.0.
* **Populations**: 2020 Population Census of Japan (Statistics Bureau of Japan), the 47
  prefectures and the national total 126,146,099.
* **Dates**: Tokyo's states of emergency (2021-01-08 .. 03-21, 04-25 .. 06-20, 07-12 .. 09-30)
  and the Tokyo Olympic Games (2021-07-23 .. 08-08).

The commits read and every check made on these copies are in
``bayes_mfg/datasets/data/japan_covid/README.md``; nothing is downloaded at run time.

Representation
--------------
One trajectory (``level="national"``) or one per prefecture, one state ``"new_cases"`` of kind
``"counts"``. The clock is in days, ``t = 0`` at the start (00:00) of the window's first day;
the count at ``t = k`` (``k = 1, ..., n_days``) is the number of cases reported on day
``start + k - 1``: the flow over the interval ``(k - 1, k]``, not a stock. ``mu0`` is ``None``
(latent). Covariates are national daily series aligned with the rows.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import io
from dataclasses import dataclass
from importlib import resources
from typing import Any, Sequence

import numpy as np

from bayes_mfg.data import Observations

__all__ = ["JapanCovid", "japan_covid"]

#: First and last day of the shipped daily data.
FIRST_DAY = "2020-09-01"
LAST_DAY = "2021-12-31"

#: Japan's population, 2020 census (Statistics Bureau of Japan).
JAPAN_POPULATION_2020 = 126_146_099

LEVELS = ("national", "prefectures")

ATTRIBUTION = (
    "Newly confirmed COVID-19 cases: Ministry of Health, Labour and Welfare (MHLW), Japan, open data "
    "(Government of Japan Standard Terms of Use 2.0). Vaccinations: Our World in Data (CC BY 4.0). "
    "Stringency index: Oxford COVID-19 Government Response Tracker, Blavatnik School of Government, "
    "University of Oxford (CC BY 4.0). Populations: 2020 Population Census, Statistics Bureau of Japan."
)


@dataclass(frozen=True, eq=False)
class JapanCovid:
    """Daily newly confirmed COVID-19 cases in Japan for one window, with covariates.

    Attributes
    ----------
    cases
        :class:`bayes_mfg.Observations` of kind ``"counts"``, shape ``(n_traj, n_days, 1)``,
        state ``("new_cases",)``; ``times = 1, ..., n_days`` (days since the start of the
        window's first day): row ``k`` holds the cases reported on day ``start + k - 1``, the
        flow over ``(k - 1, k]``. Trajectory names are ``"Japan"`` or the prefectures' names.
        ``mu0`` is ``None``.
    dates
        ``(n_days,)`` ``datetime64[D]``: the report date of each row.
    population
        ``(n_traj,)`` float: the 2020 census population of each trajectory.
    cumulative_before
        ``(n_traj,)`` float: the cases reported before ``dates[0]`` (since 2020-01-16).
    covariates
        ``{name: (n_days,) float}``, national series aligned with ``dates`` (the same for every
        prefecture): ``"vaccinated_share"`` (people with at least one dose / 126,146,099; 0
        before 2021-02-17, linear between reported dates), ``"fully_vaccinated_share"``,
        ``"vaccination_rate"`` (the daily increase of ``vaccinated_share``),
        ``"state_of_emergency"`` (1 on the days of **Tokyo's** states of emergency, else 0),
        ``"olympics"`` (1 from 2021-07-23 to 2021-08-08) and ``"stringency"`` (OxCGRT
        Stringency Index, 0-100, national).
    weekday
        ``(n_days,)`` int, 0 = Monday ... 6 = Sunday (reports dip on Sundays and Mondays).
    attribution
        The credit line for MHLW, OWID, OxCGRT and the census; cite it with any result.

    Examples
    --------
    >>> from bayes_mfg.datasets import japan_covid
    >>> jp = japan_covid()
    >>> jp.cases.values.shape, int(jp.cases.values.sum())
    ((1, 368, 1), 1621870)
    >>> str(jp.dates[0]), int(jp.weekday[0]), int(jp.cumulative_before[0])
    ('2020-10-01', 3, 82655)
    """

    cases: Observations
    dates: np.ndarray
    population: np.ndarray
    cumulative_before: np.ndarray
    covariates: dict[str, np.ndarray]
    weekday: np.ndarray
    attribution: str

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def __repr__(self) -> str:
        names = self.cases.trajectory_names
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        return (f"JapanCovid({self.n_days} days {self.dates[0]} .. {self.dates[-1]}, {len(names)} trajectories "
                f"({shown}), covariates {sorted(self.covariates)})")


# ---------------------------------------------------------------------------- shipped tables
def _read(name: str) -> list[list[str]]:
    text = resources.files("bayes_mfg.datasets").joinpath("data", "japan_covid", name).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    """The shipped CSVs, parsed once: daily grid 2020-09-01 .. 2021-12-31 and the covariates on it."""
    rows = _read("cases_daily.csv")
    columns = tuple(rows[0][1:])
    dates = np.array([r[0] for r in rows[1:]], dtype="datetime64[D]")
    counts = np.array([[int(x) for x in r[1:]] for r in rows[1:]], dtype=np.int64)
    before_rows = _read("cases_before.csv")
    if tuple(before_rows[0][1:]) != columns or before_rows[1][0] != "2020-08-31":
        raise RuntimeError("the shipped cases_before.csv does not match cases_daily.csv (reinstall bayes_mfg)")
    before = np.array([int(x) for x in before_rows[1][1:]], dtype=np.int64)
    population = {r[0]: float(r[1]) for r in _read("population.csv")[1:]}

    # vaccinations: cumulative counts on reported dates, linear in between, 0 before the first report;
    # evaluated from the day before the grid so that the first day has a daily increase
    vax = _read("vaccinations.csv")
    vdates = np.array([r[0] for r in vax[1:]], dtype="datetime64[D]").astype(np.int64)
    grid = np.concatenate([dates[:1] - np.timedelta64(1, "D"), dates]).astype(np.int64)

    def interp(col: int) -> np.ndarray:
        v = np.array([float(r[col]) for r in vax[1:]])
        return np.interp(grid, vdates, v, left=0.0, right=v[-1]) / JAPAN_POPULATION_2020

    one_dose, full = interp(2), interp(3)
    stringency_rows = _read("stringency.csv")[1:]
    if [r[0] for r in stringency_rows] != [str(d) for d in dates]:
        raise RuntimeError("the shipped stringency.csv is not on the days of cases_daily.csv (reinstall bayes_mfg)")
    events: dict[str, np.ndarray] = {}
    for name, start, end, _note in _read("events.csv")[1:]:
        on = (dates >= np.datetime64(start)) & (dates <= np.datetime64(end))
        events[name] = events.get(name, np.zeros(len(dates))) + on
    covariates = {
        "vaccinated_share": one_dose[1:],
        "fully_vaccinated_share": full[1:],
        "vaccination_rate": np.diff(one_dose),
        "state_of_emergency": events["state_of_emergency"],
        "olympics": events["olympics"],
        "stringency": np.array([float(r[1]) for r in stringency_rows]),
    }
    return {"columns": columns, "dates": dates, "counts": counts, "before": before, "population": population,
            "covariates": covariates}


# ---------------------------------------------------------------------------- argument checks
def _parse_date(name: str, value: Any) -> np.datetime64:
    if isinstance(value, np.datetime64):
        value = str(value.astype("datetime64[D]"))
    elif isinstance(value, _dt.datetime):
        value = value.date().isoformat()
    elif isinstance(value, _dt.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a date string 'YYYY-MM-DD', got {type(value).__name__} {value!r}")
    try:
        day = _dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be a date 'YYYY-MM-DD', got {value!r} (not parseable)") from None
    return np.datetime64(day.isoformat(), "D")


def _check_prefectures(level: Any, prefectures: Any, columns: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(level, str):
        raise TypeError(f"level must be a str, one of {LEVELS}, got {type(level).__name__} {level!r}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    allowed = columns[1:]
    if level == "national":
        if prefectures is not None:
            raise ValueError("prefectures is used only with level='prefectures' (level='national' is column ALL)")
        return ("ALL",)
    if prefectures is None:
        return allowed
    if isinstance(prefectures, str) or not isinstance(prefectures, Sequence):
        raise TypeError(f"prefectures must be a sequence of names (e.g. ['Tokyo']), got {type(prefectures).__name__} "
                        f"{prefectures!r}")
    names = tuple(prefectures)
    if not names:
        raise ValueError(f"prefectures must name at least one prefecture; allowed: {list(allowed)}")
    wrong = [p for p in names if p not in allowed]
    if wrong:
        raise ValueError(f"prefectures: unknown name(s) {wrong}; allowed (as in the MHLW header): {list(allowed)}")
    if len(set(names)) != len(names):
        raise ValueError(f"prefectures must be distinct, got {list(names)}")
    return names


# ---------------------------------------------------------------------------- loader
def japan_covid(start: str = "2020-10-01", end: str = "2021-10-03", *, level: str = "national",
                prefectures: Sequence[str] | None = None) -> JapanCovid:
    """Newly confirmed COVID-19 cases per day in Japan from ``start`` to ``end`` (both included).

    Parameters
    ----------
    start, end
        First and last report day, ``"YYYY-MM-DD"`` (or ``datetime.date`` /
        ``numpy.datetime64``), within 2020-09-01 .. 2021-12-31, with ``end`` after ``start``.
        The default window, 2020-10-01 .. 2021-10-03 (368 days), covers the third, fourth and
        fifth waves (daily peaks 7,945 on 2021-01-08, 7,224 on 2021-05-08, 25,978 on 2021-08-20).
        For another window, call ``japan_covid`` again (the tables are parsed once).
    level
        ``"national"``: one trajectory, Japan (the MHLW column ``ALL``); ``"prefectures"``: one
        trajectory per prefecture.
    prefectures
        With ``level="prefectures"``: the prefectures to keep, English names as in the MHLW
        header (``"Hokkaido"``, ..., ``"Tokyo"``, ..., ``"Okinawa"``); default all 47, in the
        header's order (north to south). The 47 columns add up to ``ALL`` on every day.

    Returns
    -------
    JapanCovid
        ``cases`` (counts ``(n_traj, n_days, 1)`` at ``t = 1, ..., n_days``), ``dates``,
        ``population``, ``cumulative_before``, ``covariates``, ``weekday`` and ``attribution``.
        The counts are flows: model them with a flow readout (e.g.
        :class:`bayes_mfg.observe.Transitions` of ``S -> I``) and
        :class:`bayes_mfg.observe.ReportedCounts` with ``population=float(population[j])``
        and ``weekday_origin=int(weekday[0])``.

    Raises
    ------
    ValueError
        A date that does not parse, ``end`` not after ``start``, a window outside the shipped
        2020-09-01 .. 2021-12-31, an unknown ``level`` or prefecture (the message lists what
        is allowed).
    TypeError
        ``start``/``end`` not a date string, ``level`` not a str, ``prefectures`` not a
        sequence of names.

    Examples
    --------
    >>> from bayes_mfg.datasets import japan_covid
    >>> jp = japan_covid()
    >>> y = jp.cases.values[0, :, 0]
    >>> int(y.max()), str(jp.dates[y.argmax()])
    (25978, '2021-08-20')
    >>> float(jp.covariates["state_of_emergency"].sum()), float(jp.covariates["olympics"].sum())
    (211.0, 17.0)
    >>> kanto = japan_covid("2021-07-01", "2021-09-30", level="prefectures", prefectures=["Tokyo", "Kanagawa"])
    >>> kanto.cases.trajectory_names, kanto.cases.values.shape, [int(p) for p in kanto.population]
    (('Tokyo', 'Kanagawa'), (2, 92, 1), [14047594, 9237337])
    """
    t0, t1 = _parse_date("start", start), _parse_date("end", end)
    tables = _tables()
    names = _check_prefectures(level, prefectures, tables["columns"])
    dates = tables["dates"]
    first, last = dates[0], dates[-1]
    if t1 <= t0:
        raise ValueError(f"dates not increasing: end ({t1}) must be after start ({t0})")
    if t0 < first or t1 > last:
        raise ValueError(f"start .. end = {t0} .. {t1} is outside the shipped data; available: {first} .. {last}")

    i0, i1 = int((t0 - first).astype(int)), int((t1 - first).astype(int)) + 1
    cols = [tables["columns"].index(n) for n in names]
    counts = tables["counts"][i0:i1, cols].T.astype(np.float64)
    n_days = i1 - i0
    cumulative = (tables["before"][cols] + tables["counts"][:i0, cols].sum(0)).astype(np.float64)
    population = np.array([tables["population"][n] for n in names])
    traj_names = ("Japan",) if level == "national" else names
    obs = Observations.from_arrays(counts[..., None], np.arange(1, n_days + 1, dtype=float), kind="counts",
                                   state_names=("new_cases",), trajectory_names=traj_names)
    window_dates = dates[i0:i1].copy()
    weekday = ((window_dates.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    covariates = {k: v[i0:i1].copy() for k, v in tables["covariates"].items()}
    for arr in (window_dates, weekday, population, cumulative, *covariates.values()):
        arr.setflags(write=False)
    return JapanCovid(obs, window_dates, population, cumulative, covariates, weekday, ATTRIBUTION)
