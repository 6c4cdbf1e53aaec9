"""Names to pick from: Slicer terminology entries, label-table entries, colour tables; fuzzy search over them.

Slicer stores a segment's terminology in its `TerminologyEntry` tag, seven `~`-separated parts (context name,
category, type, type modifier, anatomic context name, region, region modifier), each code as
`scheme^value^meaning` (vtkSlicerTerminologiesModuleLogic::SerializeTerminologyEntry). `serialize()` writes exactly
that; `parse()` reads it back. The shipped list (`app/resources/terminology.json`) is derived from Slicer's
`SegmentationCategoryTypeModifier-SlicerGeneralAnatomy.json` (see the file's `source` field).

Qt-free; fuzzy matching is rapidfuzz's."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


TERMINOLOGY_TAG = "TerminologyEntry"
RESOURCE_NAME = "terminology.json"

Code = tuple  # (coding scheme designator, code value, code meaning)
_EMPTY: Code = ("", "", "")


def resource_file(name: str) -> Path:
    """Where a shipped resource lives (package data of `app.resources`, so a wheel carries it)."""
    from app.resources import resource_path

    return Path(resource_path(name))


@dataclass(frozen=True)
class Terminology:
    """One Slicer terminology choice: context, category, type, modifier (anatomic region left empty)."""

    context: str
    category: Code
    type: Code
    modifier: Code = _EMPTY
    anatomic_context: str = "Anatomic codes - DICOM master list"
    region: Code = _EMPTY
    region_modifier: Code = _EMPTY

    def serialize(self) -> str:
        """The `TerminologyEntry` tag value, byte for byte as Slicer writes it."""
        code = "^".join
        return "~".join((self.context, code(self.category), code(self.type), code(self.modifier),
                         self.anatomic_context, code(self.region), code(self.region_modifier)))

    @property
    def meaning(self) -> str:
        """Human-readable: type meaning with its modifier (e.g. "Amygdala, Left")."""
        t = self.type[2]
        return f"{t}, {self.modifier[2]}" if self.modifier[2] else t


def parse(tag: str) -> Terminology | None:
    """Read a `TerminologyEntry` tag value; None when it is not Slicer's seven-part form."""
    parts = tag.split("~")
    if len(parts) != 7:
        return None

    def code(p: str) -> Code:
        c = p.split("^")
        return tuple(c) if len(c) == 3 else None

    codes = [code(parts[i]) for i in (1, 2, 3, 5, 6)]
    if any(c is None for c in codes):
        return None
    return Terminology(parts[0], codes[0], codes[1], codes[2], parts[4], codes[3], codes[4])


@dataclass(frozen=True)
class Candidate:
    """Something the name picker offers: a name with a colour, maybe a label value and a terminology."""

    name: str
    color: tuple[float, float, float] | None      # None: the automatic colour (a name typed by the user)
    source: str                            # "label table", "colour table <file>", "terminology"
    label: int | None = None
    terminology: Terminology | None = None


@lru_cache(maxsize=4)
def load_terminology(path: str | None = None) -> tuple[Candidate, ...]:
    """The shipped Slicer terminology list as candidates (cached)."""
    data = json.loads(Path(path or resource_file(RESOURCE_NAME)).read_text(encoding="utf-8"))
    cats = [tuple(c) for c in data["categories"]]
    out = []
    for e in data["entries"]:
        term = Terminology(data["context"], cats[e["category"]], tuple(e["type"]),
                           tuple(e.get("modifier") or _EMPTY), data["anatomic_context"])
        out.append(Candidate(e["label"], tuple(c / 255.0 for c in e["rgb"]), "terminology", None, term))
    return tuple(out)


def table_candidates(table: dict, source: str, skip_labels=()) -> list[Candidate]:
    """Entries of a label table ({value: LabelEntry-like with .name and .color}) not in `skip_labels`."""
    skip = set(skip_labels)
    return [Candidate(e.name, tuple(e.color), source, int(v)) for v, e in sorted(table.items())
            if v != 0 and v not in skip and e.name]      # 0 is background ("Clear")


def free_table_entries(segmentation) -> list[Candidate]:
    """The document's label-table entries that have no segment yet (empty ITK-SNAP labels, atlas labels)."""
    table = getattr(segmentation, "label_table", None) or {}
    used = {s.label for s in segmentation.segments}
    names = {s.name for s in segmentation.segments}
    return [c for c in table_candidates(table, "label table", used) if c.name not in names]


def _key(text: str) -> str:
    from rapidfuzz import utils      # imported when a search runs: reading a TerminologyEntry tag needs none of it

    return utils.default_process(text.replace("_", " "))


def search(query: str, candidates, limit: int = 50) -> list[Candidate]:
    """Candidates best matching `query` (typos allowed: "hipo" finds "hippocampus"), best first. An empty query
    returns them in their given order."""
    from rapidfuzz import fuzz, process

    cands = list(candidates)
    q = _key(query)
    if not q:
        return cands[:limit]
    keys = [_key(c.name) for c in cands]
    # WRatio mixes whole-string and partial (substring) similarity; a name containing the query exactly as a
    # substring or word prefix ranks first, then by score, then shorter names (the more specific entry)
    hits = process.extract(q, keys, scorer=fuzz.WRatio, limit=max(limit * 3, limit), score_cutoff=55)

    def rank(hit):
        _, score, i = hit
        k = keys[i]
        exact = 0 if q in k else 1
        return (exact, -round(score), len(k), i)

    return [cands[i] for _, _, i in sorted(hits, key=rank)[:limit]]


def _tags_for(tags: dict, cand: Candidate) -> dict:
    from .groups import with_tag

    return with_tag(tags, TERMINOLOGY_TAG, cand.terminology.serialize()) if cand.terminology else dict(tags)


def add_from_candidate(segmentation, cand: Candidate, position: int | None = None):
    """Add a segment named and coloured as `cand`, with its terminology tag, and its label value when that value
    is free in the layer the segment joins. One undo step; returns the new Segment."""
    label = None
    if cand.label is not None and cand.label > 0 and len(segmentation):
        layer = segmentation.segment(segmentation.segment_ids[0]).layer
        label = None if segmentation.segment_at(layer, cand.label) is not None else cand.label
    return segmentation.add_segment(cand.name, cand.color, label=label, tags=_tags_for({}, cand), position=position)


def rename_from_candidate(segmentation, segment_id: str, cand: Candidate) -> None:
    """Give an existing segment `cand`'s name, colour (unless it has none) and terminology tag (its label value
    stays). One undo step."""
    s = segmentation.segment(segment_id)
    colour = {} if cand.color is None else {"color": cand.color}
    segmentation.update_segment(segment_id, name=cand.name, tags=_tags_for(s.tags, cand), **colour)
