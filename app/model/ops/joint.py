"""Joint smoothing of many segments at once: neighbours stay tight, with no gaps and no overlaps between them.

Per layer, for the selected segments S1..Sn of that layer (U = their union):
1. every segment's indicator is blurred with the same Gaussian (standard deviation `std_mm`, anisotropic spacing
   respected, truncated at 4 sigma), each on its own bounding box grown by the kernel's reach;
2. the smoothed union is the sum of those blurs (the blur is linear): a voxel is foreground when it is >= 0.5.
   This is exactly the Gaussian smoothing of U alone, so the outer boundary of the group is smoothed like one
   segment, and nothing else decides foreground;
3. each foreground voxel goes to the segment with the largest blurred value (ties: the first in the list).
4. a subset of the layer's segments (or of the atlas): a voxel of U whose G(U) < 0.5 but that lies inside the
   labelled region (the Gaussian of "labelled in any layer" >= 0.5: it borders unselected segments, not
   background) stays with its best member. Otherwise a group surrounded by other structures would leave holes
   between itself and them.
So, by construction: no overlaps (one label per voxel), and no gaps — a voxel that was labelled is left unlabelled
only where the group borders background (within the kernel's reach of an unlabelled voxel). The only full-size
arrays are per layer on U's grown box: the running maximum, the running sum (float32), the argmax (int32) and, for a
subset, the union and "labelled" masks (bool) and one more float32 blur; never one per segment.
Changes are applied as every loss first, then every gain, so segments of the selection exchange voxels freely;
gains into unselected segments follow the overwrite mode.
"""
from __future__ import annotations

import math

import numpy as np
from ._ndimage import ndimage

from ..edits import EditMode
from ..label_values import union_box
from ..segmentation import Segmentation, SegmentationError
from .plan import Plan, Progress, editable_ids, pad_box, report, set_changes


def gaussian_sigma(std_mm: float, spacing) -> tuple[float, ...]:
    """A Gaussian's standard deviation in millimetres as voxel units per axis."""
    return tuple(std_mm / sp for sp in spacing)


def plan_joint_smoothing(seg: Segmentation, segment_ids, std_mm: float, progress: Progress = None) -> Plan:
    if not (math.isfinite(std_mm) and std_mm > 0):
        raise SegmentationError("the smoothing size must be a positive number of millimetres")
    ids, locked = editable_ids(seg, segment_ids)
    plan = Plan(f"Joint smoothing ({std_mm:g} mm, {len(ids)} segments)", skipped=locked)
    sigma = gaussian_sigma(float(std_mm), seg.geometry.spacing)
    pad = [int(math.ceil(4.0 * s)) + 1 for s in sigma]
    by_layer: dict[int, list[tuple[str, tuple]]] = {}
    for sid in ids:
        box = seg.bounding_box(sid)
        if box is not None:
            by_layer.setdefault(seg.segment(sid).layer, []).append((sid, box))
    removes, adds = [], []
    done, total = 0, max(1, sum(len(m) for m in by_layer.values()))
    for layer, members in sorted(by_layer.items()):
        def step(_n, done=done):
            report(progress, (done + _n) / total)
        new, ubox = _joint_labels(seg, members, sigma, pad, step)
        for change in _changes(seg, members, new, ubox):
            (removes if change.mode is EditMode.REMOVE else adds).append(change)
        done += len(members)
    plan.changes = removes + adds
    return plan


def _joint_labels(seg, members, sigma, pad, step):
    """(int32 array on the union box: 1 + index of the winning member, 0 = background; the union box)."""
    shape = seg.geometry.shape
    boxes = [pad_box(box, pad, shape) for _, box in members]
    ubox = boxes[0]
    for b in boxes[1:]:
        ubox = union_box(ubox, b)
    size = tuple(b.stop - b.start for b in ubox)
    best = np.zeros(size, dtype=np.float32)
    total = np.zeros(size, dtype=np.float32)
    arg = np.zeros(size, dtype=np.int32)
    for n, ((sid, _), b) in enumerate(zip(members, boxes)):
        local = tuple(slice(x.start - u.start, x.stop - u.start) for x, u in zip(b, ubox))
        g = ndimage.gaussian_filter(seg.mask(sid, b).astype(np.float32), sigma, mode="constant")
        total[local] += g
        best_view, arg_view = best[local], arg[local]
        better = g > best_view
        best_view[better] = g[better]
        arg_view[better] = n + 1
        step(n + 1)
    del best
    dropped = total < 0.5
    union = np.zeros(size, dtype=bool)
    for (sid, _), b in zip(members, boxes):
        local = tuple(slice(x.start - u.start, x.stop - u.start) for x, u in zip(b, ubox))
        union[local] |= seg.mask(sid, b)
    labelled = np.zeros(size, dtype=bool)
    for layer in seg.layers:
        labelled |= layer[ubox] != 0
    if dropped.any() and not np.array_equal(labelled, union):
        # a subset: where the group borders unselected segments rather than background, G(U) < 0.5 would
        # leave holes between the group and its neighbours. A voxel of U is given up only where the smoothing
        # of everything labelled drops it too, i.e. near background; elsewhere it stays with its best member.
        g_all = ndimage.gaussian_filter(labelled.astype(np.float32), sigma, mode="constant")
        dropped &= ~(union & (g_all >= 0.5))
    arg[dropped] = 0
    return arg, ubox


def _changes(seg, members, new, ubox):
    objects = ndimage.find_objects(new, max_label=len(members))
    out = []
    for n, (sid, old_box) in enumerate(members):
        box = old_box
        if objects[n] is not None:
            nb = tuple(slice(o.start + u.start, o.stop + u.start) for o, u in zip(objects[n], ubox))
            box = union_box(box, nb)
        local = tuple(slice(x.start - u.start, x.stop - u.start) for x, u in zip(box, ubox))
        out.extend(set_changes(sid, seg.mask(sid, box), new[local] == n + 1, box))
    return out
