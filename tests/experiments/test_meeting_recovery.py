"""Meeting-game calibration at seed B's sizes (slow): NUTS recovers the quorum and the cost
weights from the arrival counts of 12 meetings of 42 attendees."""

import json

import pytest

from experiments import meeting_recovery


@pytest.mark.slow
@pytest.mark.xfail(run=False, strict=True, reason=(
    "known unmet (issue 23, item 9): NUTS's step size collapses to ~1e-3 near a fold of the equilibrium "
    "(sigma = 0.1) and runs for hours; see docs/grid_games.md and experiments/meeting_roughness.py"))
def test_meeting_game_nuts_recovers_quorum_and_costs(tmp_path):
    out = tmp_path / "meeting.json"
    meeting_recovery.main(["--meetings", "12", "--warmup", "400", "--samples", "400", "--dense", "--out", str(out)])
    summary = json.loads(out.read_text())["summary"]
    for name in meeting_recovery.TRUTH:
        row = summary["parameters"][name]
        assert row["covers"], (name, row)        # the 94% HDI covers the truth
        assert row["rhat"] < 1.01, (name, row)
    assert summary["divergences"] <= 8          # <= 1% of the 800 draws
    start = summary["start_time"]
    assert start["covered"] >= start["n_meetings"] - 1, start
