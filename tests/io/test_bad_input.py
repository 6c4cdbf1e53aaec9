"""Bad input: each case gets one clear FileFormatError, or a documented tolerant reading with a warning."""
from __future__ import annotations

import gzip
import os

import numpy as np
import nrrd
import pytest

from app import io
from app.io import FileFormatError, FileFormatWarning

HEAD = ("NRRD0004\ntype: unsigned char\ndimension: 3\nspace: left-posterior-superior\nsizes: {sizes}\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nencoding: {encoding}\nspace origin: (0,0,0)\n{extra}\n")


def _nrrd(tmp_path, name="x.nrrd", sizes="4 4 4", encoding="gzip", payload=None, extra=""):
    data = np.zeros((4, 4, 4), np.uint8)
    data[1:3, 1:3, 1:3] = 5
    if payload is None:
        payload = gzip.compress(data.tobytes(order="F")) if encoding == "gzip" else data.tobytes(order="F")
    path = tmp_path / name
    path.write_bytes(HEAD.format(sizes=sizes, encoding=encoding, extra=extra).encode() + payload)
    return path


def test_a_well_formed_fixture_opens(tmp_path):
    seg = io.open_segmentation(_nrrd(tmp_path))
    assert [s.label for s in seg.segments] == [5] and seg.voxel_count(seg.segment_ids[0]) == 8


def test_truncated_gzip(tmp_path):
    full = gzip.compress(np.arange(64, dtype=np.uint8).tobytes())
    path = _nrrd(tmp_path, payload=full[: len(full) // 2])
    with pytest.raises(FileFormatError, match="ends after|corrupt"):
        io.open_segmentation(path)


def test_corrupt_gzip(tmp_path):
    path = _nrrd(tmp_path, payload=b"\x1f\x8b\x08\x00garbage-garbage-garbage")
    with pytest.raises(FileFormatError, match="corrupt"):
        io.open_segmentation(path)


@pytest.mark.parametrize("encoding", ["gzip", "raw"])
def test_sizes_larger_than_the_data(tmp_path, encoding):
    path = _nrrd(tmp_path, sizes="4 4 8", encoding=encoding)
    with pytest.raises(FileFormatError, match="ends after"):
        io.open_segmentation(path)


@pytest.mark.parametrize("sizes,match", [("4 4", "dimension"), ("4 0 4", "positive"), ("4 -3 4", "positive|invalid"),
                                         ("4 x 4", "invalid")])
def test_malformed_sizes(tmp_path, sizes, match):
    with pytest.raises(FileFormatError, match=match):
        io.open_segmentation(_nrrd(tmp_path, sizes=sizes))


def test_a_header_claiming_10_to_the_12_voxels_is_refused_before_allocating(tmp_path):
    path = _nrrd(tmp_path, sizes="10000 10000 10000")
    with pytest.raises(FileFormatError, match="memory"):     # the data is 8 voxels: reading it would say so
        io.open_segmentation(path)


def test_non_integral_float_labels(tmp_path):
    data = np.zeros((3, 3, 3), np.float32)
    data[0, 0, 0] = 2.5
    nrrd.write(str(tmp_path / "f.nrrd"), data)
    with pytest.raises(FileFormatError, match="fractional values \\(e.g. 2.5\\)"):
        io.open_segmentation(tmp_path / "f.nrrd")


def test_nan_labels(tmp_path):
    data = np.zeros((3, 3, 3), np.float64)
    data[0, 0, 0] = np.nan
    nrrd.write(str(tmp_path / "n.nrrd"), data)
    with pytest.raises(FileFormatError, match="NaN"):
        io.open_segmentation(tmp_path / "n.nrrd")


def test_int64_labels_are_cast_when_they_fit_and_refused_when_not(tmp_path):
    data = np.zeros((3, 3, 3), np.int64)
    data[0, 0, 0] = 40000
    nrrd.write(str(tmp_path / "a.nrrd"), data)
    assert io.open_segmentation(tmp_path / "a.nrrd").layers[0].dtype == np.uint16
    data[1, 1, 1] = 2**40
    nrrd.write(str(tmp_path / "b.nrrd"), data)
    with pytest.raises(FileFormatError, match="32-bit"):
        io.open_segmentation(tmp_path / "b.nrrd")


def _seg_header(**segments):
    lines = []
    for n, keys in segments.items():
        for k, v in keys.items():
            lines.append(f"Segment{n[1:]}_{k}:={v}")
    return "\n".join(lines) + "\n"


def test_layer_beyond_the_list_axis_is_skipped_with_a_warning(tmp_path):
    extra = _seg_header(s0={"ID": "a", "Name": "a", "LabelValue": 5, "Layer": 0, "Extent": "0 3 0 3 0 3"},
                        s1={"ID": "b", "Name": "b", "LabelValue": 1, "Layer": 3, "Extent": "0 3 0 3 0 3"})
    path = _nrrd(tmp_path, name="l.seg.nrrd", extra=extra)
    with pytest.warns(FileFormatWarning, match="names layer 3 but the file has 1"):
        seg = io.open_segmentation(path)
    assert seg.segment_ids == ["a"]


def test_duplicate_segment_ids_are_renamed_with_a_warning(tmp_path):
    data = np.zeros((4, 4, 4), np.uint8)
    data[0] = 1
    data[1] = 2
    extra = _seg_header(s0={"ID": "dup", "Name": "one", "LabelValue": 1, "Layer": 0},
                        s1={"ID": "dup", "Name": "two", "LabelValue": 2, "Layer": 0})
    path = _nrrd(tmp_path, name="d.seg.nrrd", payload=gzip.compress(data.tobytes(order="F")), extra=extra)
    with pytest.warns(FileFormatWarning, match="appears twice"):
        seg = io.open_segmentation(path)
    assert seg.segment_ids == ["dup", "dup_1"] and seg.voxel_count("dup_1") == 16


def test_two_segments_claiming_one_label_load_with_a_warning(tmp_path):
    """Slicer loads such a file (both segments show the same voxels): so does segedit, with a warning (issue 11)."""
    extra = _seg_header(s0={"ID": "a", "LabelValue": 5, "Layer": 0}, s1={"ID": "b", "LabelValue": 5, "Layer": 0})
    with pytest.warns(FileFormatWarning, match="both claim label 5"):
        seg = io.open_segmentation(_nrrd(tmp_path, name="t.seg.nrrd", extra=extra))
    assert seg.n_layers == 2 and np.array_equal(seg.mask("a"), seg.mask("b"))


def test_orphan_voxels_are_cleared_with_a_warning(tmp_path):
    data = np.zeros((4, 4, 4), np.uint8)
    data[0] = 1
    data[3, 3, 3] = 9
    extra = _seg_header(s0={"ID": "a", "LabelValue": 1, "Layer": 0})
    path = _nrrd(tmp_path, name="o.seg.nrrd", payload=gzip.compress(data.tobytes(order="F")), extra=extra)
    with pytest.warns(FileFormatWarning, match="1 voxel\\(s\\) with value\\(s\\) 9 that no segment claims"):
        seg = io.open_segmentation(path)
    assert int(seg.layers[0][3, 3, 3]) == 0 and seg.voxel_count("a") == 16


def test_bad_integer_keys(tmp_path):
    extra = _seg_header(s0={"ID": "a", "LabelValue": "five", "Layer": 0})
    with pytest.raises(FileFormatError, match="LabelValue 'five'"):
        io.open_segmentation(_nrrd(tmp_path, name="b.seg.nrrd", extra=extra))
    extra = _seg_header(s0={"ID": "a", "LabelValue": 5, "Layer": 0, "Extent": "1 2 3"})
    with pytest.raises(FileFormatError, match="Extent must hold 6"):
        io.open_segmentation(_nrrd(tmp_path, name="c.seg.nrrd", extra=extra))


def test_detached_header_whose_data_file_is_missing(tmp_path):
    (tmp_path / "h.nhdr").write_text(HEAD.format(sizes="4 4 4", encoding="raw", extra="data file: h.raw\n")[:-1])
    with pytest.raises(FileFormatError, match="data file 'h.raw' is missing"):
        io.open_segmentation(tmp_path / "h.nhdr")


@pytest.mark.parametrize("target", ["../outside.raw", "/etc/passwd", "/dev/zero"])
def test_detached_header_pointing_outside_its_folder_or_at_a_device(tmp_path, target):
    folder = tmp_path / "sub"
    folder.mkdir()
    (tmp_path / "outside.raw").write_bytes(bytes(64))
    (folder / "h.nhdr").write_text(HEAD.format(sizes="4 4 4", encoding="raw", extra=f"data file: {target}\n")[:-1])
    with pytest.raises(FileFormatError, match="outside the header's folder|not a regular file"):
        io.open_segmentation(folder / "h.nhdr")


def test_detached_header_to_a_fifo_inside_its_folder(tmp_path):
    os.mkfifo(tmp_path / "pipe.raw")
    (tmp_path / "h.nhdr").write_text(HEAD.format(sizes="4 4 4", encoding="raw", extra="data file: pipe.raw\n")[:-1])
    with pytest.raises(FileFormatError, match="not a regular file"):
        io.open_segmentation(tmp_path / "h.nhdr")


@pytest.mark.parametrize("content", [b"", b"hello", b"NRRD0004\n\x00\xff\xfe binary\n\n", b"\x89PNG\r\n\x1a\n"])
def test_not_a_nrrd(tmp_path, content):
    (tmp_path / "x.nrrd").write_bytes(content)
    with pytest.raises(FileFormatError):
        io.open_segmentation(tmp_path / "x.nrrd")


def test_not_a_nifti(tmp_path):
    (tmp_path / "x.nii.gz").write_bytes(gzip.compress(b"not a nifti header" * 40))
    with pytest.raises(FileFormatError, match="NIfTI"):
        io.open_segmentation(tmp_path / "x.nii.gz")
    (tmp_path / "y.nii.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(FileFormatError):
        io.open_segmentation(tmp_path / "y.nii.gz")


def test_missing_file_folder_and_unknown_type(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        io.open_segmentation(tmp_path / "none.seg.nrrd")
    with pytest.raises(FileFormatError, match="is a folder"):
        io.open_segmentation(tmp_path)
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(FileFormatError, match="unsupported file type"):
        io.open_segmentation(tmp_path / "x.png")


def test_two_non_spatial_axes_and_4d_plain_labelmap(tmp_path):
    nrrd.write(str(tmp_path / "v.nrrd"), np.zeros((2, 3, 4, 5, 6), np.uint8),
               {"kinds": ["list", "list", "domain", "domain", "domain"]})
    with pytest.raises(FileFormatError, match="non-spatial axes"):
        io.open_segmentation(tmp_path / "v.nrrd")
    nrrd.write(str(tmp_path / "w.nrrd"), np.zeros((2, 3, 4, 5), np.uint8),
               {"kinds": ["vector", "domain", "domain", "domain"]})
    with pytest.raises(FileFormatError, match="3D image"):
        io.open_segmentation(tmp_path / "w.nrrd")
    with pytest.raises(FileFormatError, match="values per voxel"):
        io.read_volume(tmp_path / "w.nrrd")


def test_label_table_given_for_a_seg_nrrd_is_ignored_with_a_warning(tmp_path, two_layers):
    io.save_segmentation(two_layers, tmp_path / "s.seg.nrrd")
    (tmp_path / "t.label").write_text('1 1 2 3 1 1 1 "x"\n')
    with pytest.warns(FileFormatWarning, match="names its own segments"):
        seg = io.open_segmentation(tmp_path / "s.seg.nrrd", labels=tmp_path / "t.label")
    assert seg.segment("s1").name == "alpha"
