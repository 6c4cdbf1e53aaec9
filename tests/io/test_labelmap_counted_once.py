"""A plain labelmap is counted once on open: the reader's per-label counts (it needs them to know which segments
exist) become the segmentation's statistics, so the segment table's volumes cost no second pass over a
512x512x1000 layer on the GUI thread."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from app import io
from app.model import label_values


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32])
def test_counts_come_from_the_read_and_match_an_independent_count(tmp_path, monkeypatch, dtype):
    rng = np.random.default_rng(1)
    labels = np.zeros((30, 20, 12), dtype)
    for value in (1, 5, 9, 120):
        lo = rng.integers(0, 10, 3)
        labels[lo[0]:lo[0] + 15, lo[1]:lo[1] + 8, lo[2]:lo[2] + 6] = value
    path = tmp_path / "l.nii.gz"
    nib.save(nib.Nifti1Image(labels, np.eye(4)), path)
    seg = io.open_segmentation(path)
    calls = []
    real = label_values.histogram
    monkeypatch.setattr(label_values, "histogram", lambda a: calls.append(a.shape) or real(a))
    on_disk = np.asanyarray(nib.load(path).dataobj)
    for s in seg.segments:
        assert seg.voxel_count(s.id) == np.count_nonzero(on_disk == s.label)
    assert calls == []                                   # no second pass over the layer
    # the seeded counts are kept current by edits like computed ones
    sid = seg.segments[0].id
    before = seg.voxel_count(sid)
    from app.model.edits import EditMode, apply_mask

    box = (slice(0, 2), slice(0, 2), slice(0, 2))
    mask = np.ones((2, 2, 2), bool)
    apply_mask(seg, sid, mask, box, EditMode.ADD)
    assert seg.voxel_count(sid) == np.count_nonzero(seg.layers[0] == seg.segments[0].label)
    assert seg.voxel_count(sid) >= before
