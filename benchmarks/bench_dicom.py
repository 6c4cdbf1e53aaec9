"""DICOM benchmarks on data made here: a 512x512x300 CT series (int16, rescale slope/intercept, oblique orientation)
and a 117-segment segmentation of it (organ-like blocks, no overlap, as TotalSegmentator writes), written as a
DICOM SEG and read back; plus the BINARY form with one overlapping segment.

Targets (issue 19): series read <= 5 s; 117-segment SEG written <= 5 s and read <= 5 s (highdicom#202 reported
minutes for a 98-segment SEG with an older highdicom)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .common import Row, row_ms, timeit

SHAPE = (512, 512, 300)
N_SEGMENTS = 117


def ct_and_labels(shape=SHAPE, n_segments: int = N_SEGMENTS, seed: int = 0):
    """A body-like CT (air, soft tissue, bone-like values, noise) and a labelmap of `n_segments` blocks."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    body = (i / 0.85) ** 2 + (j / 0.65) ** 2 < 1
    ct = np.full(shape, -1000, dtype=np.int16)
    ct[body] = 40
    ct[(i ** 2 + (j + 0.3) ** 2) < 0.02] = 700
    ct += rng.integers(-20, 21, size=(shape[0], shape[1], 1), dtype=np.int16)
    cells = np.zeros((8, 8, 5), dtype=np.uint8)
    flat = rng.permutation(cells.size)[:n_segments]
    cells.flat[flat] = np.arange(1, n_segments + 1)
    reps = [int(np.ceil(s / c)) for s, c in zip(shape, cells.shape)]
    labels = np.repeat(np.repeat(np.repeat(cells, reps[0], 0), reps[1], 1), reps[2], 2)[:shape[0], :shape[1], :shape[2]]
    labels = np.asfortranarray(np.where(body[:, :, None], labels, 0).astype(np.uint8))   # as the readers give it
    return np.asfortranarray(ct), labels


def run(args) -> list[Row]:
    from app import io
    from app.io.dicom_seg import write_seg
    from app.model.geometry import Geometry
    from app.model.segment import Segment, generated_color
    from app.model.segmentation import Segmentation
    from tests.io.dicom_maker import rotation, write_ct_series

    quick = getattr(args, "quick", False)
    repeats = 1 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ct, labels = ct_and_labels()
        geometry = Geometry(SHAPE, (0.78, 0.78, 1.5), (-200.0, -180.0, -400.0),
                            tuple(map(tuple, rotation(0.0, 0.0, 0.1))))
        write_ct_series(tmp / "ct", ct, geometry, slope=1.0, intercept=-1024.0)
        del ct
        stats = timeit(lambda: io.read_volume(tmp / "ct"), repeats)
        rows.append(row_ms("dicom", "read a 512x512x300 CT series (300 files, rescaled, int16)", stats, 5000, ""))
        volume = io.read_volume(tmp / "ct")
        segments = [Segment(f"S{n}", f"organ {n}", generated_color(n - 1), 0, n) for n in range(1, N_SEGMENTS + 1)]
        seg = Segmentation.from_layers(volume.geometry, [labels], segments)
        out = tmp / "seg.dcm"
        stats = timeit(lambda: write_seg(seg, volume, out), repeats)
        rows.append(row_ms("dicom", f"write a {N_SEGMENTS}-segment DICOM SEG of it (LABELMAP)", stats, 5000,
                           "highdicom#202: minutes (read)"))
        stats = timeit(lambda: io.open_segmentation(out, reference=volume), repeats)
        rows.append(row_ms("dicom", f"read that {N_SEGMENTS}-segment SEG onto the series", stats, 5000,
                           "highdicom#202: > 8 min for 98 segments"))
        # BINARY (overlap): highdicom needs a dense slices x rows x columns x segments array, so this case is
        # measured with 20 segments over the 60 slices that hold them (300 MB of working array)
        from app.model.edits import EditMode, EditPolicy, Overwrite, apply_mask

        few = Segmentation.from_layers(volume.geometry, [np.where((labels <= 19) & (labels > 0), labels, 0)
                                                         .astype(np.uint8)], segments[:19])
        few.layers[0][:, :, 60:] = 0
        few.add_segment("overlapping")
        box = (slice(100, 300), slice(100, 300), slice(10, 50))
        apply_mask(few, few.segments[-1].id, np.ones((200, 200, 40), bool), box, EditMode.ADD,
                   EditPolicy(overwrite=Overwrite.NONE))
        binary = tmp / "binary.dcm"
        stats = timeit(lambda: write_seg(few, volume, binary), repeats)
        rows.append(row_ms("dicom", "write 20 segments with an overlap (BINARY, 60 slices)", stats, 5000, ""))
        stats = timeit(lambda: io.open_segmentation(binary, reference=volume), repeats)
        rows.append(row_ms("dicom", "read that BINARY SEG (20 segments, 2 layers)", stats, 5000, ""))
    return rows
