"""Python's cyclic garbage collector is kept off the interactive path (app.ui.heap): the objects of a document
shown are frozen out of later full collections, and a document closed is still freed."""
from __future__ import annotations

import gc
import weakref

from tests.ui.helpers import copy_segmentation


def _tracked(obj) -> bool:
    """Whether a full collection walks `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_a_documents_objects_are_frozen_once_shown_and_freed_once_replaced(make_window, demo, qtbot):
    seg0, _grey = demo
    win = make_window()
    first = copy_segmentation(seg0)
    first.cycle = first                     # a reference cycle: only the collector can free it
    gone = weakref.ref(first)
    segment = first.segments[0]
    win.set_document(first)
    assert _tracked(first) and _tracked(segment)    # not yet: the window settles once the document is shown
    qtbot.waitUntil(lambda: not _tracked(first))
    assert not _tracked(segment) and gc.get_freeze_count() > 0
    assert win.segmentation is first

    second = copy_segmentation(seg0)
    win.set_document(second)
    first = segment = None                  # (the test's own references)
    gc.collect()
    assert gone() is not None               # frozen: a plain full collection leaves it (it is in no generation)
    qtbot.waitUntil(lambda: gone() is None)  # the next settle unfreezes and collects it
    qtbot.waitUntil(lambda: not _tracked(second))


def test_the_3d_views_first_build_is_frozen_too(demo_window, qtbot):
    """Its first build makes a VTK wrapper per surface and actor (the demo atlas: 60 segments, a big batch)."""
    from app.ui import view_3d
    from tests.ui.test_view_3d import shown_3d, wait_idle

    view_3d.install(demo_window)
    qtbot.waitUntil(lambda: not _tracked(demo_window.segmentation))      # the document's own settle
    view = shown_3d(demo_window)
    wait_idle(qtbot, view)
    actor = next(iter(view.scene.actors.values()))
    qtbot.waitUntil(lambda: not _tracked(actor))
    assert len(view.scene.actors) > 50
