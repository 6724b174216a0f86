"""Every documented range of every game is declared once and enforced up front.

A game's numeric constructor fields are declared with ``bounded(...)`` (their range in
``dataclasses.fields(...).metadata["bound"]``) and its parameters with ``ParameterSpec``
bounds. These property tests read the declarations and draw arguments outside them: each
must be refused at construction (fields) or in ``game.params`` (parameters), before any
solve, by an error that names the argument.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayes_mfg as bm
from bayes_mfg._validation import Bound, declared_bounds

GRID = bm.games.Grid.interval(5)
LQ = bm.games.LinearQuadratic(n_states=3, n_times=5)

#: the smallest valid arguments of every public game (the registry test below keeps it complete)
GAMES = {
    "LinearQuadratic": lambda **kw: bm.games.LinearQuadratic(**{"n_states": 3, "n_times": 5, **kw}),
    "NeighbourLinearQuadratic": lambda **kw: bm.games.NeighbourLinearQuadratic(
        **{"moves": ((1,), (0, 2), (1,)), "n_times": 5, **kw}),
    "Cybersecurity": lambda **kw: bm.games.Cybersecurity(**{"n_times": 5, **kw}),
    "SIR": lambda **kw: bm.games.SIR(**{"n_times": 5, **kw}),
    "MobilityNetwork": lambda **kw: bm.games.MobilityNetwork(**{"n_states": 3, "n_times": 5, **kw}),
    "UrbanMobility": lambda **kw: bm.games.UrbanMobility(**{"n_times": 5, **kw}),
    "MeanFieldDynamics": lambda **kw: bm.games.MeanFieldDynamics(**{"n_states": 3, "n_times": 5, **kw}),
    "MeanFieldDependent": lambda **kw: bm.games.MeanFieldDependent(LQ, {"gamma": lambda t, mu: 1.0 + mu[0]}, **kw),
    "GridDynamics": lambda **kw: bm.games.GridDynamics(**{"grid": GRID, "sigma": 0.1, "n_times": 5, **kw}),
    "GridLinearQuadratic": lambda **kw: bm.games.GridLinearQuadratic(**{"grid": GRID, "sigma": 0.1, "n_times": 5, **kw}),
    "GridCongestion": lambda **kw: bm.games.GridCongestion(**{"grid": GRID, "sigma": 0.1, "n_times": 5, **kw}),
    "MeetingTime": lambda **kw: bm.games.MeetingTime(**{"grid": bm.games.Grid.interval(5, absorbing=(0,)), "n_times": 5,
                                                         **kw}),
    "BeachBar": lambda **kw: bm.games.BeachBar(**kw),
    "CrowdMotion": lambda **kw: bm.games.CrowdMotion(**{"rows": 3, "cols": 3, **kw}),
    "LeftRight": lambda **kw: bm.games.LeftRight(**kw),
    "RockPaperScissors": lambda **kw: bm.games.RockPaperScissors(**kw),
    "SusceptibleInfected": lambda **kw: bm.games.SusceptibleInfected(**{"n_times": 5, **kw}),
    "ElFarol": lambda **kw: bm.games.ElFarol(**kw),
}


def _game_classes() -> dict[str, type]:
    out = {}
    for name in bm.games.__all__:
        obj = getattr(bm.games, name)
        if (isinstance(obj, type) and issubclass(obj, bm.games.MeanFieldGame) and dataclasses.is_dataclass(obj)
                and not getattr(obj, "__abstractmethods__", None)):
            out[name] = obj
    return out


def test_every_public_game_is_in_the_registry_and_builds():
    assert set(_game_classes()) == set(GAMES)
    for make in GAMES.values():
        make()


def _field_cases() -> list[tuple[str, str, Bound]]:
    return [(g, f, b) for g, cls in sorted(_game_classes().items()) for f, b in declared_bounds(cls).items()]


def _param_cases() -> list[tuple[str, str, Bound]]:
    return [(g, name, spec.bound) for g in sorted(GAMES) for name, spec in GAMES[g]().parameter_specs().items()
            if spec.lower is not None or spec.upper is not None]


def test_declarations_cover_the_numeric_fields():
    # every int / float field of a game (other than the grid's own n_states, n_times, horizon,
    # checked by _validate_grid) carries a declared range
    undeclared = []
    for g, cls in _game_classes().items():
        bounds = declared_bounds(cls)
        for f in dataclasses.fields(cls):
            if f.type in ("float", "int", "float | None", "int | None") and f.name not in bounds \
                    and f.name not in ("n_states", "n_times", "horizon"):
                undeclared.append(f"{g}.{f.name}")
    assert not undeclared, undeclared
    assert len(_field_cases()) >= 15 and len(_param_cases()) >= 15


def outside(bound: Bound) -> st.SearchStrategy:
    """Values outside ``bound``: below / above its ends (the open ends themselves), NaN and inf."""
    options = [st.just(math.nan), st.just(math.inf), st.just(-math.inf)] if not bound.integer else []
    if bound.lower is not None:
        if bound.integer:
            options.append(st.integers(max_value=math.ceil(bound.lower) - (1 if bound.lower_closed else 0)))
        else:
            below = st.floats(max_value=bound.lower, exclude_max=bound.lower_closed, allow_nan=False,
                              allow_infinity=False, min_value=bound.lower - 1e6)
            options.append(below)
    if bound.upper is not None:
        if bound.integer:
            options.append(st.integers(min_value=math.floor(bound.upper) + (1 if bound.upper_closed else 0)))
        else:
            options.append(st.floats(min_value=bound.upper, exclude_min=bound.upper_closed, allow_nan=False,
                                     allow_infinity=False, max_value=bound.upper + 1e6))
    return st.one_of(options)


@pytest.mark.parametrize("game,name,bound", _field_cases(), ids=lambda x: x if isinstance(x, str) else "")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_field_outside_its_declared_range_is_refused_by_name(game, name, bound, data):
    value = data.draw(outside(bound))
    assert not (isinstance(value, float) and math.isfinite(value) and bound.contains(value))
    with pytest.raises(ValueError, match=rf"\b{name} must be"):
        GAMES[game](**{name: value})


@pytest.mark.parametrize("game,name,bound", _field_cases(), ids=lambda x: x if isinstance(x, str) else "")
@pytest.mark.parametrize("value", ["1.0", 1 + 0j, True, None, [1.0]], ids=["str", "complex", "bool", "None", "list"])
def test_a_field_of_the_wrong_type_is_refused_by_name(game, name, bound, value):
    if value is None and bound.optional:
        GAMES[game](**{name: value})
        return
    with pytest.raises(TypeError, match=rf"\b{name} must be"):
        GAMES[game](**{name: value})


@pytest.mark.parametrize("game,name,bound", _param_cases(), ids=lambda x: x if isinstance(x, str) else "")
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_parameter_outside_its_declared_range_is_refused_by_name(game, name, bound, data):
    g = GAMES[game]()
    spec = g.parameter_specs()[name]
    value = np.full(spec.shape, data.draw(outside(bound)))
    with pytest.raises(ValueError, match=rf"params\['{name}'\] (must be|contains NaN)"):
        g.params(**{name: value})


@pytest.mark.parametrize("value", ["abc", 1 + 2j, object()], ids=["str", "complex", "object"])
def test_a_parameter_of_the_wrong_type_is_refused_by_name(value):
    with pytest.raises(TypeError, match=r"params\['gamma'\] must be real numbers"):
        LQ.params(gamma=value)


def test_a_valid_value_at_a_closed_end_is_accepted():
    for game, name, bound in _field_cases():
        for end, closed in ((bound.lower, bound.lower_closed), (bound.upper, bound.upper_closed)):
            if end is not None and closed:
                value = int(end) if bound.integer else float(end)
                assert getattr(GAMES[game](**{name: value}), name) == value
