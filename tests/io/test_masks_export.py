"""Mask import (fewest layers, overlaps allowed) and labelmap export (values kept, tables beside, overlap refused)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import nrrd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app import io
from app.io.color_tables import read_table
from app.model.geometry import Geometry
from tests.conftest import shared_file
from tests.io.conftest import OBLIQUE, layered

G = Geometry((8, 7, 6), (1.0, 2.0, 0.5), (3.0, 4.0, 5.0))


def _mask_file(folder, name, mask, geometry=G):
    path = folder / name
    if name.endswith((".nii", ".nii.gz")):
        from app.io import nifti

        nifti.write(path, mask.astype(np.uint8), geometry)
    else:
        m = geometry.ijk_to_lps
        nrrd.write(str(path), mask.astype(np.uint8), {"space": "left-posterior-superior",
                                                    "space directions": m[:3, :3].T, "space origin": m[:3, 3]})
    return path


def _boxes():
    a = np.zeros(G.shape, bool)
    a[0:3, 0:3, 0:3] = True
    b = np.zeros(G.shape, bool)
    b[4:7, 4:6, 2:5] = True            # disjoint from a
    c = np.zeros(G.shape, bool)
    c[2:5, 2:5, 2:4] = True            # overlaps a and b
    return {"liver": a, "spleen": b, "tumour": c}


def test_folder_of_masks_goes_into_the_fewest_layers(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    masks = _boxes()
    for n, (name, m) in enumerate(masks.items()):
        _mask_file(folder, name + (".nii.gz" if n % 2 else ".nrrd"), m)
    (folder / "notes.txt").write_text("ignored")
    seg = io.import_masks([folder])
    assert [s.name for s in seg.segments] == ["liver", "spleen", "tumour"]
    assert seg.n_layers == 2
    assert [s.layer for s in seg.segments] == [0, 0, 1]
    assert seg.segment("liver").label != seg.segment("spleen").label
    for name, m in masks.items():
        assert np.array_equal(seg.mask(name), m)
    assert seg.geometry.same_lattice(G)


def test_masks_on_different_lattices_are_refused(tmp_path):
    a = _mask_file(tmp_path, "a.nrrd", np.ones(G.shape, bool))
    b = _mask_file(tmp_path, "b.nrrd", np.ones(G.shape, bool), Geometry(G.shape, (1.0, 1.0, 1.0)))
    with pytest.raises(io.FileFormatError, match="different voxel lattice"):
        io.import_masks([a, b])


def test_empty_folder_and_missing_file(tmp_path):
    with pytest.raises(io.FileFormatError, match="holds no mask files"):
        io.import_masks([tmp_path])
    with pytest.raises(io.FileFormatError, match="does not exist"):
        io.import_masks([tmp_path / "x.nrrd"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6))
def test_import_keeps_every_mask_and_never_stacks_two_in_one_voxel_of_a_layer(tmp_path, seed, n):
    rng = np.random.default_rng(seed)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))      # hypothesis may replay an example
    masks = {f"m{i}": rng.random(G.shape) > rng.uniform(0.5, 0.99) for i in range(n)}
    for name, m in masks.items():
        _mask_file(folder, name + ".nrrd", m)
    seg = io.import_masks([folder])
    for name, m in masks.items():
        assert np.array_equal(seg.mask(name), m)
    # reference model: first fit over layers
    occupied = []
    for m in masks.values():
        for layer in occupied:
            if not (layer & m).any():
                layer |= m
                break
        else:
            occupied.append(m.copy())
    assert seg.n_layers == len(occupied)


def test_export_keeps_label_values_and_writes_both_tables(tmp_path):
    seg = io.open_segmentation(shared_file("itksnap", "MRIcrop-seg.nii.gz"))
    written = io.export_labelmap(seg, tmp_path / "out.nii.gz")
    assert [p.name for p in written] == ["out.nii.gz", "out.label", "out.ctbl"]
    img = nib.load(str(tmp_path / "out.nii.gz"))
    assert np.array_equal(np.asarray(img.dataobj), seg.layers[0])
    for table in (read_table(tmp_path / "out.label"), read_table(tmp_path / "out.ctbl")):
        assert table[4].color == pytest.approx(seg.segments[3].color, abs=1 / 255)
    assert read_table(tmp_path / "out.label")[4].name == "hippo-R"
    back = io.open_segmentation(tmp_path / "out.nii.gz")      # finds out.label beside it
    assert [s.name for s in back.segments] == [s.name for s in seg.segments]
    assert back.geometry.same_lattice(seg.geometry, tol=1e-5)


def test_export_keeps_the_entries_of_the_opened_table_that_have_no_voxels(tmp_path):
    """ITK-SNAP's tutorial table names 11 labels, 8 of which have voxels: AC, PC and arteries are empty, there to
    be painted. They are no segments, but the tables written beside an export keep them (they were dropped: a
    user exporting over their files lost three label descriptions); a segment renamed wins over its entry."""
    table_path = shared_file("itksnap", "MRIcrop-seg.label")
    seg = io.open_segmentation(shared_file("itksnap", "MRIcrop-seg.nii.gz"), labels=table_path)
    original = read_table(table_path)
    assert len(seg.segments) == 8 and len(original) == 12            # with "Clear", value 0
    seg.segments[3].name = "right hippocampus"
    io.export_labelmap(seg, tmp_path / "out.nii.gz")
    for written in (read_table(tmp_path / "out.label"), read_table(tmp_path / "out.ctbl")):
        assert sorted(written) == list(range(12))
        for value in (9, 10, 11):                                       # AC, PC, arteries
            assert written[value].color == pytest.approx(original[value].color, abs=1 / 255)
    label = read_table(tmp_path / "out.label")
    assert [label[v].name for v in (4, 9, 10, 11)] == ["right hippocampus", "AC", "PC", "arteries"]
    assert label[0].name == original[0].name == "Clear"             # value 0's name too (ITK-SNAP: "Clear Label")
    assert [label[v].name for v in range(1, 9) if v != 4] == [original[v].name for v in range(1, 9) if v != 4]
    back = io.open_segmentation(tmp_path / "out.nii.gz")            # finds out.label beside it
    assert len(back.segments) == 8 and sorted(back.label_table) == list(range(12))
    sid = seg.segments[4].id                                         # hippo-L given value 20: not listed twice
    seg.move_to_layer(sid, seg.segments[4].layer, 20)
    io.export_labelmap(seg, tmp_path / "out.nii.gz")
    label = read_table(tmp_path / "out.label")
    assert label[20].name == "hippo-L" and 5 not in label and [e.name for e in label.values()].count("hippo-L") == 1


def test_itksnap_visibility_and_mesh_flags_come_back(tmp_path):
    """ITK-SNAP's VIS (label shown) and MSH (in the 3D mesh) columns, and its alpha, were read and dropped: a label
    hidden or translucent in ITK-SNAP opened shown and opaque and was written back with VIS 1, alpha 1. VIS now
    hides the segment and is written from its shown state; alpha is its opacity; MSH is kept from the opened
    entry. (The alpha of Slicer's tables and FreeSurfer's LUT is not applied: FreeSurfer's is 0 for every label.)"""
    text = shared_file("itksnap", "MRIcrop-seg.label").read_text()
    lines = [ln for ln in text.splitlines()]
    swaps = [(' 1   1    "hippo-R"', ' 0   1    "hippo-R"'), (' 1   1    "caudates"', ' 1   0    "caudates"'),
             (' 1   1    "AC"', ' 0   0    "AC"'), ('1.00  1   1    "hippo-L"', '0.40  1   1    "hippo-L"')]
    edited = []
    for ln in lines:
        for old, new in swaps:
            ln = ln.replace(old, new)
        edited.append(ln)
    assert edited != lines
    table = tmp_path / "t.label"
    table.write_text("\n".join(edited) + "\n")
    seg = io.open_segmentation(shared_file("itksnap", "MRIcrop-seg.nii.gz"), labels=table)
    shown = {s.name: s.visible for s in seg.segments}
    assert shown["hippo-R"] is False and sum(not v for v in shown.values()) == 1
    seg.update_segment(seg.segment_by_name("vent-3rd").id, visible=False)      # hidden in segedit
    io.export_labelmap(seg, tmp_path / "out.nii.gz")
    back = read_table(tmp_path / "out.label")
    flags = {e.name: (e.visible, e.mesh) for e in back.values()}
    assert flags["hippo-R"] == (False, True) and flags["caudates"] == (True, False)
    assert flags["vent-3rd"] == (False, True) and flags["AC"] == (False, False)          # AC: an entry, no voxels
    assert all(flags[n] == (True, True) for n in ("vent-lat", "hippo-L", "PC"))
    again = io.open_segmentation(tmp_path / "out.nii.gz")
    assert {s.name for s in again.segments if not s.visible} == {"hippo-R", "vent-3rd"}
    assert {s.name: s.opacity for s in again.segments if s.opacity != 1.0} == {"hippo-L": pytest.approx(0.4)}
    assert back[6].opacity == pytest.approx(1.0)                   # the others keep ITK-SNAP's 1.00
    slicer = io.open_segmentation(tmp_path / "out.nii.gz", labels=tmp_path / "out.ctbl")   # Slicer's alpha column:
    assert all(s.opacity == 1.0 for s in slicer.segments)                                   # not applied


@pytest.mark.parametrize("name", ["out.nrrd", "out.nhdr", "out.nii"])
def test_export_formats_round_trip(tmp_path, name):
    seg = layered(OBLIQUE)
    seg.remove_segment("s3")
    io.export_labelmap(seg, tmp_path / name)
    back = io.open_segmentation(tmp_path / name)
    assert [s.label for s in back.segments] == [1, 2]      # the empty label 7 has no voxels
    assert [s.name for s in back.segments] == ["alpha", "beta with spaces"]    # from out.label beside it
    assert np.array_equal(back.layers[0], seg.layers[0])
    assert back.geometry.same_lattice(OBLIQUE, tol=1e-4)


def test_export_refuses_overlaps_and_names_the_options(tmp_path):
    with pytest.raises(io.FileFormatError, match="overlap.*\\.seg\\.nrrd.*single-layer"):
        io.export_labelmap(layered(), tmp_path / "o.nrrd")
    assert list(tmp_path.iterdir()) == []


def test_export_of_disjoint_layers_merges_them_and_clashing_labels_are_refused(tmp_path):
    seg = layered()
    seg.remove_segment("s3")
    b = seg.add_segment("other", new_layer=True)
    from app.model.edits import EditMode, apply_mask

    mask = np.zeros((1, 1, 1), bool)
    mask[0, 0, 0] = True
    apply_mask(seg, b.id, mask, (slice(11, 12), slice(9, 10), slice(7, 8)), EditMode.ADD)
    assert seg.n_layers == 2 and not seg.overlapping()
    if seg.segment(b.id).label in (1, 2, 7):
        with pytest.raises(io.FileFormatError, match="both use label value"):
            io.export_labelmap(seg, tmp_path / "c.nrrd")
        seg.collapse()
    io.export_labelmap(seg, tmp_path / "c.nrrd")
    back = io.open_segmentation(tmp_path / "c.nrrd")
    assert back.voxel_count(back.segment_by_name("other").id) == 1


def test_export_rejects_segmentation_suffixes(tmp_path):
    with pytest.raises(io.FileFormatError, match="labelmap is exported as"):
        io.export_labelmap(layered(), tmp_path / "x.seg.nrrd")
