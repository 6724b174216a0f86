"""Saved results and checkpoints: a missing path is refused, a damaged or crafted file is an
error naming the file and what is wrong, never different numbers or a raw KeyError."""

import json
import warnings

import h5py
import numpy as np
import pytest
import xarray as xr

import bayes_mfg as bm
from bayes_mfg.inference import checkpoint as ckpt
from bayes_mfg.inference.failures import SolverFailures


def _tree() -> xr.DataTree:
    rng = np.random.default_rng(0)
    post = xr.Dataset({"gamma": (("chain", "draw"), rng.random((2, 200)))},
                      coords={"chain": [0, 1], "draw": np.arange(200)})
    obs = xr.Dataset({"obs": (("time", "state"), rng.random((5, 3))), "mask": (("time", "state"), np.ones((5, 3), bool))},
                     coords={"state": ["a", "b", "c"]})
    tree = xr.DataTree.from_dict({"posterior": post, "observed_data": obs})
    tree.attrs["note"] = "fit"
    return tree


def _values(tree) -> dict:
    return {(g, v): np.asarray(tree[g][v].values) for g in ("posterior", "observed_data") for v in tree[g].data_vars}


@pytest.mark.parametrize("path, exc, match", [
    (None, TypeError, "path must be a file name"),
    ("", TypeError, "path must be a file name"),
    ("/no/such/dir/fit.nc", ValueError, "folder '/no/such/dir' does not exist"),
])
def test_save_refuses_a_missing_path(path, exc, match):
    with pytest.raises(exc, match=match):
        bm.save(_tree(), path)


def test_round_trip_is_identical_and_the_digest_is_not_part_of_the_tree(tmp_path):
    tree = _tree()
    bm.save(tree, tmp_path / "fit.nc")
    back = bm.load(tmp_path / "fit.nc")
    for key, v in _values(tree).items():
        np.testing.assert_array_equal(_values(back)[key], v)
    assert dict(back.attrs) == {"note": "fit"}


def test_an_edited_value_is_refused(tmp_path):
    path = tmp_path / "fit.nc"
    bm.save(_tree(), path)
    with h5py.File(path, "a") as fh:  # a well-formed file whose numbers changed
        fh["posterior/gamma"][0, 0] = 123.0
    with pytest.raises(ValueError, match="is corrupted: its content does not match the digest"):
        bm.load(path)


def test_flipped_bytes_never_give_other_numbers(tmp_path):
    path = tmp_path / "fit.nc"
    tree = _tree()
    bm.save(tree, path)
    raw, ref = path.read_bytes(), _values(tree)
    rng = np.random.default_rng(1)
    outcomes = {"refused": 0, "unchanged": 0}
    for pos in rng.choice(len(raw), 40, replace=False):
        damaged = bytearray(raw)
        damaged[pos] ^= 0xFF
        (tmp_path / "damaged.nc").write_bytes(bytes(damaged))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                back = bm.load(tmp_path / "damaged.nc")
        except ValueError:
            outcomes["refused"] += 1
            continue
        got = _values(back)  # a flip in padding or unused metadata: the same numbers
        assert all(np.array_equal(got[k], v) for k, v in ref.items()), f"byte {pos}: other numbers, no error"
        outcomes["unchanged"] += 1
    assert outcomes["refused"] > 0


def test_a_file_without_digest_loads_with_a_warning(tmp_path):
    _tree().to_netcdf(tmp_path / "old.nc", engine="h5netcdf")
    with pytest.warns(UserWarning, match="has no content digest"):
        bm.load(tmp_path / "old.nc")


# ------------------------------------------------------------------ NUTS checkpoints
TEMPLATE = {"position": np.zeros(3), "step_size": np.float64(0.1)}
META = {"format": ckpt.FORMAT, "fingerprint": "abc", "n_done": 2, "n_state_leaves": 2,
        "failures": {k: v for k, v in SolverFailures().__dict__.items() if k != "examples"}}


def _checkpoint(tmp_path, meta=None, raw_meta=None, **arrays):
    content = {"state_0": np.zeros(3), "state_1": np.float64(0.1), "draw__gamma": np.ones((1, 2))}
    content.update(arrays)
    content = {k: v for k, v in content.items() if v is not None}
    content["meta"] = np.array(raw_meta if raw_meta is not None else json.dumps({**META, **(meta or {})}))
    path = tmp_path / "run.npz"
    np.savez(path, **content)
    return path


CRAFTED = {
    "meta not JSON": (dict(raw_meta="{not json"), "the meta record is not valid JSON"),
    "meta a list": (dict(raw_meta="[1, 2]"), "the meta record must be a JSON object"),
    "meta missing field": (dict(raw_meta=json.dumps({"format": ckpt.FORMAT})), "the meta record has no field 'fingerprint'"),
    "n_done negative": (dict(meta={"n_done": -1}), "meta field 'n_done' must be a non-negative int"),
    "n_done a string": (dict(meta={"n_done": "2"}), "meta field 'n_done' must be a non-negative int"),
    "failures malformed": (dict(meta={"failures": {"n_rejected": 0}}), "meta field 'failures' is not a solver-failure"),
    "other format": (dict(meta={"format": "v0"}), "is not a bayes_mfg NUTS checkpoint"),
    "other run": (dict(meta={"fingerprint": "xyz"}), "was written by a different run"),
    "state missing": (dict(state_1=None), "field state_1 must be float64"),
    "state wrong shape": (dict(state_0=np.zeros(4)), r"field state_0 must be float64\[3\]"),
    "draws wrong length": (dict(draw__gamma=np.ones((1, 5))), "draws of 'gamma' must be numbers of shape"),
    "draws not numbers": (dict(draw__gamma=np.array([["a", "b"]])), "draws of 'gamma' must be numbers"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_checkpoint_is_refused_field_by_field(case, tmp_path):
    kwargs, match = CRAFTED[case]
    with pytest.raises(ValueError, match=match):
        ckpt.read(_checkpoint(tmp_path, **kwargs), "abc", TEMPLATE)


def test_a_valid_checkpoint_reads_back_and_a_damaged_one_is_refused(tmp_path):
    path = _checkpoint(tmp_path)
    state, draws, _, n_done, failures = ckpt.read(path, "abc", TEMPLATE)
    assert n_done == 2 and draws["gamma"].shape == (1, 2) and failures.n_rejected == 0
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # zip CRC: a flipped byte in a member
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checkpoint: .* (is not a readable|must be|meta)"):
        ckpt.read(path, "abc", TEMPLATE)
