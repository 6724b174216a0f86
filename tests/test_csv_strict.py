"""The long-format CSV reader is strict: every malformed file is a ValueError naming the file,
the line and (where there is one) the column; nothing is guessed, kept twice or dropped."""

import gzip

import numpy as np
import pytest

import bayes_mfg as bm

HEAD = "trajectory,time,state,value\n"

#: (file content, message regex)
MALFORMED_CSV = {
    "duplicate row": (HEAD + "0,0,a,0.5\n0,0,b,0.5\n0,0,a,0.4\n", r"line 4: trajectory '0', time 0, state 'a' was already given on line 2"),
    "extra field (decimal comma)": (HEAD + "0,0,a,0,5\n", r"line 2: 5 fields where the header has 4 \(an unquoted decimal comma"),
    "short row": (HEAD + "0,0,a\n", r"line 2: 3 fields where the header has 4"),
    "semicolon, duplicate": ("trajectory;time;state;value\n0;0;a;0,5\n0;0;a;0,5\n", r"line 3: .* already given on line 2"),
    "wide, duplicate time": ("trajectory,time,S,I\nA,0,0.5,0.5\nA,0,0.4,0.6\n", r"line 3: trajectory 'A', time 0 was already"),
    "wide, ragged row": ("trajectory,time,S,I\nA,0,0.5\n", r"line 2: 3 fields where the header has 4"),
    "wide, no state column": ("trajectory,time\nA,0\n", r"a wide table needs a column per state"),
    "rounded off simplex": ("trajectory,time,S,I\nA,0,0.5,0.3\n", r"trajectory .A., time 0: fractions must sum to 1 within 0.1 .* sums to 0.8"),
    "repeated column": ("trajectory,time,state,value,value\n0,0,a,0.5,0.5\n", r"line 1: repeated column\(s\) \['value'\]"),
    "missing column": ("trajectory,time,value\n0,0,0.5\n", r"expected the long columns .* missing \['state'\]"),
    "non-numeric value": (HEAD + "0,0,a,half\n", r"line 2, column 'value': value must be a number, got 'half'"),
    "non-numeric time": (HEAD + "0,day1,a,0.5\n", r"line 2, column 'time': time must be a number, got 'day1'"),
    "infinite time": (HEAD + "0,inf,a,0.5\n", r"line 2, column 'time': times must be finite"),
    "negative value": (HEAD + "0,0,a,0.5\n0,0,b,-0.5\n", r"line 3, column 'value': values must be >= 0, got '-0.5'"),
    "infinite value": (HEAD + "0,0,a,inf\n", r"line 2, column 'value': values must be finite"),
    "empty file": ("", r"the file is empty"),
    "header only": (HEAD, r"no data rows"),
    "not text": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", r"(not a readable UTF-8 CSV file|expected the long columns)"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CSV))
def test_a_malformed_csv_is_refused_naming_file_line_and_column(case, tmp_path):
    content, match = MALFORMED_CSV[case]
    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=match) as err:
        bm.Observations.from_csv(path)
    assert str(path) in str(err.value)


def test_the_table_is_large():
    assert len(MALFORMED_CSV) >= 12


def test_a_byte_order_mark_gzip_blank_lines_and_negative_values_of_kind_values(tmp_path):
    rows = HEAD + "0,0,a,0.25\n\n0,0,b,0.75\n0,1,a,0.5\n0,1,b,0.5\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + rows.encode())
    with gzip.open(tmp_path / "data.csv.gz", "wt") as fh:
        fh.write(rows)
    for name in ("bom.csv", "data.csv.gz"):
        data = bm.Observations.from_csv(tmp_path / name)
        assert data.state_names == ("a", "b")
        np.testing.assert_array_equal(data.values[0], [[0.25, 0.75], [0.5, 0.5]])
    (tmp_path / "v.csv").write_text(HEAD + "0,0,x,-1.5\n0,1,x,2.0\n")
    assert bm.Observations.from_csv(tmp_path / "v.csv", kind="values").values[0, 0, 0] == -1.5
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a readable UTF-8 CSV file"):
        bm.Observations.from_csv(tmp_path / "bad.csv.gz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        bm.Observations.from_csv(tmp_path / "none.csv")


@pytest.mark.parametrize("sel, exc, match", [
    ([0, 5], ValueError, r"trajectory index out of range: \[5\]"),
    ([-4], ValueError, "out of range"),
    (np.array([True, False]), ValueError, r"a bool mask must have shape \(3,\)"),
    (["a"], TypeError, "trajectories must be int indices"),
    ([0.5], TypeError, "trajectories must be int indices"),
    (slice(5, 9), ValueError, "selects no trajectory"),
])
def test_subset_refuses_bad_selections(sel, exc, match):
    data = bm.Observations.from_arrays(np.full((3, 2, 2), 0.5), [0.0, 1.0])
    with pytest.raises(exc, match=match):
        data.subset(sel)
    assert data.subset([0, 2]).n_trajectories == 2 and data.subset(np.array([True, False, True])).n_trajectories == 2


LONG = "trajectory,time,state,value\n" + "".join(
    f"{tr},{t},{s},{v}\n" for tr, rows in (("A", ((0.98, 0.02, 0.0), (0.95, 0.04, 0.01))),
                                           ("B", ((0.97, 0.03, 0.0), (0.93, 0.05, 0.02))))
    for t, row in enumerate(rows) for s, v in zip("SIR", row))
WIDE = "trajectory,time,S,I,R\nA,0,0.98,0.02,0.0\nA,1,0.95,0.04,0.01\nB,0,0.97,0.03,0.0\nB,1,0.93,0.05,0.02\n"
SEMICOLON = WIDE.replace(",", ";").replace(".", ",")


@pytest.mark.parametrize("content", [LONG, WIDE, SEMICOLON, WIDE.replace(",", "\t")], ids=["long", "wide", "semicolon", "tab"])
def test_long_wide_semicolon_and_tab_files_read_the_same(content, tmp_path):
    path = tmp_path / "towns.csv"
    path.write_text(content)
    data = bm.Observations.from_csv(path, zeros="keep")
    assert data.state_names == ("S", "I", "R") and data.trajectory_names == ("A", "B")
    np.testing.assert_array_equal(data.times, [0.0, 1.0])
    np.testing.assert_allclose(data.values[1, 1], [0.93, 0.05, 0.02], rtol=1e-15)
    assert data.mask.all()


def test_a_dataframe_reads_like_the_file(tmp_path):
    import pandas as pd

    (tmp_path / "wide.csv").write_text(WIDE)
    frame = pd.read_csv(tmp_path / "wide.csv")
    for table in (frame, frame.melt(id_vars=["trajectory", "time"], var_name="state", value_name="value")):
        data = bm.Observations.from_dataframe(table, mu0="first")
        ref = bm.Observations.from_csv(tmp_path / "wide.csv", mu0="first")
        np.testing.assert_allclose(data.values, ref.values, rtol=1e-15)
        np.testing.assert_allclose(data.mu0, ref.mu0, rtol=1e-15)
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame"):
        bm.Observations.from_dataframe({"trajectory": [0]})
    bad = frame.astype({"S": object})
    bad.loc[3, "S"] = "x"
    with pytest.raises(ValueError, match=r"DataFrame, row 3, column 'S': value must be a number"):
        bm.Observations.from_dataframe(bad)


def test_rounded_rows_are_renormalised_and_printed_zeros_replaced(tmp_path):
    # two decimals: a row may be off by 3 x 0.005; 0.00 is below 0.005 and becomes 0.65 x 0.005
    (tmp_path / "r.csv").write_text("trajectory,time,S,I,R\nA,0,0.98,0.01,0.00\nA,1,0.334,0.333,0.334\n")
    data = bm.Observations.from_csv(tmp_path / "r.csv")
    np.testing.assert_allclose(data.values[0, 0], np.array([0.98, 0.01, 0.65 * 0.005]) / (0.99 + 0.65 * 0.005))
    np.testing.assert_allclose(data.values.sum(-1), 1.0, atol=1e-15)
    np.testing.assert_allclose(data.values[0, 1], np.array([0.334, 0.333, 0.334]) / 1.001)
    kept = bm.Observations.from_csv(tmp_path / "r.csv", zeros="keep")
    assert kept.values[0, 0, 2] == 0.0
    # three decimals: the tolerance is 3 x 0.0005, so 0.997 is refused, naming the row
    (tmp_path / "bad.csv").write_text("trajectory,time,S,I\nA,0,0.500,0.497\n")
    with pytest.raises(ValueError, match=r"bad.csv, trajectory 'A', time 0: .*sum to 1 within 0.001.*sums to 0.997"):
        bm.Observations.from_csv(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="zeros must be 'replace' or 'keep'"):
        bm.Observations.from_csv(tmp_path / "r.csv", zeros="drop")


def test_mu0_first_takes_the_first_rows_as_known_initial_distributions(tmp_path):
    (tmp_path / "w.csv").write_text(WIDE)
    data = bm.Observations.from_csv(tmp_path / "w.csv", mu0="first", zeros="keep")
    np.testing.assert_allclose(data.mu0, [[0.98, 0.02, 0.0], [0.97, 0.03, 0.0]])
    assert not data.mask[:, 0].any() and data.mask[:, 1].all()
    assert bm.Observations.from_csv(tmp_path / "w.csv").mu0 is None  # default: latent
    (tmp_path / "gap.csv").write_text(WIDE.replace("A,0,0.98,0.02,0.0", "A,0,0.98,,"))
    with pytest.raises(ValueError, match=r"mu0='first': the first time \(0\) is not fully observed for .*\['A'\]"):
        bm.Observations.from_csv(tmp_path / "gap.csv", mu0="first")
    with pytest.raises(ValueError, match="mu0 must be None, 'first' or"):
        bm.Observations.from_csv(tmp_path / "w.csv", mu0="last")
