"""A NIfTI labelmap opened from the window (drop, command line) is decoded once: the read that tells a labelmap from
a grey image is the one the segmentation is built from (a 512x512x1000 labelmap is ~1 s of gzip)."""
from __future__ import annotations

import nibabel as nib
import numpy as np

from app import io


def test_a_dropped_nifti_labelmap_is_read_once(make_window, tmp_path, monkeypatch):
    from app.io import nifti

    labels = np.zeros((20, 16, 12), np.uint8)
    labels[2:8, 3:9, 1:5] = 3
    labels[10:18, 3:9, 1:5] = 7
    nib.save(nib.Nifti1Image(labels, np.diag([-0.8, -0.8, 1.5, 1.0])), tmp_path / "l.nii.gz")
    calls = []
    real = nifti.read
    monkeypatch.setattr(nifti, "read", lambda *a, **k: calls.append(a) or real(*a, **k))
    win = make_window()
    assert win.files.open_paths([tmp_path / "l.nii.gz"])
    assert len(calls) == 1
    seg = win.segmentation
    assert [s.label for s in seg.segments] == [3, 7]
    assert np.array_equal(seg.layers[0], labels)
    # the same document as opening it directly
    direct = io.open_segmentation(tmp_path / "l.nii.gz")
    assert direct.geometry.same_lattice(seg.geometry)
    assert [(s.name, s.label) for s in direct.segments] == [(s.name, s.label) for s in seg.segments]


def test_telling_a_labelmap_from_a_grey_image_copies_nothing():
    """The sample is taken through a view in the array's own order: a Fortran-ordered volume (how the readers
    return it) is not copied to be looked at (numpy's allocations are traced by tracemalloc, so a copy would show
    as an allocation of the array's size)."""
    import tracemalloc

    from app.ui import file_actions

    labels = np.zeros((256, 256, 256), np.uint8, order="F")       # 16 MB: sampled 1 voxel in 8
    labels[5:90, 5:90, 5:50] = 4
    grey = np.asfortranarray(np.random.default_rng(0).integers(-1000, 2000, (256, 256, 256)).astype(np.int16))
    for arr, expected in ((labels, True), (grey, False)):
        tracemalloc.start()
        try:
            assert file_actions.looks_like_labelmap(arr) is expected
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < arr.nbytes // 2, (peak, arr.nbytes)
