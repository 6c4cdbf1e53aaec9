"""Label tables: every dialect the issue lists, tolerant reading, writers that read back."""
from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.io import FileFormatError, FileFormatWarning
from app.io.color_tables import LabelEntry, ctbl_text, find_beside, itksnap_text, read_table
from tests.conftest import shared_file


def _write(tmp_path, name, text, newline="\n"):
    p = tmp_path / name
    p.write_bytes(text.replace("\n", newline).encode())
    return p


def test_itksnap_with_header_crlf_float_alpha_and_quoted_spaces(tmp_path):
    p = _write(tmp_path, "t.label", '# IDX -R- -G- -B- -A-- VIS MSH LABEL\n'
               '    0     0    0    0  0.00  0  0    "Clear Label"\n'
               '\n'
               '    1   255    0   10  0.50  1  1    "Left  lung (upper)"\n'
               '\t2\t0\t255\t0\t1\t1\t1\t"Green"\n', newline="\r\n")
    t = read_table(p)
    assert t[1].name == "Left  lung (upper)"
    assert t[1].color == pytest.approx((1.0, 0.0, 10 / 255))
    assert t[1].opacity == 0.5 and t[2].opacity == 1.0
    assert t[2].name == "Green" and 0 in t


def test_shared_tables_read():
    t = read_table(shared_file("itksnap", "MRIcrop-seg.label"))
    assert t[11].name == "arteries" and len(t) == 12
    t = read_table(shared_file("label-tables", "slicer-example.label"))
    assert len(t) == 7 and t[6].name == "Label 6" and t[6].color == (1.0, 0.0, 1.0)
    t = read_table(shared_file("label-tables", "drawem-mcrib-itksnap.txt"))
    assert t[2].name == "Left-Cerebral-White-Matter" and max(t) == 2035
    t = read_table(shared_file("label-tables", "slicer-colortable.csv"))
    assert sorted(t) == [1, 5, 10] and t[5].name == "five" and t[10].color == pytest.approx((41 / 255, 84 / 255, 1))
    t = read_table(shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl"))
    assert len(t) == 336 and t[3].name == "skin" and t[3].color == pytest.approx((225 / 255, 190 / 255, 150 / 255))


def test_freesurfer_style_lut(tmp_path):
    p = _write(tmp_path, "FreeSurferColorLUT.txt", "#No. Label Name:  R   G   B   A\n\n"
               "0   Unknown                         0   0   0   0\n"
               "1   Left-Cerebral-Exterior          70  130 180 0\n"
               "1000    ctx-lh-unknown              25  5   25  0\n")
    t = read_table(p)
    assert t[1000].name == "ctx-lh-unknown" and t[1].color == pytest.approx((70 / 255, 130 / 255, 180 / 255))


def test_slicer5_csv_with_extra_columns(tmp_path):
    p = _write(tmp_path, "c.csv", "LabelValue,Name,Color_R,Color_G,Color_B,Color_A,Category\n"
               "3,\"name, with comma\",1,2,3,255,x\n4,four,4,5,6,,y\nnot,a,row,,,,\n")
    with pytest.warns(FileFormatWarning, match="1 line"):
        t = read_table(p)
    assert t[3].name == "name, with comma" and t[4].opacity == 1.0


def test_junk_lines_are_skipped_with_one_warning(tmp_path):
    p = _write(tmp_path, "j.txt", "1 one 1 2 3 255\nthis is not a label\n2 two 4 5 6\n<html>\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = read_table(p)
    assert sorted(t) == [1, 2]
    assert len(caught) == 1 and "2 line(s)" in str(caught[0].message) and "line 2" in str(caught[0].message)


@pytest.mark.parametrize("text", ["", "# only comments\n\n", "hello world\nfoo\n", "\x00\x01\x02binary"])
def test_a_file_with_no_entries_is_refused(tmp_path, text):
    p = _write(tmp_path, "bad.label", text)
    with pytest.raises(FileFormatError, match="not a label table"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_table(p)


def test_missing_table_is_a_clear_error(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_table(tmp_path / "nope.label")


@pytest.mark.parametrize("image", ["seg.nii.gz", "seg.nii", "seg.nrrd", "seg.nhdr"])
@pytest.mark.parametrize("suffix", [".label", ".txt", ".ctbl", ".csv"])
def test_table_beside_the_image_is_found(tmp_path, image, suffix):
    (tmp_path / image).write_bytes(b"")
    table = tmp_path / ("seg" + suffix)
    table.write_text("1 a 1 2 3 255\n")
    assert find_beside(tmp_path / image) == table


def test_no_table_beside(tmp_path):
    assert find_beside(tmp_path / "x.nii.gz") is None


def test_written_tables_read_back(tmp_path):
    entries = [LabelEntry(1, "left lung", (1.0, 0.5, 0.0), 1.0), LabelEntry(300, 'say "hi"', (0, 0, 1), 0.5)]
    lab = _write(tmp_path, "o.label", itksnap_text(entries))
    ct = _write(tmp_path, "o.ctbl", ctbl_text(entries, "o"))
    a, b = read_table(lab), read_table(ct)
    assert a[1].name == "left lung" and b[1].name == "left_lung" and b[300].name == "say_hi_"
    assert a[300].name == "say 'hi'" and a[300].opacity == 0.5
    for t in (a, b):
        assert t[1].color == pytest.approx((1.0, 128 / 255, 0.0))
        assert t[300].color == (0.0, 0.0, 1.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.integers(-5, 70000),
                       st.tuples(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                                         max_size=20),
                                 st.tuples(*[st.integers(0, 255)] * 3), st.integers(0, 100)),
                       min_size=1, max_size=20))
def test_written_tables_read_back_for_any_entries(tmp_path, entries):
    table = [LabelEntry(v, name, tuple(c / 255 for c in rgb), a / 100) for v, (name, rgb, a) in entries.items()
             if v != 0]
    if not table:
        return
    got = read_table(_write(tmp_path, "any.label", itksnap_text(table)))
    for e in table:
        assert got[e.value].name == e.name.replace('"', "'")
        assert got[e.value].color == pytest.approx(e.color)
        assert got[e.value].opacity == pytest.approx(e.opacity, abs=0.006)
    got = read_table(_write(tmp_path, "any.ctbl", ctbl_text(table, "t")))
    for e in table:
        assert got[e.value].color == pytest.approx(e.color)
        assert " " not in got[e.value].name and got[e.value].name
