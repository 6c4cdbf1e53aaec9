"""Round trips with slicerio (lassoan/slicerio), both ways: its writer -> our reader, our writer -> its reader.
Names, colours, layers, label values, tags and voxel-exact masks must survive."""
from __future__ import annotations

import numpy as np
import pytest

from app import io
from tests.conftest import shared_file
from tests.io.conftest import assert_same_segmentation, layered

slicerio = pytest.importorskip("slicerio")


def _slicerio_mask(sio: dict, segment: dict) -> np.ndarray:
    vox = sio["voxels"]
    frame = vox[segment.get("layer", 0)] if vox.ndim == 4 else vox
    return frame == segment["labelValue"]


def _tags_of(segment: dict) -> dict:
    """slicerio splits Slicer's Tags into status, terminology and the rest."""
    tags = dict(segment.get("tags", {}))
    if "status" in segment:
        tags["Segmentation.Status"] = segment["status"]
    return tags


@pytest.mark.parametrize("name", ["Segmentation.seg.nrrd", "SegmentationOverlapping.seg.nrrd"])
def test_slicerio_writer_to_our_reader(tmp_path, name):
    original = shared_file("slicerio", name)
    sio = slicerio.read_segmentation(str(original))
    out = tmp_path / name
    slicerio.write_segmentation(str(out), sio)          # its default: gzip level 9
    ours_of_original = io.open_segmentation(original)
    ours = io.open_segmentation(out)
    assert_same_segmentation(ours_of_original, ours)
    for seg_info, s in zip(sio["segments"], ours.segments):
        assert (s.id, s.name, s.label) == (seg_info["id"], seg_info["name"], seg_info["labelValue"])
        assert np.allclose(s.color, seg_info["color"], atol=1e-6)
        assert np.array_equal(ours.mask(s.id), _slicerio_mask(sio, seg_info))
        assert s.tags.get("Segmentation.Status") == seg_info.get("status")
    assert np.allclose(ours.geometry.ijk_to_lps, sio["ijkToLPS"])


def test_slicerio_created_segmentation_with_overlaps_to_our_reader(tmp_path):
    ijk_to_lps = np.array([[0, 0, 1.5, 10], [-2.0, 0, 0, 5], [0, 0.5, 0, -3], [0, 0, 0, 1]])
    sio = slicerio.create_segmentation((10, 12, 8), ijk_to_lps)
    a = np.zeros((10, 12, 8), bool)
    a[2:6, 2:6, 2:6] = True
    b = np.zeros_like(a)
    b[4:9, 4:9, 3:7] = True
    c = np.zeros_like(a)
    c[0, 0, 0] = True
    for mask, seg in ((a, {"id": "a", "name": "first", "color": [1, 0, 0], "tags": {"Kind": "x:y"}}),
                      (b, {"id": "b", "name": "second overlaps", "color": [0, 1, 0], "status": "completed"}),
                      (c, {"id": "c", "name": "third", "color": [0, 0, 1]})):
        slicerio.add_segment(sio, mask, seg)
    path = tmp_path / "c.seg.nrrd"
    slicerio.write_segmentation(str(path), sio)
    seg = io.open_segmentation(path)
    assert seg.segment_ids == ["a", "b", "c"] and seg.n_layers == 2
    assert np.array_equal(seg.mask("a"), a) and np.array_equal(seg.mask("b"), b) and np.array_equal(seg.mask("c"), c)
    assert seg.segment("a").tags["Kind"] == "x:y"
    assert seg.segment("b").tags["Segmentation.Status"] == "completed"
    assert np.allclose(seg.geometry.ijk_to_lps, ijk_to_lps)


@pytest.mark.parametrize("source", ["generated", "overlapping", "atlas"])
def test_our_writer_to_slicerio_reader(tmp_path, source):
    if source == "generated":
        seg = layered()
    elif source == "overlapping":
        seg = io.open_segmentation(shared_file("slicerio", "SegmentationOverlapping.seg.nrrd"))
    else:
        seg = io.open_segmentation(shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd"),
                                   labels=shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl"))
    path = tmp_path / "ours.seg.nrrd"
    io.save_segmentation(seg, path)
    sio = slicerio.read_segmentation(str(path))
    assert len(sio["segments"]) == len(seg.segments)
    assert np.allclose(sio["ijkToLPS"], seg.geometry.ijk_to_lps)
    order = list(dict.fromkeys(s.layer for s in seg.segments))          # file layers: first appearance
    for seg_info, s in zip(sio["segments"], seg.segments):
        assert (seg_info["id"], seg_info["name"], seg_info["labelValue"]) == (s.id, s.name, s.label)
        assert seg_info.get("layer", 0) == order.index(s.layer)
        assert np.allclose(seg_info["color"], s.color, atol=5e-6)
        theirs = _tags_of(seg_info)
        for key, value in s.tags.items():
            if key != "TerminologyEntry":                                # slicerio parses that one
                assert theirs[key] == value
        if len(seg) < 50:
            assert np.array_equal(_slicerio_mask(sio, seg_info), seg.mask(s.id)), s.name
    frames = sio["voxels"] if sio["voxels"].ndim == 4 else sio["voxels"][None]
    for n, layer in enumerate(order):                   # whole layers equal: every mask is voxel-exact
        assert np.array_equal(frames[n], seg.layers[layer])
    assert sio["masterRepresentation"] == "Binary labelmap"
    assert sio["referenceImageExtentOffset"] == [0, 0, 0]
