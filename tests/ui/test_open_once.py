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
