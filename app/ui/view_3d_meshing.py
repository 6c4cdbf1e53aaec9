"""The meshing half of View3D: what to mesh when, on one worker thread, and handing results back.

Priorities: surfaces that are missing or stale (shown segments only) first, in one batch at a time; then, for big
scenes, coarse copies for moving the camera, a chunk at a time so an edit never waits long. A mixin: View3D owns
the state (cache, scene, executor, timer, signals) and the widgets.
"""
from __future__ import annotations

import time

import numpy as np

UPDATE_MS = 100                 # at most one re-mesh batch this often while a stroke goes on
BIG_BLOCK = 500_000             # voxels: a single-segment job this big is deferred while smaller ones wait
TRIM_AFTER = 50                # segments meshed in one batch after which the heap is trimmed (not after strokes)
STITCH_BELOW = 1.5             # stitch when its block is under 2/3 of the segment's box (measured break-even ~1)
LOD_MIN_TRIANGLES = 400_000     # scenes bigger than this get coarse copies for moving the camera
LOD_CHUNK = 40                  # surfaces simplified per worker task
LOD_CELL_VOXELS = 4.0           # clustering cell, in voxels (SPL atlas: 3.1 M -> ~0.15 M triangles)


def release_freed_memory() -> None:
    """Give the heap freed by a big meshing batch back to the system. glibc keeps the worker thread's arena:
    measured on the SPL atlas, meshing all 304 surfaces leaves +208 MB resident, +125 MB after malloc_trim (the
    surfaces themselves). Nothing to do elsewhere."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


class MeshingMixin:
    def _schedule(self, delay_ms: int) -> None:
        if not self._active or self.cache is None:
            return
        if not self._timer.isActive():
            self._timer.start(delay_ms)

    def is_idle(self) -> bool:
        """Nothing in flight, nothing waiting: every shown segment has a current surface (or the view is off)."""
        if not self._active or self.cache is None:
            return True
        return not self.busy and not self._timer.isActive() and not self._needed()

    def _needed(self) -> list[str]:
        return [sid for sid in self.shown_ids() if not self.cache.is_current(sid)]

    def _submit(self) -> None:
        """Snapshot the voxels of the segments that need a surface and mesh them on the worker thread."""
        if self.busy or not self._active or self.segmentation is None:
            return
        needed = self._needed()
        if not needed:
            if not self._submit_lod():
                self.idle.emit()
            return
        from app.render.surfaces import plan_jobs

        seg = self.segmentation
        for sid in needed:
            s = seg.segment(sid)
            self._meshed_as[sid] = (s.layer, s.label)
        stitched = self._stitch_jobs(needed)
        self.stitched.extend(job.segment_id for job in stitched)
        rest = [sid for sid in needed if sid not in {job.segment_id for job in stitched}]
        jobs, empty = plan_jobs(seg, rest, self.smoothing, self.cache.versions(rest), with_keys=True)
        jobs = stitched + jobs
        self.cache.store(dict.fromkeys(empty), self.cache.versions(empty))
        for sid in empty:
            self.scene.remove(sid)
        if not jobs:
            self._render()
            self._schedule(0) if self._needed() else self.idle.emit()
            return
        small = [job for job in jobs if job.block.size <= BIG_BLOCK or len(job.labels) > 1]
        if small and len(small) < len(jobs):
            jobs = small        # big neighbours a stroke painted over wait for a quiet moment (or the stroke's end)
        self.busy = True
        self._batch_size = len(needed)
        self._batch_smoothing = self.smoothing
        self._show_progress(f"Meshing {len(needed)} surface{'s' if len(needed) > 1 else ''}...", len(needed))
        generation = self._generation
        self._executor.submit(self._run_jobs, generation, jobs)

    def _stitch_jobs(self, needed) -> list:
        """A segment with a surface in the scene whose edits since cover a small part of its box is re-meshed on
        that part only and stitched in (app.render.stitch): a stroke across white matter costs its own box, not
        white matter's. Smoothed surfaces need the cells of their vertices (from the job that made them, or from
        a keys pass at a quiet moment after a document's first build)."""
        from app.render.stitch import stitch_block_size, stitch_job

        seg, jobs = self.segmentation, []
        for sid in needed:
            box, old = self._dirty.get(sid), self.cache.get(sid)
            if box is None or old is None or old is not self.scene.mesh(sid) or seg.is_empty(sid):
                continue
            keys = self.cache.keys(sid)
            if self._mesh_smoothing.get(sid) != self.smoothing or (self.smoothing and keys is None):
                continue
            whole = seg.bounding_box(sid)
            block = stitch_block_size(box, seg.geometry.shape, self.smoothing)
            if whole is None or block * STITCH_BELOW > np.prod([s.stop - s.start + 2 for s in whole]):
                continue
            jobs.append(stitch_job(seg, sid, old, box, self.cache.version(sid), old_keys=keys,
                                   smoothing=self.smoothing))
        return jobs

    def _run_jobs(self, generation: int, jobs) -> None:
        """Worker thread: run the jobs, smallest first, two at a time when they are small (a stroke's segments:
        VTK and most of numpy release the GIL), handing each result to the GUI thread as soon as it is ready
        (the segment under the brush usually shows before its big neighbours); never raises."""
        from concurrent.futures import ThreadPoolExecutor, as_completed
        from app.render.surfaces import THREADED_VOXELS

        t0 = time.perf_counter()
        jobs = sorted(jobs, key=lambda job: job.block.size)

        def run(job):
            return [(job.run(), job.versions, job.keys, job if getattr(job, "vertex_ids", None) else None,
                     getattr(job, "sides", {}))]

        side_by_side = len(jobs) > 1 and jobs[-1].block.size <= THREADED_VOXELS
        with ThreadPoolExecutor(2 if side_by_side else 1, thread_name_prefix="segedit-3d-job") as pool:
            futures = [pool.submit(run, job) for job in jobs]
            for n, future in enumerate(as_completed(futures)):
                try:
                    results = future.result()
                except Exception as exc:        # shown in the dock's status line; the view stays usable
                    for f in futures:
                        f.cancel()
                    self._meshed.emit((generation, exc, time.perf_counter() - t0, True))
                    return
                self._meshed.emit((generation, results, time.perf_counter() - t0, n == len(jobs) - 1))

    def _on_meshed(self, payload) -> None:
        generation, results, seconds, last = payload
        if last:
            self.busy = False
            self.progress.setVisible(False)
        if isinstance(results, Exception):
            self.status.setText("3D: meshing failed")
            self.status.setToolTip(str(results))
            return
        if generation != self._generation or self.segmentation is None:
            self._schedule(0) if last else None
            return
        updated = []
        for meshes, versions, keys, unkeyed, sides in results:
            kept = self.cache.store(meshes, versions, keys)
            if unkeyed is not None and kept:        # a layer's smoothed pass: the cells at a quiet moment
                unkeyed.block = None                # (the voxels are copied again then: no 34 MB held meanwhile)
                self._keys_todo.append((unkeyed, {sid: versions[sid] for sid in kept}))
            for sid in kept:
                self._dirty.pop(sid, None)        # the surface shown is current: nothing edited since
                self._mesh_smoothing[sid] = self._batch_smoothing
                self._set_sides(sid, sides.get(sid))
                if sid in self.segmentation:
                    self.scene.set_mesh(sid, meshes[sid], self._drawn(sid, meshes[sid]))
                    self._apply_display(sid)
                    updated.append(sid)
        if getattr(self, "_fit_pending", False) and self.scene.actors:
            self.scene.reset_camera()        # a new document: framed on its surfaces as they come, whole at the end
            self._fit_pending = not last
        self.scene.ensure_camera()
        self.status.setText(f"{len(self.scene.actors)} surfaces · updated in {seconds:.2f} s")
        self._render()
        if not last:
            return
        if getattr(self, "_batch_size", 0) > TRIM_AFTER:
            release_freed_memory()
        if getattr(self, "_batch_size", 0) > 3:
            self.message.emit(f"3D: {self._batch_size} surfaces meshed in {seconds:.2f} s")
        if self._needed():
            self._schedule(UPDATE_MS)
        else:
            self._submit()          # coarse copies for moving the camera, or idle

    def _submit_lod(self) -> bool:
        """Lowest priority, a chunk at a time (an edit waits for one chunk at most): coarse copies of the surfaces
        of a big scene, drawn while the camera moves; then the cells of the vertices of a first build's surfaces
        (so the first stroke across a big segment is stitched too)."""
        todo = self.scene.missing_lod(LOD_MIN_TRIANGLES)[:LOD_CHUNK]
        if not todo:
            return self._submit_keys()
        self.busy = True
        meshes = {sid: self.scene.mesh(sid) for sid in todo}
        cell_mm = LOD_CELL_VOXELS * max(self.segmentation.geometry.spacing)
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
        self.busy = False
        if generation == self._generation and self.scene is not None:
            for sid, mesh in meshes.items():
                if self.scene.mesh(sid) is mesh:       # not re-meshed meanwhile
                    self.scene.set_lod(sid, coarse.get(sid, mesh))
        self._submit() if self._active else None

    def _submit_keys(self) -> bool:
        """One layer's keys pass (`surfaces.keys_job`) for surfaces still shown as that pass made them."""
        from app.render.surfaces import detached, keys_job

        while self._keys_todo:
            done, versions = self._keys_todo.pop(0)
            meshes = {sid: self.cache.get(sid) for sid, v in versions.items()
                      if self.cache.version(sid) == v and self.cache.is_current(sid) and self.cache.get(sid) is not None
                      and self.cache.keys(sid) is None and sid in self.segmentation}
            job = keys_job(self.segmentation, done) if meshes else None
            if job is None:
                continue
            self.busy = True
            copies = {sid: detached(mesh) for sid, mesh in meshes.items()}
            self._executor.submit(self._run_keys, self._generation, job, meshes, copies, versions)
            return True
        return False

    def _run_keys(self, generation: int, job, meshes: dict, copies: dict, versions: dict) -> None:
        from app.render.surfaces import keys_match
        try:
            job.run()
            keys = {sid: k for sid, k in job.keys.items() if sid in copies
                    and keys_match(copies[sid], k, job.ijk_to_lps)}
        except Exception:                 # no keys: those segments are re-meshed whole after an edit, as before
            keys = {}
        self._keyed.emit((generation, meshes, keys, versions))

    def _on_keyed(self, payload) -> None:
        generation, meshes, keys, versions = payload
        self.busy = False
        if generation == self._generation and self.cache is not None:
            for sid, k in keys.items():
                self.cache.add_keys(sid, meshes[sid], versions[sid], k)
        self._submit() if self._active else None

    # ---------------------------------------------------------------- faces nobody sees (app.render.culling)
    def _set_sides(self, sid: str, sides) -> None:
        self._neighbours.pop(sid, None)
        (self._sides.pop(sid, None) if sides is None else self._sides.__setitem__(sid, sides))

    def _opaque(self) -> dict:
        if self._opaque_labels is None:
            from app.render.culling import opaque_labels
            self._opaque_labels = opaque_labels(self.segmentation, self.shown_ids())
        return self._opaque_labels

    def _drawn(self, sid: str, mesh):
        """What the scene draws of a segment's surface: the faces a viewer can see (None: all of it)."""
        sides = self._sides.get(sid)
        if sides is None or mesh is None:
            return None
        from app.render.culling import drawn
        return drawn(mesh, sides, self._opaque().get(self.segmentation.segment(sid).layer))

    def _update_culling(self) -> None:
        """After display changes: the surfaces with faces against a segment that became (or stopped being) shown
        opaque draw those faces again (or not)."""
        if self.scene is None or not self._sides:
            self._opaque_labels = None
            return
        from app.render.culling import neighbours
        before = self._opaque()
        self._opaque_labels = None
        after = self._opaque()
        changed: dict[int, set] = {}
        for layer in set(before) | set(after):
            a = before.get(layer, np.zeros(0, np.int64))
            b = after.get(layer, np.zeros(0, np.int64))
            diff = set(np.setxor1d(a, b).tolist())
            if diff:
                changed[layer] = diff
        if not changed:
            return
        seg = self.segmentation
        for sid in list(self._sides):
            if sid not in seg:
                continue
            labels = changed.get(seg.segment(sid).layer)
            if not labels:
                continue
            if sid not in self._neighbours:
                self._neighbours[sid] = neighbours(self._sides[sid])
            if self._neighbours[sid] & labels:
                mesh = self.scene.mesh(sid)
                if mesh is not None:
                    self.scene.set_drawn(sid, self._drawn(sid, mesh) or mesh)

    def _show_progress(self, text: str, count: int) -> None:
        if count > 3:              # a small update after a brush stroke needs no progress display
            self.progress.setVisible(True)
            self.status.setText(text)

