"""import-masks decodes masks whose compressed data is identical once (TotalSegmentator writes one file per class,
most of them the same empty volume, with different times and names in their gzip headers); every mask still
becomes its own segment, voxel for voxel as nibabel reads it."""
from __future__ import annotations

import gzip
import io as _io

import nibabel as nib
import numpy as np

from app import io
from app.io import masks


def _write(path, arr, mtime: int, name: str) -> None:
    """A .nii.gz whose gzip header carries its own time and file name (as gzip and nibabel write them)."""
    buf = _io.BytesIO()
    img = nib.Nifti1Image(arr, np.diag([-0.8, -0.8, 1.5, 1.0]))
    nib.save(img, path.with_suffix("").with_suffix(".nii"))
    raw = path.with_suffix("").with_suffix(".nii").read_bytes()
    path.with_suffix("").with_suffix(".nii").unlink()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buf, mtime=mtime) as f:
        f.write(raw)
    path.write_bytes(buf.getvalue())


def test_identical_masks_are_decoded_once_and_each_is_a_segment(tmp_path, monkeypatch):
    shape = (24, 20, 16)
    empty = np.zeros(shape, np.uint8)
    a = empty.copy()
    a[3:9, 4:10, 2:7] = 1
    b = empty.copy()
    b[12:20, 5:15, 8:14] = 1
    folder = tmp_path / "masks"
    folder.mkdir()
    files = {"aorta": (a, 1), "brain": (empty, 2), "colon": (a, 3), "duodenum": (empty, 4), "esophagus": (b, 5)}
    for name, (arr, t) in files.items():
        _write(folder / f"{name}.nii.gz", arr, mtime=1_700_000_000 + t, name=f"{name}.nii")
    decoded = []
    real = masks._indices
    monkeypatch.setattr(masks, "_indices", lambda p: decoded.append(p.name) or real(p))
    seg = io.import_masks([folder])
    assert sorted(decoded) == ["aorta.nii.gz", "brain.nii.gz", "esophagus.nii.gz"]   # one per distinct content
    assert [s.name for s in seg.segments] == list(files)
    for s in seg.segments:
        expected = np.asanyarray(nib.load(folder / f"{s.name}.nii.gz").dataobj) != 0
        assert np.array_equal(seg.layers[s.layer] == s.label, expected), s.name
    assert seg.n_layers == 2                          # aorta and colon overlap: one of them needs a second layer
    assert len({(s.layer, s.label) for s in seg.segments}) == len(files)
