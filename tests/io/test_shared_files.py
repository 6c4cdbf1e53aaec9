"""Every file of ../shared/data opens with the right segments, layers, label values and physical placement."""
from __future__ import annotations

import numpy as np
import pytest

from app import io
from tests.conftest import shared_file


def _atlas():
    return io.open_segmentation(shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd"),
                                labels=shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl"))


def test_spl_atlas_opens_with_304_named_coloured_segments_in_one_layer():
    seg = _atlas()
    assert len(seg.segments) == 304
    assert seg.n_layers == 1
    assert seg.layers[0].dtype == np.int16
    by_label = {s.label: s for s in seg.segments}
    assert by_label[2].name == "white_matter_of_left_cerebral_hemisphere"
    assert by_label[2].color == pytest.approx((250 / 255, 250 / 255, 225 / 255))
    assert not by_label[2].name_auto_generated
    assert by_label[10].name == "Segment_10"          # in the image, not in the table
    assert by_label[10].name_auto_generated and by_label[10].color_auto_generated
    assert sum(s.name_auto_generated for s in seg.segments) == 1
    # table entries without voxels are not segments: the table has 336 entries
    assert all(seg.voxel_count(s.id) > 0 for s in seg.segments)


def test_spl_atlas_permuted_directions_place_voxels_right():
    seg = _atlas()
    g = seg.geometry
    # space directions (0,1,0) (0,0,-1) (1,0,0), origin (-128,-128,128), LPS
    assert np.allclose(g.index_to_physical((0, 0, 0)), (-128, -128, 128))
    assert np.allclose(g.index_to_physical((1, 0, 0)), (-128, -127, 128))
    assert np.allclose(g.index_to_physical((0, 1, 0)), (-128, -128, 127))
    assert np.allclose(g.index_to_physical((0, 0, 1)), (-127, -128, 128))
    assert g.shape == (256, 256, 256)


def test_slicerio_single_layer_file():
    seg = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    assert [s.name for s in seg.segments] == ["ribs", "cervical vertebral column", "thoracic vertebral column",
                                              "lumbar vertebral column", "right lung", "left lung", "tissue"]
    assert [s.label for s in seg.segments] == list(range(1, 8))
    assert seg.n_layers == 1
    s0 = seg.segments[0]
    assert s0.id == "Segment_1"
    assert s0.color == pytest.approx((0.992157, 0.909804, 0.619608))
    assert s0.tags["Segmentation.Status"] == "inprogress"
    assert s0.tags["TerminologyEntry"].startswith("Segmentation category and type - 3D Slicer General Anatomy")
    assert seg.segments[4].color_auto_generated is False and s0.color_auto_generated is True
    assert seg.extra["Segmentation_ContainedRepresentationNames"] == "Binary labelmap|Closed surface|"
    assert "Reference image geometry|3.0468759536743195;" in seg.extra["Segmentation_ConversionParameters"]
    assert seg.voxel_count("Segment_1") == 8487
    assert np.allclose(seg.geometry.origin, (193.09599304199222, 216.39599609374994, -340.24999999999994))
    assert np.allclose(seg.geometry.directions, np.diag([-1.0, -1.0, 1.0]))


def test_slicerio_overlapping_file_has_two_layers_and_cropped_extent():
    seg = io.open_segmentation(shared_file("slicerio", "SegmentationOverlapping.seg.nrrd"))
    assert len(seg.segments) == 8 and seg.n_layers == 2
    sphere = seg.segments[7]
    assert (sphere.name, sphere.layer, sphere.label) == ("overlapping sphere", 1, 1)
    box = seg.bounding_box(sphere.id)
    # its Extent is 16 64 61 109 16 30 (inclusive): the voxels lie inside
    assert box[0].start >= 16 and box[0].stop <= 65 and box[1].start >= 61 and box[2].stop <= 31
    assert seg.overlapping()


def test_itksnap_labelmap_finds_its_label_file_beside_it():
    seg = io.open_segmentation(shared_file("itksnap", "MRIcrop-seg.nii.gz"))
    names = [s.name for s in seg.segments]
    assert names == ["vent-lat", "vent-3rd", "vent-4th", "hippo-R", "hippo-L", "vent-temp", "caudates",
                     "corpus-callosum"]                  # labels 9..11 of the table have no voxels
    assert seg.segments[0].color == pytest.approx((0, 30 / 255, 1))
    assert seg.layers[0].dtype == np.uint8 and seg.geometry.shape == (78, 110, 64)


def test_ct_volume_reads_in_lps():
    vol = io.read_volume(shared_file("slicerio", "CTChest4.nrrd"))
    assert vol.array.dtype == np.int32 and vol.array.shape == (128, 128, 34)
    assert np.allclose(vol.geometry.spacing, (3.04687595367432, 3.04687595367432, 10.0))
    seg = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    assert vol.geometry.same_lattice(seg.geometry)


def test_progress_rises_to_one_for_open_and_save(tmp_path):
    seen = []
    seg = io.open_segmentation(shared_file("spl-brain-atlas", "hncma-atlas_2014-11_304labels.nrrd"),
                               progress=seen.append)
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == 1.0 and 0 <= seen[0]
    seen.clear()
    io.save_segmentation(seg, tmp_path / "a.seg.nrrd", progress=seen.append)
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == 1.0
    seen.clear()
    io.open_segmentation(tmp_path / "a.seg.nrrd", progress=seen.append)
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == 1.0
