"""The 3D scene (VTK, no Qt): one actor per segment surface, an anatomical orientation cube, camera presets, picking.

World coordinates are LPS millimetres, as the surfaces from `app.render.surfaces` and the slice views. Imported only
when the 3D view is first shown (VTK is heavy). The canvas that shows it (native or offscreen) lives in
`vtk_canvas.py`.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor
from vtkmodules.vtkRenderingCore import vtkActor, vtkCellPicker, vtkPolyDataMapper, vtkRenderer
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL backend)

BACKGROUND_TOP = (0.32, 0.34, 0.43)       # Slicer's 3D view gradient
BACKGROUND_BOTTOM = (0.76, 0.76, 0.87)


class ViewDirection(enum.Enum):
    """Where the camera looks from (LPS): (offset of the camera from the focal point, view-up)."""

    ANTERIOR = ((0, -1, 0), (0, 0, 1))
    POSTERIOR = ((0, 1, 0), (0, 0, 1))
    LEFT = ((1, 0, 0), (0, 0, 1))
    RIGHT = ((-1, 0, 0), (0, 0, 1))
    SUPERIOR = ((0, 0, 1), (0, -1, 0))
    INFERIOR = ((0, 0, -1), (0, -1, 0))


def orientation_cube() -> vtkAnnotatedCubeActor:
    """A cube whose faces name the patient directions: LPS world axes, so +x is L, +y P, +z S."""
    cube = vtkAnnotatedCubeActor()
    for setter, text in (("SetXPlusFaceText", "L"), ("SetXMinusFaceText", "R"), ("SetYPlusFaceText", "P"),
                         ("SetYMinusFaceText", "A"), ("SetZPlusFaceText", "S"), ("SetZMinusFaceText", "I")):
        getattr(cube, setter)(text)
    cube.SetFaceTextScale(0.6)
    cube.GetCubeProperty().SetColor(0.85, 0.87, 0.92)
    cube.GetTextEdgesProperty().SetColor(0.3, 0.3, 0.35)
    cube.GetTextEdgesProperty().SetLineWidth(1.0)
    for prop in (cube.GetXPlusFaceProperty(), cube.GetXMinusFaceProperty()):
        prop.SetColor(0.85, 0.2, 0.2)
    for prop in (cube.GetYPlusFaceProperty(), cube.GetYMinusFaceProperty()):
        prop.SetColor(0.2, 0.6, 0.2)
    for prop in (cube.GetZPlusFaceProperty(), cube.GetZMinusFaceProperty()):
        prop.SetColor(0.2, 0.35, 0.85)
    return cube


class Scene3D:
    """Actors keyed by segment id; display changes (colour, opacity, visibility) touch only actor properties."""

    def __init__(self) -> None:
        self.renderer = vtkRenderer()
        self.renderer.GradientBackgroundOn()
        self.renderer.SetBackground(*BACKGROUND_BOTTOM)
        self.renderer.SetBackground2(*BACKGROUND_TOP)
        self.marker = vtkRenderer()               # the orientation cube, drawn in a corner on top
        self.marker.SetViewport(0.0, 0.0, 0.16, 0.16)
        self.marker.SetLayer(1)
        self.marker.InteractiveOff()
        self.marker.AddActor(orientation_cube())
        self.renderer.AddObserver("StartEvent", self._sync_marker)
        self.actors: dict[str, vtkActor] = {}
        self._full: dict[str, vtkPolyDataMapper] = {}     # full-resolution mapper of each actor
        self._surface: dict[str, object] = {}             # each segment's whole surface (the mapper may draw part)
        self._drawn_cells: dict[str, int] = {}            # triangles each mapper draws (asking 300 mappers through
                                                          # VTK's Python wrappers costs ~3 ms)
        self._lod: dict[str, object] = {}                 # coarse copy of each surface (vtkPolyData)
        # While the camera moves ONE actor draws every shown segment's coarse copy, merged, coloured per point:
        # on software OpenGL a frame of 304 small actors costs about as much as one of 3 M triangles (measured:
        # 63 k coarse triangles in 304 actors 0.3 s a frame), so the merge, not only the decimation, is the gain.
        self.lod_actor = vtkActor()
        self.lod_actor.SetMapper(vtkPolyDataMapper())
        self.lod_actor.VisibilityOff()
        self.lod_actor.PickableOff()
        self.lod_actor.GetProperty().BackfaceCullingOn()
        self.renderer.AddActor(self.lod_actor)
        self._lod_dirty = True
        self.interactive = False
        self._picker = vtkCellPicker()
        self._picker.SetTolerance(0.005)
        self._camera_set = False

    def attach(self, render_window) -> None:
        render_window.SetNumberOfLayers(2)
        render_window.AddRenderer(self.renderer)
        render_window.AddRenderer(self.marker)

    # ---------------------------------------------------------------- actors
    def set_mesh(self, segment_id: str, mesh, drawn=None, keep_lod: bool = False) -> None:
        """Show `mesh` (vtkPolyData in LPS) for a segment, drawing `drawn` of it (default: all; see
        app.render.culling); None removes its actor (an empty segment). `keep_lod`: the same surface meshed
        again, its coarse copy still fits."""
        if mesh is None or mesh.GetNumberOfCells() == 0:
            self.remove(segment_id)
            return
        actor = self.actors.get(segment_id)
        if actor is None:
            actor = vtkActor()
            mapper = self._full[segment_id] = _mapper()
            _upload_as_is(mapper, mesh)
            actor.SetMapper(mapper)
            prop = actor.GetProperty()
            prop.SetSpecular(0.15)
            prop.SetSpecularPower(20)
            prop.BackfaceCullingOn()        # closed surfaces wound outward: the inside is never seen
            self.actors[segment_id] = actor
            self.renderer.AddActor(actor)
        self._surface[segment_id] = mesh
        drawn = mesh if drawn is None else drawn
        self._full[segment_id].SetInputData(drawn)
        self._drawn_cells[segment_id] = drawn.GetNumberOfCells()
        if not keep_lod and self._lod.pop(segment_id, None) is not None:
            self._lod_dirty = True

    def set_drawn(self, segment_id: str, drawn) -> None:
        """Draw `drawn` (the segment's surface or part of it) for a segment already shown."""
        mapper = self._full.get(segment_id)
        if mapper is not None and mapper.GetInput() is not drawn:
            mapper.SetInputData(drawn)
            self._drawn_cells[segment_id] = drawn.GetNumberOfCells()

    def drawn_triangles(self) -> int:
        return sum(self._drawn_cells.values())

    def set_lod(self, segment_id: str, mesh) -> None:
        """A coarse copy of a segment's surface, drawn (merged with the others) while the camera moves."""
        if segment_id not in self.actors:
            return
        self._lod[segment_id] = mesh
        self._lod_dirty = True

    def missing_lod(self, min_triangles: int) -> list[str]:
        """Shown segments without a coarse copy, when the shown scene has at least `min_triangles` (else none)."""
        shown = self.visible_ids()
        total = sum(self._drawn_cells.get(sid, 0) for sid in shown)
        return [sid for sid in shown if sid not in self._lod] if total >= min_triangles else []

    def free_lod(self) -> None:
        """Drop the coarse copies (the view is hidden: they are rebuilt when next needed)."""
        self._lod.clear()
        self.lod_actor.GetMapper().RemoveAllInputs()
        self._lod_dirty = True

    def lod_ready(self) -> bool:
        """Every shown surface has a coarse copy."""
        return bool(self._lod) and all(sid in self._lod for sid in self.visible_ids())

    def set_interactive(self, on: bool) -> None:
        """While the camera moves, draw the merged coarse copies (software OpenGL keeps up); the full surfaces
        after. Without coarse copies (a small scene) the full surfaces are drawn all along."""
        on = bool(on) and self.lod_ready()
        if on == self.interactive:
            return
        self.interactive = on
        if on and self._lod_dirty:
            self._rebuild_lod()
        for actor in self.actors.values():
            actor.SetVisibility(actor.GetPickable() and not on)     # pickable = shown (see set_display)
        self.lod_actor.SetVisibility(on)

    def _rebuild_lod(self) -> None:
        from app.render.surfaces import merged_coloured
        parts = []
        for sid, actor in self.actors.items():
            if actor.GetPickable() and sid in self._lod:
                prop = actor.GetProperty()
                parts.append((self._lod[sid], prop.GetColor(), prop.GetOpacity()))
        mapper = self.lod_actor.GetMapper()
        merged = merged_coloured(parts)
        mapper.SetInputData(merged)
        if merged.GetNumberOfPoints():
            _upload_as_is(mapper, merged)
        mapper.SetColorModeToDirectScalars()
        mapper.ScalarVisibilityOn()
        self._lod_dirty = False

    def set_display(self, segment_id: str, color, opacity: float, visible: bool) -> None:
        actor = self.actors.get(segment_id)
        if actor is None:
            return
        actor.GetProperty().SetColor(*color)
        actor.GetProperty().SetOpacity(float(opacity))
        actor.SetVisibility(bool(visible) and not self.interactive)
        actor.SetPickable(bool(visible))
        self._lod_dirty = True

    def remove(self, segment_id: str) -> None:
        actor = self.actors.pop(segment_id, None)
        self._full.pop(segment_id, None)
        self._drawn_cells.pop(segment_id, None)
        self._surface.pop(segment_id, None)
        if self._lod.pop(segment_id, None) is not None:
            self._lod_dirty = True
        if actor is not None:
            self.renderer.RemoveActor(actor)

    def clear(self) -> None:
        for sid in list(self.actors):
            self.remove(sid)
        self._camera_set = False

    def visible_ids(self) -> list[str]:
        """Segments shown in 3D (their actors are hidden while the merged coarse copy is drawn)."""
        return [sid for sid, a in self.actors.items() if a.GetPickable()]

    def mesh(self, segment_id: str):
        """The segment's whole surface (what is exported, stitched, simplified)."""
        return self._surface.get(segment_id)

    def last_render_seconds(self) -> float:
        return float(self.renderer.GetLastRenderTimeInSeconds())

    # ---------------------------------------------------------------- camera
    def reset_camera(self, direction: ViewDirection = ViewDirection.ANTERIOR) -> None:
        """Look at everything from `direction`, patient superior (or anterior) up, like Slicer's view buttons."""
        offset, up = direction.value
        cam = self.renderer.GetActiveCamera()
        cam.SetFocalPoint(0.0, 0.0, 0.0)
        cam.SetPosition(*offset)
        cam.SetViewUp(*up)
        self.renderer.ResetCamera()
        cam.Zoom(1.2)
        self.renderer.ResetCameraClippingRange()
        self._camera_set = True

    def ensure_camera(self) -> None:
        """Frame the scene the first time it has something in it."""
        if not self._camera_set and self.actors:
            self.reset_camera()

    def rotate(self, azimuth: float, elevation: float) -> None:
        cam = self.renderer.GetActiveCamera()
        cam.Azimuth(azimuth)
        cam.Elevation(elevation)
        cam.OrthogonalizeViewUp()
        self.renderer.ResetCameraClippingRange()

    def zoom(self, factor: float) -> None:
        self.renderer.GetActiveCamera().Dolly(factor)
        self.renderer.ResetCameraClippingRange()

    def pan(self, dx_pixels: float, dy_pixels: float, height_pixels: int) -> None:
        """Move the scene with the mouse: (dx, dy) in pixels, y up."""
        cam = self.renderer.GetActiveCamera()
        fp, pos = list(cam.GetFocalPoint()), list(cam.GetPosition())
        dist = cam.GetDistance()
        mm_per_pixel = 2.0 * dist * math.tan(math.radians(cam.GetViewAngle()) / 2) / max(height_pixels, 1)
        up = cam.GetViewUp()
        normal = cam.GetViewPlaneNormal()
        right = (up[1] * normal[2] - up[2] * normal[1], up[2] * normal[0] - up[0] * normal[2],
                 up[0] * normal[1] - up[1] * normal[0])
        move = [-(dx_pixels * r + dy_pixels * u) * mm_per_pixel for r, u in zip(right, up)]
        cam.SetFocalPoint(*[a + m for a, m in zip(fp, move)])
        cam.SetPosition(*[a + m for a, m in zip(pos, move)])
        self.renderer.ResetCameraClippingRange()

    def _sync_marker(self, *_args) -> None:
        """The cube turns with the scene: same view direction and view-up, framed on its own."""
        cam, mcam = self.renderer.GetActiveCamera(), self.marker.GetActiveCamera()
        fp, pos = cam.GetFocalPoint(), cam.GetPosition()
        d = [p - f for p, f in zip(pos, fp)]
        norm = sum(c * c for c in d) ** 0.5 or 1.0
        mcam.SetFocalPoint(0.0, 0.0, 0.0)
        mcam.SetPosition(*[4.0 * c / norm for c in d])
        mcam.SetViewUp(*cam.GetViewUp())
        self.marker.ResetCameraClippingRange()

    # ---------------------------------------------------------------- picking
    def ray(self, x: float, y: float) -> tuple:
        """(origin, direction) in LPS of the camera ray through display pixel (x, y) (origin bottom-left)."""
        r = self.renderer
        ends = []
        for z in (0.0, 1.0):
            r.SetDisplayPoint(float(x), float(y), z)
            r.DisplayToWorld()
            w = r.GetWorldPoint()
            ends.append([c / w[3] for c in w[:3]])
        near, far = ends
        return near, [b - a for a, b in zip(near, far)]

    def segment_at(self, x: int, y: int) -> str | None:
        """The segment whose surface is under display pixel (x, y) (VTK convention: origin bottom-left)."""
        if not self._picker.Pick(x, y, 0, self.renderer):
            return None
        actor = self._picker.GetActor()
        return next((sid for sid, a in self.actors.items() if a is actor), None)


def _mapper() -> vtkPolyDataMapper:
    mapper = vtkPolyDataMapper()
    mapper.ScalarVisibilityOff()
    return mapper


NEAR_ORIGIN_MM = 1e4        # surfaces this close to the origin have their vertex buffers uploaded as they are


def _upload_as_is(mapper, mesh) -> None:
    """Upload the surface's float32 points to OpenGL as they are. VTK's default (AUTO_SHIFT_SCALE) expects data of
    unit size and shifts and scales any surface more than ~32 units across, so every millimetre surface: its points
    are then packed on the CPU (a loop with a shift and scale per value) and VTK keeps the packed copy's capacity.
    Measured on the atlas: re-uploading white matter ~10 ms -> ~1 ms, all 304 surfaces ~200 -> ~170 ms, ~8 MB less
    kept. Within 10 m of the origin float32 is exact to a micrometre, so the shift buys nothing there."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    points = mesh.GetPoints()           # every 64th point is enough to place a surface against 10 m (GetBounds
    sample = vtk_to_numpy(points.GetData())[::64] if points is not None else ()    # read them all: 15 ms for 304)
    if len(sample) and float(np.abs(sample).max()) < NEAR_ORIGIN_MM:
        mapper.SetVBOShiftScaleMethod(0)        # vtkOpenGLVertexBufferObject::DISABLE_SHIFT_SCALE
