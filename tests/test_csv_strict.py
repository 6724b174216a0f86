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
    "semicolon separated": ("trajectory;time;state;value\n0;0;a;0.5\n", r"line 1: .* is ';'-separated"),
    "tab separated": ("trajectory\ttime\tstate\tvalue\n0\t0\ta\t0.5\n", r"line 1: .* is tab-separated"),
    "repeated column": ("trajectory,time,state,value,value\n0,0,a,0.5,0.5\n", r"line 1: repeated column\(s\) \['value'\]"),
    "missing column": ("trajectory,time,value\n0,0,0.5\n", r"CSV needs the columns .* missing \['state'\]"),
    "non-numeric value": (HEAD + "0,0,a,half\n", r"line 2, column 'value': value must be a number, got 'half'"),
    "non-numeric time": (HEAD + "0,day1,a,0.5\n", r"line 2, column 'time': time must be a number, got 'day1'"),
    "infinite time": (HEAD + "0,inf,a,0.5\n", r"line 2, column 'time': times must be finite"),
    "negative value": (HEAD + "0,0,a,0.5\n0,0,b,-0.5\n", r"line 3, column 'value': values must be >= 0, got '-0.5'"),
    "infinite value": (HEAD + "0,0,a,inf\n", r"line 2, column 'value': values must be finite"),
    "empty file": ("", r"the file is empty"),
    "header only": (HEAD, r"no data rows"),
    "not text": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", r"(not a readable UTF-8 CSV file|CSV needs the columns)"),
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
