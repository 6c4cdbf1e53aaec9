"""Meshes per segment tagged with versions: an edit bumps a segment's version; a mesh built for an older version
is dropped when it arrives (it was computed while the user kept editing). Plain Python: meshes are opaque here."""
from __future__ import annotations


class SurfaceCache:
    """One surface per segment, each tagged with the segment's version when it was meshed."""

    def __init__(self) -> None:
        self._version: dict[str, int] = {}
        self._surfaces: dict[str, tuple[int, object]] = {}
        self._keys: dict[str, object] = {}   # the lattice cell of each vertex of a stored mesh (stitched updates)
        self.meshed: list[str] = []          # every segment id whose mesh was stored, in order (tests, stats)

    def version(self, segment_id: str) -> int:
        return self._version.get(segment_id, 0)

    def versions(self, segment_ids) -> dict[str, int]:
        return {sid: self.version(sid) for sid in segment_ids}

    def invalidate(self, segment_ids) -> None:
        for sid in segment_ids:
            self._version[sid] = self.version(sid) + 1

    def clear(self) -> None:
        for sid in list(self._surfaces):
            self._version[sid] = self.version(sid) + 1
        self._surfaces.clear()
        self._keys.clear()

    def forget(self, segment_ids) -> None:
        for sid in segment_ids:
            self._surfaces.pop(sid, None)
            self._keys.pop(sid, None)

    def keys(self, segment_id: str):
        """The cells of the vertices of the stored mesh (an int16 N x 3 array), or None when not known."""
        return self._keys.get(segment_id)

    def is_current(self, segment_id: str) -> bool:
        got = self._surfaces.get(segment_id)
        return got is not None and got[0] == self.version(segment_id)

    def get(self, segment_id: str) -> object:
        got = self._surfaces.get(segment_id)
        return got[1] if got is not None else None

    def store(self, results: dict, versions: dict, keys: dict | None = None) -> list[str]:
        """Keep the results still current (with the cells of their vertices when given); returns their ids (stale
        ones are dropped)."""
        kept = []
        for sid, mesh in results.items():
            if versions.get(sid, 0) == self.version(sid):
                self._surfaces[sid] = (versions.get(sid, 0), mesh)
                got = (keys or {}).get(sid)
                self._keys.pop(sid, None) if got is None else self._keys.__setitem__(sid, got)
                self.meshed.append(sid)
                kept.append(sid)
        return kept
