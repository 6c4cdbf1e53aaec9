"""Segment groups (a path such as `Brain/Left hemisphere/Cortex`), stored as a segment tag.

3D Slicer has no hierarchy of segments, but it keeps every segment tag it does not know, verbatim, through load
and save (vtkSegment::Tags, a std::map written sorted by key). The group therefore lives in the tag
`segedit.Group` and the file stays a plain Slicer segmentation. Groups can also be read from an OpenAnatomy
`atlasStructure.json` hierarchy and from FreeSurfer colour-table ranges.

Qt-free. Tag changes go through `Segmentation.update_segments` (one undo step per call)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

GROUP_TAG = "segedit.Group"
COMMENT_TAG = "segedit.Comment"
SEP = "/"


def normalise(path: str) -> str:
    """`' Brain // Left '` -> `'Brain/Left'`; '' means no group. `|` (Slicer's tag separator) becomes `/`."""
    parts = [p.strip() for p in re.split(r"[/|]", path or "")]
    return SEP.join(p for p in parts if p)


def group_of(segment) -> str:
    return segment.tags.get(GROUP_TAG, "")


def with_tag(tags: dict, key: str, value: str | None) -> dict:
    """A copy of `tags` with `key` set (None or '' removes it). Values may not hold `|` (Slicer's separator).
    A new key is placed as Slicer orders tags (sorted by key) when the existing tags are sorted."""
    out = dict(tags)
    if not value:
        out.pop(key, None)
        return out
    value = str(value).replace("|", "/").replace("\n", " ")
    was_sorted = list(out) == sorted(out)
    out[key] = value
    return dict(sorted(out.items())) if was_sorted else out


def set_tag(segmentation, ids, key: str, value: str | None, description: str = "Change segment") -> None:
    """Set one tag on several segments, one undo step."""
    ids = [i for i in ids if segmentation.segment(i).tags.get(key, "") != (value or "")]
    if not ids:
        return
    with segmentation.operation(description):
        for sid in ids:
            segmentation.update_segment(sid, tags=with_tag(segmentation.segment(sid).tags, key, value))


def set_group(segmentation, ids, path: str) -> None:
    set_tag(segmentation, ids, GROUP_TAG, normalise(path), "Move to group")


def set_comment(segmentation, ids, text: str) -> None:
    set_tag(segmentation, ids, COMMENT_TAG, (text or "").strip(), "Comment")


def in_group(path: str, group: str) -> bool:
    """True when `path` is `group` or inside it ('' is the root: everything)."""
    return not group or path == group or path.startswith(group + SEP)


def ids_in_group(segmentation, group: str) -> list[str]:
    """Segments of a group and its subgroups, in display order."""
    return [s.id for s in segmentation.segments if in_group(group_of(s), group)]


# ---------------------------------------------------------------- the tree
@dataclass
class GroupNode:
    """A group: its subgroups (in order of first appearance) and its own segments. `count` includes subgroups."""

    name: str
    path: str
    children: dict = field(default_factory=dict)
    segment_ids: list = field(default_factory=list)
    count: int = 0


def build_tree(segments, keep=None) -> GroupNode:
    """The group tree of `segments` (display order kept); `keep(segment)` filters segments (empty groups are
    dropped). Linear in the number of segments."""
    root = GroupNode("", "")
    nodes = {"": root}
    for s in segments:
        if keep is not None and not keep(s):
            continue
        path = s.tags.get(GROUP_TAG, "")
        node = nodes.get(path)
        if node is None:
            node, so_far = root, ""
            for part in path.split(SEP):
                so_far = f"{so_far}{SEP}{part}" if so_far else part
                nxt = node.children.get(part)
                if nxt is None:
                    nxt = node.children[part] = nodes[so_far] = GroupNode(part, so_far)
                node = nxt
        node.segment_ids.append(s.id)
    _count(root)
    return root


def _count(node: GroupNode) -> int:
    node.count = len(node.segment_ids) + sum(_count(c) for c in node.children.values())
    return node.count


def group_paths(segmentation) -> list[str]:
    """Every group path in use, with its ancestors, sorted."""
    out = set()
    for s in segmentation.segments:
        parts = group_of(s).split(SEP) if group_of(s) else []
        for n in range(1, len(parts) + 1):
            out.add(SEP.join(parts[:n]))
    return sorted(out)


# ---------------------------------------------------------------- groups from other sources
def _name_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def groups_from_atlas_structure(path) -> tuple[dict[int, str], dict[str, str]]:
    """Read an OpenAnatomy `atlasStructure.json` (a JSON list of objects with `@id` and `@type`; `group` objects
    name their `member`s by `@id`, `structure` objects carry `annotation.name` and `sourceSelector.dataKey`, the
    label value). Returns ({label value: group path}, {structure name key: group path}). Raises ValueError with
    one sentence when the file is not such a list."""
    p = Path(path)
    try:
        items = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p.name} could not be read as JSON ({exc})") from None
    if isinstance(items, dict):
        items = items.get("@graph", items.get("items", []))
    if not isinstance(items, list):
        raise ValueError(f"{p.name} is not an atlas structure list (a JSON list of objects)")
    by_id = {it["@id"]: it for it in items if isinstance(it, dict) and isinstance(it.get("@id"), str)}

    def kind(it) -> str:
        t = it.get("@type", "")
        return (t[0] if isinstance(t, list) and t else t if isinstance(t, str) else "").lower()

    def name(it) -> str:
        ann = it.get("annotation") or {}
        return str(ann.get("name") or it.get("name") or it.get("@id", "")).strip()

    parent: dict[str, str] = {}
    for gid, it in by_id.items():
        if kind(it) == "group":
            for member in it.get("member") or []:
                if isinstance(member, str) and member in by_id:
                    parent.setdefault(member, gid)

    def path_of(sid: str) -> str:
        parts, seen, cur = [], set(), parent.get(sid)
        while cur is not None and cur not in seen:
            seen.add(cur)
            parts.append(name(by_id[cur]))
            cur = parent.get(cur)
        return normalise(SEP.join(reversed(parts)))

    by_label, by_name = {}, {}
    for sid, it in by_id.items():
        if kind(it) != "structure":
            continue
        g = path_of(sid)
        if not g:
            continue
        sel = it.get("sourceSelector")
        for s in (sel if isinstance(sel, list) else [sel]):
            if isinstance(s, dict) and isinstance(s.get("dataKey"), int):
                by_label.setdefault(s["dataKey"], g)
        by_name.setdefault(_name_key(name(it)), g)
    return by_label, by_name


def apply_atlas_structure(segmentation, path) -> int:
    """Put segments into the groups of an atlasStructure.json (matched by name first, then label value). One undo
    step; returns the number of segments given a group."""
    by_label, by_name = groups_from_atlas_structure(path)
    plan = {}
    for s in segmentation.segments:
        g = by_name.get(_name_key(s.name)) or by_label.get(s.label)
        if g and g != group_of(s):
            plan[s.id] = g
    _apply_plan(segmentation, plan, "Groups from atlas structure")
    return len(plan)


# FreeSurferColorLUT.txt conventions: cortical parcellations and white matter per hemisphere by thousands.
FREESURFER_RANGES = (
    (1000, 1999, "Cortex/Left hemisphere"), (2000, 2999, "Cortex/Right hemisphere"),
    (3000, 3999, "White matter/Left hemisphere"), (4000, 4999, "White matter/Right hemisphere"),
    (1100, 1199, "Cortex (a2005s)/Left hemisphere"), (2100, 2199, "Cortex (a2005s)/Right hemisphere"),
    (11100, 11199, "Cortex (a2009s)/Left hemisphere"), (12100, 12199, "Cortex (a2009s)/Right hemisphere"),
    (13100, 13199, "White matter (a2009s)/Left hemisphere"), (14100, 14199, "White matter (a2009s)/Right hemisphere"),
)


def freesurfer_group(label: int, name: str = "") -> str:
    """The conventional FreeSurfer group of a label value ('' when none): the narrowest range holding it; the
    subcortical values below 1000 are grouped by the `Left-`/`Right-` prefix of their name."""
    best = ""
    width = None
    for lo, hi, g in FREESURFER_RANGES:
        if lo <= label <= hi and (width is None or hi - lo < width):
            best, width = g, hi - lo
    if best:
        return best
    if 0 < label < 1000:
        low = name.casefold()
        side = "Left hemisphere" if low.startswith(("left-", "left_", "lh-", "lh_")) else \
            "Right hemisphere" if low.startswith(("right-", "right_", "rh-", "rh_")) else ""
        return f"Subcortical/{side}" if side else "Subcortical"
    return ""


def apply_freesurfer_ranges(segmentation) -> int:
    """Group every segment by FreeSurfer's label ranges (one undo step); returns how many were given a group."""
    plan = {}
    for s in segmentation.segments:
        g = freesurfer_group(s.label, s.name)
        if g and g != group_of(s):
            plan[s.id] = g
    _apply_plan(segmentation, plan, "Groups from FreeSurfer ranges")
    return len(plan)


def _apply_plan(segmentation, plan: dict, description: str) -> None:
    if not plan:
        return
    with segmentation.operation(description):
        for sid, g in plan.items():
            segmentation.update_segment(sid, tags=with_tag(segmentation.segment(sid).tags, GROUP_TAG, g))


def rename_group(segmentation, old: str, new: str) -> int:
    """Rename (or move) a group: every segment in `old` or below it gets its path prefix replaced by `new`
    (`new` empty: those segments leave their groups, keeping the sub-paths). One undo step; returns how many."""
    old, new = normalise(old), normalise(new)
    if not old or old == new:
        return 0
    plan = {}
    for s in segmentation.segments:
        g = group_of(s)
        if in_group(g, old):
            plan[s.id] = normalise(new + g[len(old):])
    with segmentation.operation("Rename group"):
        for sid, g in plan.items():
            segmentation.update_segment(sid, tags=with_tag(segmentation.segment(sid).tags, GROUP_TAG, g))
    return len(plan)
