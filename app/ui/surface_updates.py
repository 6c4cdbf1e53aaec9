"""What the 3D view meshes when, on one worker thread, and how the results reach its scene (owned by View3D).

Priorities: surfaces that are missing or stale (shown segments only) first, in one batch at a time, the small jobs of
a batch two at a time; then, for big scenes, coarse copies for moving the camera, a chunk at a time so an edit never
waits long. Surfaces come with the cells of their vertices, so an edit of a big segment is stitched
(app.render.stitch) rather than re-meshed whole. It also keeps what the scene draws of each surface
(app.render.culling) in step with the segments' display.

`SurfaceUpdates` owns its state (surface cache, edited boxes, job bookkeeping, worker); it reads the document and the
display through its view's public side (`segmentation`, `shown_ids()`, `smoothing`, `showing`, `scene`) and hands
results back through `surfaces_arrived`, `show_progress` and `meshing_failed`.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.model.boxes import pad_box, union_box
from app.ui.heap import release_freed_memory, settle_objects

UPDATE_MS = 100                 # at most one re-mesh batch this often while a stroke goes on
BIG_BLOCK = 500_000             # voxels: a single-segment job this big is deferred while smaller ones wait
STITCH_BELOW = 1.0             # stitch when its block is smaller than the segment's box (else a whole re-mesh)
TRIM_AFTER = 50                 # a batch of more surfaces than this is followed by a trim of the heap at once (its
                                # meshing left hundreds of MB freed; View3D trims after quiet moments otherwise)
LOD_MIN_TRIANGLES = 400_000     # scenes bigger than this get coarse copies for moving the camera
LOD_CHUNK = 40                  # surfaces simplified per worker task
LOD_CELL_VOXELS = 4.0           # clustering cell, in voxels (SPL atlas: 3.1 M -> ~0.15 M triangles)


def _same_surface(mesh, sides, new_mesh, new_sides) -> bool:
    """Whether a surface (and the labels across its faces) is the one shown, array for array."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    if new_mesh is None or mesh.GetNumberOfPoints() != new_mesh.GetNumberOfPoints() or \
            mesh.GetNumberOfCells() != new_mesh.GetNumberOfCells() or (sides is None) != (new_sides is None):
        return False
    if sides is not None and not np.array_equal(sides, new_sides):
        return False
    return (np.array_equal(vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()),
                           vtk_to_numpy(new_mesh.GetPolys().GetConnectivityArray()))
            and np.array_equal(vtk_to_numpy(mesh.GetPoints().GetData()), vtk_to_numpy(new_mesh.GetPoints().GetData())))


def _after_big_build() -> None:
    settle_objects()
    release_freed_memory()


def _cost(job) -> float:
    """A job's rough run time, in voxels meshed (measured on the atlas: SurfaceNets ~0.09 ms per 1,000 voxels; a
    stitch adds ~2 ms, and ~0.04 ms per 1,000 triangles of the surface it goes into). Orders a stroke's jobs: white
    matter's stitch meshes fewer voxels than a small neighbour's whole re-mesh but takes three times as long."""
    old = getattr(job, "old", None)
    return job.block.size + (0 if old is None else 20_000 + 0.45 * old.GetNumberOfCells())


class SurfaceUpdates(QObject):
    """Keeps a view's surfaces current. Public state used by tests: `cache` (meshed segments and their versions),
    `busy`, `stitched`, `sides`, `timer`."""

    idle = Signal()                   # every shown segment has a current surface again
    message = Signal(str)             # a big build finished (for the window's status bar)
    _meshed = Signal(object)          # (generation, [results], seconds, last) or an exception: worker -> GUI thread
    _simplified = Signal(object)      # (generation, {id: mesh}, {id: coarse mesh})
    _culled = Signal(object)          # (generation, {id: mesh}, {id: drawn part}, opaque labels they were culled for)
    _restored = Signal(object)        # (generation, layer, edits seen, results or None, smoothing, ids, seconds)
    restored = Signal()               # a layer's shared surfaces are back in the scene (a quiet moment's work)

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.cache = None              # SurfaceCache, made when the view is first shown
        self.busy = False
        self.stitched: list[str] = []            # segments updated by a stitched sub-box re-mesh (tests, stats)
        self.sides: dict = {}                    # segment id -> label across each triangle (layer passes only)
        self._generation = 0
        self._meshed_as: dict[str, tuple[int, int]] = {}     # segment id -> (layer, label) it was meshed with
        self._dirty: dict[str, tuple] = {}       # segment id -> voxel box edited since its surface was meshed
        self._mesh_smoothing: dict[str, bool] = {}   # segment id -> whether its surface shown was smoothed
        self._neighbours: dict = {}              # segment id -> labels it has faces against (from sides)
        self._to_cull: set[str] = set()          # stitched surfaces drawn whole until a quiet moment
        self._edits: dict[int, tuple] = {}       # layer -> (voxel box, labels) edited since the last batch planned
        self._box_of: dict[str, tuple] = {}      # segment id -> voxel box, for the segments in `sides`
        self._uncovered: dict[str, tuple] = {}   # segment id -> (voxel box, labels): where a neighbour's edit may have
                                                 # changed the label across its faces, or where the neighbours with
                                                 # those labels were re-meshed apart from it (their points no longer
                                                 # meet its own): drawn whole until read again (_submit_culling)
        self._opaque_labels = None               # {layer: labels shown opaque}, None: to be computed
        self._apart: set[int] = set()            # layers with surfaces re-meshed apart from their neighbours since
                                                 # their last whole pass (culling given up there): to restore
        self._apart_labels: dict[int, dict] = {}  # layer -> {label: voxel box} of the segments re-meshed apart
                                                 # there: read as 0 (drawn) when a surface's sides are read again
        self._layer_edits: dict[int, int] = {}   # layer -> edits so far (a restore planned before one is dropped)
        self._restoring = None                   # the restore in flight: {"layer", "cancel"}
        self._closed = False                     # shut down: nothing more goes to the threads
        self._batch_size = 0
        self._batch_smoothing = True
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segedit-3d")
        self._restore_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segedit-3d-restore")  # (an
        # edit's jobs never wait behind a restore's layer pass)
        self._job_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segedit-3d-job")   # kept: a
        # new thread's first VTK and numpy calls cost tens of ms (the first stroke after a show paid it)
        self.timer = QTimer(self, singleShot=True, interval=UPDATE_MS, timeout=self.submit)
        self._meshed.connect(self._on_meshed)
        self._simplified.connect(self._on_simplified)
        self._culled.connect(self._on_culled)
        self._restored.connect(self._on_restored)

    # ---------------------------------------------------------------- what the view tells
    def start(self) -> None:
        """The view is shown for the first time."""
        if self.cache is None:
            from app.render.surface_cache import SurfaceCache
            self.cache = SurfaceCache()

    def reset(self) -> None:
        """Another document (or none): everything is meshed again for it; results in flight are dropped."""
        self._generation += 1
        for state in (self._meshed_as, self._dirty, self.sides, self._neighbours, self._to_cull, self._uncovered,
                      self._edits, self._box_of, self._apart, self._apart_labels, self._layer_edits):
            state.clear()
        self._cancel_restore()
        self._opaque_labels = None
        if self.cache is not None:
            self.cache.clear()

    def edited(self, changes) -> None:
        """Voxels changed: the segments touched need new surfaces (the boxes say where, for stitching)."""
        if self.cache is None:
            return
        ids, seg = set(), self.view.segmentation
        for change in changes:
            ids |= set(change.segment_ids)
            box = tuple(change.box)
            for sid in change.segment_ids:         # what changed since the surface shown: stitched re-meshes
                self._dirty[sid] = union_box(self._dirty.get(sid), box)
                if sid in self._box_of:            # (a segment's box only grows between re-meshes)
                    self._box_of[sid] = union_box(self._box_of[sid], box)
            self._layer_changed(change.layer)
            edited, labels = self._edits.get(change.layer, (None, set()))     # their neighbours: looked at once
            labels |= {seg.segment(sid).label for sid in change.segment_ids   # the jobs are on the worker
                       if sid in seg and seg.segment(sid).layer == change.layer}
            self._edits[change.layer] = (union_box(edited, box), labels)
        self.cache.invalidate(ids)
        self.schedule(UPDATE_MS)

    def _layer_changed(self, layer: int) -> None:
        """A layer's voxels or labels changed: a restore pass planned before reads them as they were (its result is
        dropped on arrival, and the pass stops at its next surface)."""
        self._layer_edits[layer] = self._layer_edits.get(layer, 0) + 1
        if self._restoring is not None and self._restoring["layer"] == layer:
            self._restoring["cancel"].set()

    def _uncover_neighbours(self, boxes) -> None:
        """An edited segment's neighbours keep their voxels, but their faces toward it may now face background (an
        erase) or another segment: those culled against an edited label near the edit are drawn whole at once,
        and the label across their faces there is read again from the voxels at the next quiet moment. (Without
        this, erasing part of a segment left a hole in its neighbour's drawn surface.)"""
        edits, self._edits = self._edits, {}
        for layer, (box, labels) in edits.items():
            # edited segments too: edited in one place, one may face another's erase elsewhere
            self._uncover_near(boxes.get(layer), box, labels, unshared=False)

    def _uncover_near(self, boxes, region, labels, unshared: bool, skip=()) -> None:
        """`_uncover` the culled surfaces (of `boxes`, one layer's `_culled_boxes`) with faces against `labels`
        near `region`, but those in `skip`; `unshared`: their faces against those labels there are drawn."""
        for sid in self._near(boxes, region) if labels else ():
            faced = self._faced(sid) & labels if sid not in skip else None
            if faced:
                self._uncover(sid, region, frozenset(faced) if unshared else frozenset())

    def _faced(self, sid: str) -> frozenset:
        """The labels a culled surface has faces against (computed with its sides on the worker, else here)."""
        if sid not in self._neighbours:
            from app.render.culling import neighbours
            self._neighbours[sid] = neighbours(self.sides[sid])
        return self._neighbours[sid]

    def _culled_boxes(self) -> dict:
        """{layer: (ids, lo, hi)}: the segments with culled surfaces and their voxel boxes (kept by `_set_sides`,
        grown by `edited`: 304 lookups in the model cost ~3 ms per update), for `_near`."""
        seg, by_layer = self.view.segmentation, {}
        for sid, box in self._box_of.items():
            if sid in seg:
                by_layer.setdefault(seg.segment(sid).layer, []).append((sid, box))
        return {layer: ([sid for sid, _ in got], np.array([[s.start for s in b] for _, b in got]),
                        np.array([[s.stop for s in b] for _, b in got])) for layer, got in by_layer.items()}

    @staticmethod
    def _near(boxes, box) -> list[str]:
        """Of `boxes` (one layer's `_culled_boxes`), the segments whose faces may lie in `box` (their box, one voxel
        larger, overlaps it): a few of hundreds, tested at once."""
        if boxes is None:
            return []
        ids, lo, hi = boxes
        hit = np.all((lo <= [s.stop for s in box]) & ([s.start for s in box] <= hi), axis=1)
        return [ids[i] for i in np.flatnonzero(hit)]

    def _uncover(self, sid: str, box, unshared: frozenset) -> None:
        """Draw a surface whole now; at the next quiet moment, read the labels across its faces in `box` again
        from the voxels, drawing those against `unshared` labels there."""
        old_box, old_labels = self._uncovered.get(sid, (None, frozenset()))
        self._uncovered[sid] = (union_box(old_box, box), old_labels | unshared)
        self._to_cull.add(sid)
        mesh = self.view.scene.mesh(sid)
        if mesh is not None:
            self.view.scene.set_drawn(sid, mesh)

    def _unshare(self, jobs, boxes) -> None:
        """Surfaces re-meshed apart from their neighbours no longer meet them at shared points: a segment
        re-meshed alone is smoothed against background where it touches others, a stitch re-smooths a band, a
        pass over some segments of a layer treats the others as background. The neighbours' faces toward them,
        culled while the points were shared, would leave cracks (or, after an erase, holes): in the region
        re-meshed, they are drawn again."""
        from app.render.stitch import SMOOTH_MARGIN

        seg = self.view.segmentation
        shape = seg.geometry.shape
        shown_by_layer: dict[int, set] = {}
        for sid in self.view.shown_ids():
            shown_by_layer.setdefault(seg.segment(sid).layer, set()).add(sid)
        for job in jobs:
            if hasattr(job, "segment_id"):           # a stitch: its region and the band re-smoothed around it
                ids = [job.segment_id]
                region = tuple(slice(max(a - SMOOTH_MARGIN, 0), min(b + SMOOTH_MARGIN + 1, n))
                               for a, b, n in zip(job.lo, job.hi, shape))
            else:                                   # a whole re-mesh: the block meshed
                ids = list(job.labels.values())
                region = tuple(slice(max(o, 0), min(o + n, m)) for o, n, m in zip(job.offset, job.block.shape, shape))
            ids = [sid for sid in ids if sid in seg]
            if not ids:
                continue
            layer = seg.segment(ids[0]).layer
            if shown_by_layer.get(layer, set()) <= set(ids):     # a pass over all of them: shared everywhere
                self._apart.discard(layer)
                self._apart_labels.pop(layer, None)
            else:
                self._apart.add(layer)
                apart = self._apart_labels.setdefault(layer, {})
                for sid in ids:
                    label = seg.segment(sid).label
                    apart[label] = union_box(apart.get(label), region)
            self._uncover_near(boxes.get(layer), region, frozenset(seg.segment(sid).label for sid in ids),
                               unshared=True, skip=ids)

    def moved(self, ids) -> None:
        """Segments whose (layer, label) changed: the same voxels, read elsewhere. Its old label no longer names it,
        and another segment may take it: the neighbours that culled faces against that label draw their whole
        surfaces until they are re-meshed (only they: the rest of the layer keeps its culling)."""
        seg, gone = self.view.segmentation, set()
        for sid in ids:
            s = seg.segment(sid)
            before = self._meshed_as.get(sid, (s.layer, s.label))
            if before != (s.layer, s.label):
                self.cache.invalidate([sid])
                gone.add(before)
                for layer in {before[0], s.layer}:       # a restore planned before reads the wrong labels
                    self._layer_changed(layer)
        scene = self.view.scene
        for sid in list(self.sides) if gone else ():
            if sid not in seg or sid not in self.sides:
                continue
            layer = seg.segment(sid).layer
            if any(old_layer == layer and label in self._faced(sid) for old_layer, label in gone):
                self._apart.add(layer)
                self._set_sides(sid, None)
                mesh = scene.mesh(sid) if scene is not None else None
                if mesh is not None:
                    scene.set_drawn(sid, mesh)

    def removed(self, ids) -> None:
        self.cache.forget(ids)
        for sid in ids:
            self._set_sides(sid, None)

    def smoothing_changed(self) -> None:
        if self.cache is not None and self.view.segmentation is not None:
            self.cache.invalidate(self.view.segmentation.segment_ids)
        self.schedule(0)

    # ---------------------------------------------------------------- scheduling
    def schedule(self, delay_ms: int) -> None:
        if not self.view.showing or self.cache is None:
            return
        if not self.timer.isActive():
            self.timer.start(delay_ms)

    def is_idle(self) -> bool:
        """Nothing in flight, nothing waiting: every shown segment has a current surface (or the view is off)."""
        if not self.view.showing or self.cache is None:
            return True
        return (not self.busy and not self.timer.isActive() and not self.needed() and not self._to_cull
                and not self._edits and self._restoring is None)   # (surfaces drawn whole wait to be culled
                                                                    # again at the quiet moment)

    def needed(self) -> list[str]:
        return [sid for sid in self.view.shown_ids() if not self.cache.is_current(sid)]

    def submit(self) -> None:
        """Snapshot the voxels of the segments that need a surface and mesh them on the worker thread."""
        view, seg = self.view, self.view.segmentation
        if self.busy or not view.showing or seg is None or self.cache is None or self._closed:
            return
        needed = self.needed()
        if not needed:
            if self._edits:                # edits of segments not shown in 3D: their neighbours still
                self._after_planning([])
            if not self._submit_lod() and self._restoring is None:    # (a restore's return says it)
                self.idle.emit()
            return
        from app.render.surfaces import plan_jobs

        for sid in needed:
            s = seg.segment(sid)
            self._meshed_as[sid] = (s.layer, s.label)
        stitched = self._stitch_jobs(needed)
        self.stitched.extend(job.segment_id for job in stitched)
        rest = [sid for sid in needed if sid not in {job.segment_id for job in stitched}]
        jobs, empty = plan_jobs(seg, rest, view.smoothing, self.cache.versions(rest), with_keys=True)
        opaque = self._opaque()
        for job in jobs:                 # what to draw is built with the surfaces, on the worker
            if len(job.labels) > 1:
                job.opaque = opaque.get(job.layer, np.zeros(0, np.int64))
                job.opaque_from = opaque
        jobs = stitched + jobs
        self.cache.store(dict.fromkeys(empty), self.cache.versions(empty))
        for sid in empty if view.scene is not None else ():     # (no scene yet: the first batch, before the canvas)
            view.scene.remove(sid)
        if not jobs:
            self._after_planning([])       # (segments emptied: their neighbours' faces toward them show)
            view.render()
            self.schedule(0)               # the rest, or the quiet moment's work, then idle
            return
        small = [job for job in jobs if job.block.size <= BIG_BLOCK or len(job.labels) > 1]
        if small and len(small) < len(jobs):
            jobs = small        # big neighbours a stroke painted over wait for a quiet moment (or the stroke's end)
        self.busy = True
        self._batch_size = len(needed)
        self._batch_smoothing = view.smoothing
        if len(needed) > 3:              # a small update after a brush stroke needs no progress display
            view.show_progress(f"Meshing {len(needed)} surface{'s' if len(needed) > 1 else ''}...")
        self._executor.submit(self._run_jobs, self._generation, jobs)
        self._after_planning(jobs)    # (bookkeeping on this thread while the worker meshes)

    def _after_planning(self, jobs) -> None:
        """The culled surfaces near this batch's edits and jobs: see `_uncover_neighbours` and `_unshare`."""
        if not self.sides or self.view.segmentation is None or self.view.scene is None:
            self._edits.clear()
            return
        boxes = self._culled_boxes()
        self._uncover_neighbours(boxes)
        self._unshare(jobs, boxes)

    def _stitch_jobs(self, needed) -> list:
        """A segment with a surface in the scene whose edits since cover a small part of its box is re-meshed on
        that part only and stitched in (app.render.stitch): a stroke across white matter costs its own box, not
        white matter's. Smoothed surfaces need the cells of their vertices (kept from the job that made them)."""
        from app.render.stitch import stitch_block_size, stitch_job

        seg, smoothing, jobs = self.view.segmentation, self.view.smoothing, []
        for sid in needed:
            box, old = self._dirty.get(sid), self.cache.get(sid)
            if box is None or old is None or old is not self.view.scene.mesh(sid) or seg.is_empty(sid):
                continue
            keys = self.cache.keys(sid)
            if self._mesh_smoothing.get(sid) != smoothing or (smoothing and keys is None):
                continue
            whole = seg.bounding_box(sid, tight=False)       # O(1): a bound is enough to weigh the two
            block = stitch_block_size(box, seg.geometry.shape, smoothing)
            if whole is None or block * STITCH_BELOW > np.prod([s.stop - s.start + 2 for s in whole]):
                continue
            jobs.append(stitch_job(seg, sid, old, box, self.cache.version(sid), old_keys=keys, smoothing=smoothing,
                                   old_sides=self.sides.get(sid)))
        return jobs

    def _run_jobs(self, generation: int, jobs) -> None:
        """Worker thread: run the jobs, smallest first, two at a time when they are small (a stroke's segments:
        VTK and most of numpy release the GIL; the longest, by `_cost`, starts at once on the second thread),
        handing each result to the GUI thread as soon as it is ready (the segment under the brush usually shows
        before its big neighbours); never raises."""
        from concurrent.futures import as_completed
        from app.render.culling import neighbours
        from app.render.surfaces import THREADED_VOXELS

        t0 = time.perf_counter()
        jobs = sorted(jobs, key=_cost)

        def run(job):
            meshes = job.run()
            drawn = getattr(job, "drawn", {}) if getattr(job, "opaque_from", None) is not None else {}
            sides = getattr(job, "sides", {})        # and the labels each surface has faces against, here (a bincount
            near = {sid: neighbours(s) for sid, s in sides.items()}      # per surface: ~3 ms for the atlas)
            return [(meshes, job.versions, job.keys, sides, near,
                     (getattr(job, "opaque_from", None), drawn), getattr(job, "old_sides", None) is not None)]

        side_by_side = len(jobs) > 1 and max(job.block.size for job in jobs) <= THREADED_VOXELS
        if side_by_side:            # the longest (white matter's stitch) on one thread, the rest smallest first
            jobs = jobs[-1:] + jobs[:-1]
        if side_by_side:
            futures = [self._job_threads.submit(run, job) for job in jobs]
            done = as_completed(futures)
        else:                       # one at a time, on this thread, each result handed over as soon as it is ready
            futures, done = [], (self._ran(run, job) for job in jobs)
        for n, future in enumerate(done):
            try:
                results = future.result()
            except Exception as exc:        # shown in the dock's status line; the view stays usable
                for f in futures:
                    f.cancel()
                self._meshed.emit((generation, exc, time.perf_counter() - t0, True))
                return
            self._meshed.emit((generation, results, time.perf_counter() - t0, n == len(jobs) - 1))

    @staticmethod
    def _ran(run, job) -> Future:
        future = Future()
        try:
            future.set_result(run(job))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def _on_meshed(self, payload) -> None:
        generation, results, seconds, last = payload
        view, seg = self.view, self.view.segmentation
        if last:
            self.busy = False
        if isinstance(results, Exception):
            view.meshing_failed(results)
            return
        if generation != self._generation or seg is None:
            self.schedule(0) if last else None
            return
        updated = self._apply_results(results, self._batch_smoothing)
        view.surfaces_arrived(updated, seconds, last)
        if not last:
            return
        if self._batch_size > TRIM_AFTER:        # after the frame just asked for (queued before this): the objects
            QTimer.singleShot(0, _after_big_build)   # it made are left out of later full collections, the heap trimmed
        if self._batch_size > 3:
            self.message.emit(f"3D: {self._batch_size} surfaces meshed in {seconds:.2f} s")
        if self.needed():
            self.schedule(UPDATE_MS)
        else:
            self.schedule(0)       # coarse copies for moving the camera, or idle: after the frame just asked for

    def _apply_results(self, results, smoothing: bool, keep_lod: bool = False) -> list[str]:
        """Put the worker's surfaces that are still current in the cache and the scene; the ids put."""
        view, seg = self.view, self.view.segmentation
        updated = []
        for meshes, versions, keys, sides, near, (opaque_from, drawn), cull_later in results:
            if opaque_from is not self._opaque_labels:
                drawn = {}                   # the display changed meanwhile: drawn again here
            kept = self.cache.store(meshes, versions, keys)
            for sid in kept:
                self._dirty.pop(sid, None)        # the surface shown is current: nothing edited since
                self._mesh_smoothing[sid] = smoothing
                self._set_sides(sid, sides.get(sid), near.get(sid))
                if not cull_later:
                    self._uncovered.pop(sid, None)     # meshed whole: its sides are read from this pass
                if sid in seg:
                    shown = drawn.get(sid)
                    if shown is None and cull_later and sid in self.sides:
                        shown = meshes[sid]             # a stitch: drawn whole now, its hidden faces culled at a
                        self._to_cull.add(sid)          # quiet moment (no O(surface) work on the stroke's path)
                    shown = self.drawn(sid, meshes[sid]) if shown is None else shown
                    view.scene.set_mesh(sid, meshes[sid], shown, keep_lod=keep_lod)
                    updated.append(sid)
        return updated

    # ---------------------------------------------------------------- culling lost to edits, restored
    def restore_shared(self) -> bool:
        """At a quiet moment (View3D: no frame, no edit for a while): a layer whose surfaces were re-meshed apart
        from their neighbours since its last whole pass (a stroke's stitches, segments re-meshed alone) is meshed
        again in one pass, on a thread of its own, and its shown surfaces replaced, so they share their points
        again and the faces between them are hidden again (12 small strokes on the atlas drew 13 % more triangles,
        and every later frame paid for them). An edit of the layer meanwhile, or a segment of it shown or hidden,
        drops the pass (tried again at the next quiet moment). Whether a pass was started."""
        view, seg = self.view, self.view.segmentation
        if (not self._apart or self._restoring is not None or not view.showing or seg is None
                or view.scene is None or not self.is_idle() or self._closed):
            return False
        from app.render.surfaces import detached, layer_job

        layer = self._apart.pop()
        ids = [sid for sid in view.shown_ids() if seg.segment(sid).layer == layer and self.cache.is_current(sid)]
        if len(ids) < 2:                        # nothing to share
            return self.restore_shared()
        whole = 2 * len(ids) >= len(seg.layer_segment_ids(layer))
        job = layer_job(seg, layer, ids, view.smoothing, self.cache.versions(ids), crop=not whole, with_keys=True)
        if job is None:
            return self.restore_shared()
        opaque = self._opaque()
        job.opaque = opaque.get(layer, np.zeros(0, np.int64))
        job.opaque_from = opaque
        job.cancel = threading.Event()
        job.background = True
        shown = {sid: (detached(view.scene.mesh(sid)), self.sides.get(sid)) for sid in ids
                 if view.scene.mesh(sid) is not None}
        self._restoring = {"layer": layer, "cancel": job.cancel}
        self._restore_thread.submit(self._run_restore, self._generation, layer, self._layer_edits.get(layer, 0),
                                    job, view.smoothing, shown, frozenset(ids))
        return True

    def _run_restore(self, generation, layer, edits, job, smoothing, shown, ids) -> None:
        """Restore thread: the layer's pass, less the surfaces it makes again exactly as shown (far from the edits:
        most of them), so only those that change are put in the scene and drawn from new buffers."""
        from app.render.culling import neighbours
        from app.render.surfaces import Cancelled

        t0 = time.perf_counter()
        try:
            meshes = job.run()
            same_sides = {}
            for sid in [sid for sid, mesh in meshes.items() if sid in shown and _same_surface(
                    *shown[sid], mesh, job.sides.get(sid))]:
                for kept in (meshes, job.versions, job.keys, job.drawn):
                    kept.pop(sid, None)
                same_sides[sid] = job.sides.pop(sid, None)
            near = {sid: neighbours(s) for sid, s in job.sides.items()}
            results = [(meshes, job.versions, job.keys, job.sides, near, (job.opaque_from, job.drawn), False)]
        except Cancelled:
            results, same_sides = None, {}
        except Exception:                   # the surfaces drawn stay as they are
            results, same_sides = None, {}
        self._restored.emit((generation, layer, edits, results, same_sides, smoothing, ids,
                            time.perf_counter() - t0))

    def _on_restored(self, payload) -> None:
        generation, layer, edits, results, same_sides, smoothing, ids, seconds = payload
        self._restoring = None
        if generation != self._generation:
            return
        seg = self.view.segmentation
        shown = {sid for sid in self.view.shown_ids() if seg.segment(sid).layer == layer} if seg is not None else set()
        # dropped after an edit of the layer, or once a segment of it was shown or hidden (one shown since was
        # meshed alone, its neighbours' faces toward it uncovered: the pass would cull them against its label
        # again): tried again at the next quiet moment
        if (results is None or seg is None or self._layer_edits.get(layer, 0) != edits or shown != ids
                or smoothing != self.view.smoothing or not self.view.showing):
            self._apart.add(layer)                       # next quiet moment
        else:
            updated = self._apply_results(results, smoothing, keep_lod=True)   # (the coarse copies still fit)
            # a surface kept takes the pass's sides (equal, compared above): each surface's sides are a view of its
            # pass's one array for the whole layer, which stays alive while any surface holds a part of it (the
            # atlas: 6 MB, held twice after every restore before this)
            for sid, sides in same_sides.items():
                if sides is not None and sid in self.sides:
                    self.sides[sid] = sides
            self._apart_labels.pop(layer, None)            # every surface of it shares its points again
            # but those of its segments hidden in 3D, not in the pass: their points no longer meet the new ones,
            # so they are meshed again (alone) when shown, like a segment hidden at the first build
            hidden = [sid for sid in seg.layer_segment_ids(layer) if sid not in ids and self.cache.get(sid) is not None]
            self.cache.invalidate(hidden)
            for sid in hidden:
                self._set_sides(sid, None)
            self.view.surfaces_arrived(updated, seconds, True, background=True)
        self.restored.emit()
        self.schedule(0)

    def _apart_near(self, layer: int, box) -> frozenset:
        """The labels re-meshed apart from their neighbours in `box` (or a voxel from it) since the layer's last
        whole pass."""
        return frozenset(label for label, region in self._apart_labels.get(layer, {}).items()
                         if all(r.start <= b.stop and b.start <= r.stop for r, b in zip(region, box)))

    def _cancel_restore(self) -> None:
        if self._restoring is not None:
            self._restoring["cancel"].set()
            self._restoring = None

    # ---------------------------------------------------------------- quiet moments
    def _submit_lod(self) -> bool:
        """Lowest priority, a chunk at a time (an edit waits for one chunk at most): coarse copies of the surfaces
        of a big scene, drawn while the camera moves."""
        scene = self.view.scene
        todo = scene.missing_lod(LOD_MIN_TRIANGLES)[:LOD_CHUNK]
        if not todo:
            return self._submit_culling()
        self.busy = True
        meshes = {sid: scene.mesh(sid) for sid in todo}
        cell_mm = LOD_CELL_VOXELS * max(self.view.segmentation.geometry.spacing)
        from app.render.surfaces import detached
        copies = {sid: detached(mesh) for sid, mesh in meshes.items()}
        self._executor.submit(self._run_lod, self._generation, meshes, copies, cell_mm)
        return True

    def _run_lod(self, generation: int, meshes: dict, copies: dict, cell_mm: float) -> None:
        from app.render.surfaces import simplified
        try:
            coarse = {sid: simplified(mesh, cell_mm) for sid, mesh in copies.items()}
        except Exception:               # no coarse copies: the full surfaces are drawn while moving
            coarse = {}
        self._simplified.emit((generation, meshes, coarse))

    def _on_simplified(self, payload) -> None:
        generation, meshes, coarse = payload
        self._quiet_task_done(generation, meshes, {sid: coarse.get(sid, mesh) for sid, mesh in meshes.items()},
                              lambda sid, copy: self.view.scene.set_lod(sid, copy))

    def _quiet_task_done(self, generation: int, meshes: dict, results: dict, apply) -> bool:
        """A quiet-moment task (coarse copies, culling) came back: `apply(sid, result)` to the surfaces still shown
        as the task read them (not re-meshed meanwhile), then the next task or idle. Whether any was applied."""
        self.busy = False
        scene, applied = self.view.scene, False
        if generation == self._generation and scene is not None:
            for sid, mesh in meshes.items():
                if sid in results and scene.mesh(sid) is mesh:
                    apply(sid, results[sid])
                    applied = True
        self.submit() if self.view.showing else None
        return applied

    def _submit_culling(self) -> bool:
        """The drawn part of the surfaces stitched since the last quiet moment (culling.drawn reads the whole
        surface: ~5 ms for white matter, kept off the stroke's path), and of the neighbours of an edit, with the
        labels across their faces near it read again from a copy of the voxels there; on the worker thread."""
        from app.render.surfaces import detached

        seg, scene = self.view.segmentation, self.view.scene
        todo = [sid for sid in self._to_cull if sid in seg and sid in self.sides and scene.mesh(sid) is not None]
        self._to_cull.clear()
        opaque = self._opaque()
        meshes, work = {}, {}
        for sid in todo:
            s, mesh, reread = seg.segment(sid), scene.mesh(sid), None
            box, unshared = self._uncovered.pop(sid, (None, frozenset()))
            if box is not None:
                # and every label re-meshed apart there: a neighbour's edit may have put one across faces that
                # faced another label before (the segment painted over 7 and was re-meshed alone: read as 7 -> 55,
                # its faces were culled against points not theirs, a crack found by the random-sequence test)
                unshared = unshared | self._apart_near(s.layer, box)
                keys = self.cache.keys(sid)
                if keys is None or len(keys) != mesh.GetNumberOfPoints():
                    self._set_sides(sid, None)        # its faces cannot be named: drawn whole from now on
                    continue
                box = pad_box(box, 1, seg.geometry.shape)
                reread = (keys, seg.layers[s.layer][box].copy(), [b.start for b in box], s.label, unshared)
            meshes[sid] = mesh
            work[sid] = (detached(mesh), self.sides[sid], opaque.get(s.layer), reread)
        if not work:
            return False
        self.busy = True
        self._executor.submit(self._run_culling, self._generation, meshes, work, opaque)
        return True

    def _run_culling(self, generation: int, meshes: dict, work: dict, opaque) -> None:
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from app.render.culling import drawn, neighbours, sides_near
        parts = {}
        try:
            for sid, (mesh, sides, labels, reread) in work.items():
                if reread is not None:
                    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
                    sides = sides_near(sides, reread[0], tri, *reread[1:])
                parts[sid] = (drawn(mesh, sides, labels),
                              (sides, neighbours(sides)) if reread is not None else None)
        except Exception:               # the whole surfaces stay drawn
            parts = {}
        self._culled.emit((generation, meshes, parts, opaque))

    def _on_culled(self, payload) -> None:
        generation, meshes, parts, opaque = payload
        scene = self.view.scene
        for sid, (_, read) in parts.items() if generation == self._generation else ():
            if read is not None and sid in self.sides and scene.mesh(sid) is meshes[sid]:
                self._set_sides(sid, *read)        # read again from the voxels: true whatever the display
        drawn = {sid: part for sid, (part, _) in parts.items()}
        if opaque is not self._opaque_labels:      # the display changed meanwhile: culled for another display,
            self._to_cull.update(drawn)            # so culled again for this one (next in line after this task)
            drawn = {}

        def apply(sid, part):
            if sid not in self._uncovered:         # (edited near again meanwhile: stays whole until read again)
                scene.set_drawn(sid, part)
        if self._quiet_task_done(generation, meshes, drawn, apply):
            self.view.render()

    # ---------------------------------------------------------------- faces nobody sees (app.render.culling)
    def _set_sides(self, sid: str, sides, near=None) -> None:
        """A surface's culling labels (None: drawn whole), and the labels it faces when known (else computed
        when first needed); keeps its O(1) voxel box for `_culled_boxes`."""
        self._neighbours.pop(sid, None)
        if sides is None:
            self.sides.pop(sid, None)
            self._box_of.pop(sid, None)
            return
        self.sides[sid] = sides
        if near is not None:
            self._neighbours[sid] = near
        seg = self.view.segmentation
        box = seg.bounding_box(sid, tight=False) if seg is not None and sid in seg else None
        (self._box_of.pop(sid, None) if box is None else self._box_of.__setitem__(sid, box))

    def _opaque(self) -> dict:
        if self._opaque_labels is None:
            from app.render.culling import opaque_labels
            self._opaque_labels = opaque_labels(self.view.segmentation, self.view.shown_ids())
        return self._opaque_labels

    def drawn(self, sid: str, mesh):
        """What the scene draws of a segment's surface: the faces a viewer can see (None: all of it)."""
        sides = self.sides.get(sid)
        if sides is None or mesh is None or sid in self._uncovered:
            return None
        from app.render.culling import drawn
        return drawn(mesh, sides, self._opaque().get(self.view.segmentation.segment(sid).layer))

    def display_changed(self) -> None:
        """Segments shown, hidden or made (in)visible or (trans)lucent: the surfaces with faces against one that
        became (or stopped being) shown opaque draw those faces again (or not). No re-mesh."""
        scene, seg = self.view.scene, self.view.segmentation
        if scene is None or not self.sides or self._opaque_labels is None:
            self._opaque_labels = None
            for sid in list(self.sides) if scene is not None and seg is not None else ():
                mesh = scene.mesh(sid)
                if mesh is not None and sid in seg:
                    scene.set_drawn(sid, self.drawn(sid, mesh) or mesh)
            return
        before = self._opaque_labels
        self._opaque_labels = None
        after = self._opaque()
        changed: dict[int, set] = {}
        for layer in set(before) | set(after):
            diff = set(np.setxor1d(before.get(layer, np.zeros(0, np.int64)),
                                   after.get(layer, np.zeros(0, np.int64))).tolist())
            if diff:
                changed[layer] = diff
        for sid in list(self.sides) if changed else ():
            labels = changed.get(seg.segment(sid).layer) if sid in seg else None
            if not labels:
                continue
            mesh = scene.mesh(sid)
            if self._faced(sid) & labels and mesh is not None:
                scene.set_drawn(sid, self.drawn(sid, mesh) or mesh)

    def shutdown(self) -> None:
        """The view is going away: nothing more is started (its timers may still fire), the threads are joined."""
        self._closed = True
        self.timer.stop()
        self._cancel_restore()
        self._restore_thread.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._job_threads.shutdown(wait=True, cancel_futures=True)
