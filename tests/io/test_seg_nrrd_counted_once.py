"""A .seg.nrrd is counted once on open: the per-layer counts made to find orphan voxels become the segmentation's
statistics (the segment table, `segedit info`), also after orphans are cleared and unused layers dropped."""
from __future__ import annotations

import nrrd
import numpy as np

from app import io
from app.model import label_values
from tests.conftest import shared_file


def test_the_overlapping_seg_nrrd_counts_match_pynrrd_without_a_second_pass(monkeypatch):
    path = shared_file("slicerio", "SegmentationOverlapping.seg.nrrd")
    seg = io.open_segmentation(path)
    calls = []
    real = label_values.histogram
    monkeypatch.setattr(label_values, "histogram", lambda a: calls.append(a.shape) or real(a))
    data, header = nrrd.read(str(path))
    for n in range(len(seg.segments)):
        s = seg.segments[n]
        layer_index = int(header[f"Segment{n}_Layer"])
        label = int(header[f"Segment{n}_LabelValue"])
        layer = data[layer_index] if data.ndim == 4 else data
        assert s.label == label
        assert seg.voxel_count(s.id) == np.count_nonzero(layer == label), s.name
    assert calls == []


def test_orphans_cleared_and_a_dropped_layer_keep_true_counts(tmp_path):
    from app.model.geometry import Geometry
    from app.model.segment import Segment
    from app.model.segmentation import Segmentation

    a = np.zeros((12, 10, 8), np.uint8)
    a[1:5, 1:5, 1:5] = 1
    a[6:9, 2:8, 2:6] = 2
    b = np.zeros_like(a)
    b[3:10, 3:9, 0:7] = 1
    seg = Segmentation.from_layers(Geometry(a.shape), [a, b], [Segment("one", "one", (1, 0, 0), 0, 1),
                                                                Segment("two", "two", (0, 1, 0), 0, 2),
                                                                Segment("three", "three", (0, 0, 1), 1, 1)])
    out = tmp_path / "s.seg.nrrd"
    io.save_segmentation(seg, out)
    data, header = nrrd.read(str(out))
    # segments 1 and 2 ("two", "three") removed from the header: value 2 becomes an orphan in layer 0 and the
    # layer of "three" is no longer used
    header = {k: v for k, v in header.items()
              if not (k.startswith("Segment1_") or k.startswith("Segment2_"))}
    nrrd.write(str(out), data, header)
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        back = io.open_segmentation(out)
    assert [s.name for s in back.segments] == ["one"] and back.n_layers == 1
    assert back.voxel_count("one") == np.count_nonzero(a == 1)
    assert back.voxel_count("one") == np.count_nonzero(back.layers[0] == 1)
    assert np.count_nonzero(back.layers[0]) == np.count_nonzero(a == 1)            # the orphan 2s cleared
