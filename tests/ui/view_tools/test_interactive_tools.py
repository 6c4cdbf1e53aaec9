"""Draw, Scissors, Level tracing and Flood fill state machines without Qt: plain ijk sequences (press, drag,
release, double click, keys, hover), then voxels against independent references, undo steps, marks, messages."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from app.model.edits import Editable, Overwrite
from app.model.segment_editor_state import EditorState
from app.model.geometry import Geometry
from app.model.ops.contour import ScissorsOperation, ScissorsShape, SliceCut
from app.model.ops.region import FloodRange
from app.model.segmentation import Segmentation
from app.model.tool_options import Scope, ToolOptions
from app.ui.view_tools.base import ViewContext
from app.ui.view_tools.contour import DrawTool, ScissorsTool, normal_sign
from app.ui.view_tools.region import FloodFillTool, LevelTraceTool

SHAPE = (30, 24, 8)


class Ref:
    def __init__(self, array, geometry):
        self.array, self.geometry = array, geometry


def make(directions=None):
    g = Geometry(SHAPE, (1.0, 1.0, 2.0), directions=directions) if directions else Geometry(SHAPE, (1.0, 1.0, 2.0))
    seg = Segmentation(g)
    ids = [seg.add_segment(n).id for n in ("a", "b", "c")]
    seg.layers[0][15:25, 5:15, :] = seg.segment(ids[1]).label
    seg.invalidate_statistics(0)
    seg.history.clear()
    state = EditorState()
    state.active_segment = ids[0]
    msgs = []
    state.message.connect(msgs.append)
    return seg, ids, state, msgs


def undo_count(seg):
    return len(seg.history.undo_stack)


CTX = ViewContext(2, 3)


def test_draw_clicks_backspace_enter_fill_one_step():
    seg, ids, state, msgs = make()
    tool = DrawTool(state, lambda: seg)
    marks = []
    tool.changed.connect(lambda: marks.append(tool.marks))
    for p in [(2, 2, 0), (2, 10, 0), (9, 10, 0), (20, 20, 0)]:     # the view's slice index wins over k
        assert tool.press(p, CTX)
        tool.release(p, CTX)
    assert tool.active and marks[-1].points[-1] == (20.0, 20.0, 3.0) and marks[-1].plane_axis == 2
    assert tool.key("Backspace") and len(tool.points) == 3
    tool.press((9, 2, 3), CTX)
    tool.release((9, 2, 3), CTX)
    assert seg.voxel_count(ids[0]) == 0, "nothing is written before the contour is closed"
    assert tool.key("Return")
    exp = np.zeros(SHAPE, bool)
    exp[2:10, 2:11, 3] = True
    assert np.array_equal(seg.mask(ids[0]), exp)
    assert undo_count(seg) == 1 and not tool.active and tool.marks is None


def test_draw_freehand_drag_closing_the_loop_and_double_click():
    seg, ids, state, _ = make()
    tool = DrawTool(state, lambda: seg)
    ctx = ViewContext(0, 5)
    pts = [(0, 3, 1), (0, 3, 6), (0, 12, 6), (0, 12, 1)]
    tool.press(pts[0], ctx)
    for p in pts[1:]:
        tool.drag(p, ctx)
    tool.release(pts[-1], ctx)
    assert len(tool.points) == 4
    tool.press((0, 3.4, 1.3), ctx)                    # back on the first point: the loop closes and fills
    exp = np.zeros(SHAPE, bool)
    exp[5, 3:13, 1:7] = True
    assert np.array_equal(seg.mask(ids[0]), exp) and undo_count(seg) == 1
    tool.press((0, 1, 1), ctx)
    tool.press((0, 1, 4), ctx)
    tool.press((0, 4, 4), ctx)
    assert tool.double_click((0, 4, 4), ctx)
    assert undo_count(seg) == 2 and seg.mask(ids[0])[5, 1, 1:5].all()


def test_draw_escape_cancels_and_refusals_say_why():
    seg, ids, state, msgs = make()
    tool = DrawTool(state, lambda: seg)
    tool.press((1, 1, 0), CTX)
    tool.press((1, 5, 0), CTX)
    assert tool.key("Escape") and not tool.active and seg.voxel_count(ids[0]) == 0
    seg.update_segment(ids[0], locked=True)
    for p in [(1, 1, 0), (1, 5, 0), (5, 5, 0)]:
        tool.press(p, CTX)
    tool.key("Enter")
    assert seg.voxel_count(ids[0]) == 0 and "locked" in msgs[-1] and undo_count(seg) == 0


def test_draw_honours_overwrite_editable_area_and_intensity():
    seg, ids, state, _ = make()
    grey = np.zeros(SHAPE, np.float32)
    grey[:, 12:, :] = 100
    tool = DrawTool(state, lambda: seg, lambda: Ref(grey, seg.geometry))
    state.overwrite = Overwrite.NONE
    state.editable = Editable.BACKGROUND
    state.intensity_masking, state.intensity_range = True, (50, 150)
    for p in [(10, 2, 0), (10, 20, 0), (20, 20, 0), (20, 2, 0)]:
        tool.press(p, CTX)
    tool.key("a")
    exp = np.zeros(SHAPE, bool)
    exp[10:21, 12:21, 3] = True
    exp[15:25, 5:15, :] = False                      # b's voxels: not background
    assert np.array_equal(seg.mask(ids[0]), exp)
    assert seg.voxel_count(ids[1]) == 10 * 10 * 8


def drag_shape(tool, pts, ctx):
    tool.press(pts[0], ctx)
    for p in pts[1:-1]:
        tool.drag(p, ctx)
    tool.release(pts[-1], ctx)


def test_scissors_rectangle_erases_all_segments_through_the_volume_in_one_step():
    seg, ids, state, _ = make()
    seg.layers[0][0:5, 0:5, :] = seg.segment(ids[2]).label
    seg.invalidate_statistics(0)
    opts = ToolOptions()
    opts.set("scissors_shape", ScissorsShape.RECTANGLE)
    opts.set("scissors_scope", Scope.ALL)
    tool = ScissorsTool(state, lambda: seg, options=opts)
    drag_shape(tool, [(2, 2, 0), (10, 8, 0), (18, 8, 0)], CTX)
    cut = np.zeros(SHAPE, bool)
    cut[2:19, 2:9, :] = True
    b = np.zeros(SHAPE, bool)
    b[15:25, 5:15, :] = True
    c = np.zeros(SHAPE, bool)
    c[0:5, 0:5, :] = True
    assert np.array_equal(seg.mask(ids[1]), b & ~cut) and np.array_equal(seg.mask(ids[2]), c & ~cut)
    assert undo_count(seg) == 1 and tool.marks is None
    seg.undo()
    assert seg.voxel_count(ids[1]) == b.sum() and seg.voxel_count(ids[2]) == c.sum()


def test_scissors_circle_fill_outside_a_positive_slab_and_marks_while_dragging():
    seg, ids, state, _ = make()
    opts = ToolOptions()
    for k, v in (("scissors_shape", ScissorsShape.CIRCLE), ("scissors_operation", ScissorsOperation.FILL_INSIDE),
                 ("scissors_cut", SliceCut.POSITIVE), ("scissors_depth_mm", 4.0)):
        opts.set(k, v)
    tool = ScissorsTool(state, lambda: seg, options=opts)
    tool.press((8, 8, 0), CTX)
    tool.drag((8, 12, 0), CTX)
    assert tool.marks is not None and len(tool.marks.points) == 64 and tool.marks.closed
    tool.release((8, 12, 0), CTX)
    ii, jj = np.ogrid[0:SHAPE[0], 0:SHAPE[1]]
    disc = (ii - 8) ** 2 + (jj - 8) ** 2 <= 16
    exp = np.zeros(SHAPE, bool)
    exp[:, :, 3:6] = disc[:, :, None]                # 4 mm / 2 mm spacing: slices 3, 4, 5 (sign +1)
    assert np.array_equal(seg.mask(ids[0]), exp)
    assert normal_sign(seg.geometry, 2) == 1
    flipped = Geometry(SHAPE, (1.0, 1.0, 2.0), directions=((1, 0, 0), (0, 1, 0), (0, 0, -1)))
    assert normal_sign(flipped, 2) == -1


def test_scissors_escape_mid_drag_changes_nothing():
    seg, ids, state, _ = make()
    tool = ScissorsTool(state, lambda: seg, options=ToolOptions())
    state.active_segment = ids[1]
    tool.press((14, 4, 0), CTX)
    tool.drag((26, 4, 0), CTX)
    tool.drag((26, 16, 0), CTX)
    assert tool.active and tool.key("Escape") and not tool.active
    assert seg.voxel_count(ids[1]) == 800 and undo_count(seg) == 0


def grey_blob():
    grey = np.zeros(SHAPE, np.float32)
    grey[5:20, 4:18, :] = 80
    grey[10, 10, :] = 10                              # a hole in every slice
    return grey


def test_level_trace_hover_shows_the_region_and_click_adds_it():
    seg, ids, state, msgs = make()
    grey = grey_blob()
    tool = LevelTraceTool(state, lambda: seg, lambda: Ref(grey, seg.geometry))
    tool.hover((5, 9, 0), CTX)
    region = tool.marks.region
    exp = np.zeros(SHAPE, bool)
    exp[5:20, 4:18, 3] = True
    got = np.zeros(SHAPE, bool)
    got[region[1]] = region[0]
    assert np.array_equal(got, exp)
    assert tool.press((5, 9, 0), CTX)
    state.overwrite = Overwrite.ALL
    b = np.zeros(SHAPE, bool)
    b[15:25, 5:15, 3] = True
    assert np.array_equal(seg.mask(ids[0]), exp) and seg.voxel_count(ids[1]) == 800 - (b & exp).sum()
    assert undo_count(seg) == 1
    tool.hover((12, 12, 0), CTX)                      # inside a uniform area: nothing to trace
    assert tool.marks is None
    no_ref = LevelTraceTool(state, lambda: seg)
    no_ref.press((5, 9, 0), CTX)
    assert "reference volume" in msgs[-1] and undo_count(seg) == 1


def test_flood_fill_tolerance_2d_and_3d_radius_and_label_mode():
    seg, ids, state, msgs = make()
    grey = grey_blob() + np.arange(SHAPE[2], dtype=np.float32)[None, None, :]   # +1 per slice
    opts = ToolOptions()
    opts.set("flood_tolerance", 2.5)
    tool = FloodFillTool(state, lambda: seg, lambda: Ref(grey, seg.geometry), options=opts)
    tool.hover((6, 6, 0), CTX)
    assert tool.marks.region[0].shape[2] == 1, "2D: one slice"
    tool.press((6, 6, 0), CTX)
    inside = (grey >= grey[6, 6, 3] - 2.5) & (grey <= grey[6, 6, 3] + 2.5)
    keep = np.zeros(SHAPE, bool)
    keep[:, :, 3] = True
    lab, _ = ndimage.label(inside & keep)
    assert np.array_equal(seg.mask(ids[0]), lab == lab[6, 6, 3])
    seg.undo()
    opts.set("flood_3d", True)
    opts.set("flood_radius_mm", 4.0)
    tool.press((6, 6, 0), CTX)
    ii, jj, kk = np.indices(SHAPE)
    ball = (ii - 6) ** 2 + (jj - 6) ** 2 + ((kk - 3) * 2.0) ** 2 <= 16
    lab, _ = ndimage.label(inside & ball)
    assert np.array_equal(seg.mask(ids[0]), lab == lab[6, 6, 3])
    seg.undo()
    opts.set("flood_mode", FloodRange.LABEL)
    opts.set("flood_radius_mm", 0.0)
    state.active_segment = ids[2]
    tool.press((18, 8, 0), CTX)                        # inside b: the whole of b becomes c (overwrite all)
    assert seg.voxel_count(ids[2]) == 800 and seg.voxel_count(ids[1]) == 0
    assert undo_count(seg) == 1
