"""Groups, review status, comments and terminology: Qt-free model functions, checked against brute force, the raw
headers Slicer wrote (read with pynrrd) and slicerio's reader/writer."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import nrrd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import io
from app.model import groups as gr
from app.model import review
from app.model import terminology as tm
from app.model.geometry import Geometry
from app.model.segmentation import Segmentation
from tests.conftest import ROOT, shared_file

SLICERIO_FILES = ["Segmentation.seg.nrrd", "SegmentationOverlapping.seg.nrrd"]


def _raw_tags(path) -> dict[int, dict[str, str]]:
    """{segment index: {tag: value}} straight from the NRRD header (pynrrd), split as Slicer's reader does."""
    header = nrrd.read_header(str(path))
    out = {}
    for key, value in header.items():
        if key.startswith("Segment") and key.endswith("_Tags"):
            n = int(key[len("Segment"):-len("_Tags")])
            out[n] = dict(item.split(":", 1) for item in value.split("|") if ":" in item)
    return out


def _empty_seg(names, shape=(8, 8, 8)):
    seg = Segmentation(Geometry(shape))
    ids = [seg.add_segment(n).id for n in names]
    seg.history.clear()
    return seg, ids


# ---------------------------------------------------------------- terminology
@pytest.mark.parametrize("name", SLICERIO_FILES)
def test_every_slicer_terminology_tag_parses_and_serialises_back_byte_for_byte(name):
    tags = _raw_tags(shared_file("slicerio", name))
    entries = [t["TerminologyEntry"] for t in tags.values() if "TerminologyEntry" in t]
    assert len(entries) == len(tags) >= 7
    for raw in entries:
        term = tm.parse(raw)
        assert term is not None and term.serialize() == raw


def test_the_shipped_list_writes_the_tag_slicer_wrote_for_the_same_structure():
    raw = _raw_tags(shared_file("slicerio", "Segmentation.seg.nrrd"))
    written = {t["TerminologyEntry"] for t in raw.values()}
    shipped = {c.terminology.serialize(): c for c in tm.load_terminology()}
    common = written & set(shipped)
    # ribs, cervical/thoracic/lumbar spine... were chosen in Slicer from this very list
    assert len(common) >= 3, written
    rib = next(c for s, c in shipped.items() if "^113197003^Rib~" in s)
    assert rib.name == "ribs" and rib.terminology.category == ("SCT", "123037004", "Anatomical Structure")


def test_resource_file_is_read_through_one_function(monkeypatch, tmp_path):
    data = json.loads(tm.resource_file("terminology.json").read_text())
    assert "SlicerGeneralAnatomy" in data["source"] and len(data["entries"]) > 200
    small = dict(data, entries=data["entries"][:2])
    (tmp_path / "terminology.json").write_text(json.dumps(small))
    monkeypatch.setattr(tm, "resource_file", lambda name: tmp_path / name)
    tm.load_terminology.cache_clear()
    try:
        assert len(tm.load_terminology()) == 2
    finally:
        tm.load_terminology.cache_clear()


def test_fuzzy_search_finds_hippocampus_from_hipo_among_the_spl_table():
    from app.io.color_tables import read_table

    table = read_table(shared_file("spl-brain-atlas", "hncma-atlas-lut_2014-11.ctbl"))
    cands = tm.table_candidates(table, "SPL") + list(tm.load_terminology())
    names = [c.name for c in tm.search("hipo", cands, 5)]
    assert names[:2] == ["left_hippocampus", "right_hippocampus"]
    assert [c.name for c in tm.search("", cands, 3)] == [c.name for c in cands[:3]]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("abcdefgh _", min_size=1, max_size=12), min_size=1, max_size=30), st.text("abc", max_size=3))
def test_search_ranks_substring_matches_first(names, query):
    cands = [tm.Candidate(n, (0, 0, 0), "t") for n in names]
    hits = tm.search(query, cands, limit=len(cands))
    key = lambda s: " ".join(s.replace("_", " ").split()).lower()       # noqa: E731
    q = key(query)
    if not q:
        return
    subs = [c for c in cands if q in key(c.name)]
    flags = [q in key(c.name) for c in hits]
    assert flags == sorted(flags, reverse=True)      # every substring match before every fuzzy one
    assert {id(c) for c in subs} <= {id(c) for c in hits}


def test_add_and_rename_from_a_candidate_set_name_colour_free_label_and_terminology():
    seg, ids = _empty_seg(["a", "b"])
    term = next(c for c in tm.load_terminology() if c.name == "left amygdaloid complex")
    table = tm.Candidate("left_hippocampus", (0.8, 0.8, 0.1), "label table", 17)
    s = tm.add_from_candidate(seg, table)
    assert (s.name, s.label, s.color) == ("left_hippocampus", 17, (0.8, 0.8, 0.1))
    taken = tm.add_from_candidate(seg, tm.Candidate("x", (0, 0, 0), "t", 2))      # 2 is b's: the smallest free value
    assert taken.label == 3
    tm.rename_from_candidate(seg, ids[0], term)
    a = seg.segment(ids[0])
    assert a.name == "left amygdaloid complex" and a.tags["TerminologyEntry"] == term.terminology.serialize()
    assert a.tags["TerminologyEntry"].split("~")[3] == "SCT^7771000^Left"
    assert seg.history.undo_name == "Change segment"
    seg.undo()
    assert seg.segment(ids[0]).name == "a" and "TerminologyEntry" not in seg.segment(ids[0]).tags


# ---------------------------------------------------------------- groups
PATHS = st.lists(st.sampled_from(["", "A", "A/B", "A/B/C", "D", "D/E", "A/F"]), min_size=0, max_size=40)


@settings(max_examples=50, deadline=None)
@given(PATHS)
def test_tree_counts_equal_a_brute_force_count(paths):
    seg, ids = _empty_seg([f"s{n}" for n in range(len(paths))])
    for sid, p in zip(ids, paths):
        if p:
            seg.segment(sid).tags[gr.GROUP_TAG] = p
    root = gr.build_tree(seg.segments)

    def walk(node):
        yield node
        for c in node.children.values():
            yield from walk(c)

    for node in walk(root):
        brute = [sid for sid, p in zip(ids, paths) if not node.path or p == node.path or p.startswith(node.path + "/")]
        assert node.count == len(brute)
        assert gr.ids_in_group(seg, node.path) == brute
        assert node.segment_ids == [sid for sid, p in zip(ids, paths) if p == node.path]


def test_group_tags_are_one_undo_step_and_normalised():
    seg, ids = _empty_seg(["a", "b", "c"])
    gr.set_group(seg, ids[:2], " Brain // Left hemisphere/ Cortex |x")
    assert [gr.group_of(s) for s in seg.segments] == ["Brain/Left hemisphere/Cortex/x"] * 2 + [""]
    assert len(seg.history.undo_stack) == 1 and seg.history.undo_name == "Move to group"
    seg.undo()
    assert all(gr.GROUP_TAG not in s.tags for s in seg.segments)
    assert gr.with_tag({"b": "1", "d": "2"}, "c", "3") == {"b": "1", "c": "3", "d": "2"}   # sorted, as Slicer
    assert list(gr.with_tag({"z": "1", "a": "2"}, "m", "3")) == ["z", "a", "m"]            # unsorted: kept


def test_freesurfer_ranges():
    assert gr.freesurfer_group(1016, "ctx-lh-parahippocampal") == "Cortex/Left hemisphere"
    assert gr.freesurfer_group(2035, "") == "Cortex/Right hemisphere"
    assert gr.freesurfer_group(1105, "") == "Cortex (a2005s)/Left hemisphere"
    assert gr.freesurfer_group(4010, "") == "White matter/Right hemisphere"
    assert gr.freesurfer_group(17, "Left-Hippocampus") == "Subcortical/Left hemisphere"
    assert gr.freesurfer_group(16, "Brain-Stem") == "Subcortical"
    assert gr.freesurfer_group(20000, "x") == ""


def test_groups_from_an_openanatomy_atlas_structure(tmp_path):
    items = [
        {"@type": "header", "name": "test"},
        {"@id": "#root", "@type": "Group", "annotation": {"name": "Brain"}, "member": ["#lh", "#stem"]},
        {"@id": "#lh", "@type": "group", "annotation": {"name": "Left hemisphere"}, "member": ["#hip", "#amy"]},
        {"@id": "#hip", "@type": "structure", "annotation": {"name": "left hippocampus"},
         "sourceSelector": {"dataKey": 17}},
        {"@id": "#amy", "@type": ["Structure"], "annotation": {"name": "left amygdala"},
         "sourceSelector": [{"dataKey": 18, "dataSource": "#d"}]},
        {"@id": "#stem", "@type": "structure", "annotation": {"name": "pons"}, "sourceSelector": {"dataKey": 35}},
    ]
    path = tmp_path / "atlasStructure.json"
    path.write_text(json.dumps(items))
    seg, ids = _empty_seg(["left_hippocampus", "other", "pons"])
    seg.history.clear()
    by_label, by_name = gr.groups_from_atlas_structure(path)
    assert by_label == {17: "Brain/Left hemisphere", 18: "Brain/Left hemisphere", 35: "Brain"}
    assert gr.apply_atlas_structure(seg, path) == 2
    assert [gr.group_of(s) for s in seg.segments] == ["Brain/Left hemisphere", "", "Brain"]
    assert len(seg.history.undo_stack) == 1
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        gr.groups_from_atlas_structure(tmp_path / "bad.json")


# ---------------------------------------------------------------- review status
def test_status_values_counts_next_and_slicer_not_started_rule():
    seg, ids = _empty_seg([f"s{n}" for n in range(6)])
    review.set_status(seg, [ids[1], ids[4]], "flagged")
    review.set_status(seg, [ids[2]], "completed")
    review.set_status(seg, [ids[0]], "notstarted")         # Slicer adds no tag for "not started"
    assert "Segmentation.Status" not in seg.segment(ids[0]).tags
    assert seg.segment(ids[1]).tags["Segmentation.Status"] == "flagged"
    brute = Counter(s.tags.get("Segmentation.Status", "notstarted") for s in seg.segments)
    assert review.counts(seg) == Counter({"notstarted": 3, "inprogress": 0, "completed": 1, "flagged": 2}) == \
        brute + Counter({"inprogress": 0})
    assert review.next_segment(seg, ids[1], {"flagged"}) == ids[4]
    assert review.next_segment(seg, ids[4], {"flagged"}) == ids[1]            # wraps round
    assert review.next_segment(seg, ids[2], {"notstarted", "inprogress"}) == ids[3]
    with pytest.raises(ValueError):
        review.set_status(seg, ids, "checked")


def test_edits_mark_in_progress_once_without_an_undo_step():
    import numpy as np

    from app.model.edits import EditMode, apply_mask

    seg, ids = _empty_seg(["a", "b"])
    review.set_status(seg, [ids[1]], "completed")
    n_steps = len(seg.history.undo_stack)
    seen = []
    seg.events.voxels_changed.connect(lambda ch: seen.append(review.mark_in_progress(
        seg, set().union(*(c.segment_ids for c in ch)))))
    box = (slice(0, 2), slice(0, 2), slice(0, 2))
    for _ in range(3):
        apply_mask(seg, ids[0], np.ones((2, 2, 2), bool), box, EditMode.ADD)
        box = tuple(slice(s.start + 2, s.stop + 2) for s in box)
    apply_mask(seg, ids[1], np.ones((2, 2, 2), bool), box, EditMode.ADD)
    assert seen[0] == [ids[0]] and seen[1:] == [[], [], []]                  # once, not per dab
    assert seg.segment(ids[0]).tags["Segmentation.Status"] == "inprogress"
    assert seg.segment(ids[1]).tags["Segmentation.Status"] == "completed"    # only "not started" changes
    assert len(seg.history.undo_stack) == n_steps + 4                       # the four edits, nothing else


# ---------------------------------------------------------------- round trips
def _organise(seg):
    sids = seg.segment_ids
    gr.set_group(seg, sids[:3], "Skeleton/Spine")
    gr.set_group(seg, sids[3:5], "Skeleton")
    review.set_status(seg, sids[:2], "completed")
    review.set_status(seg, [sids[2]], "flagged")
    gr.set_comment(seg, [sids[2]], "leaks into the disc: check C5")
    term = next(c for c in tm.load_terminology() if c.name == "left amygdaloid complex")
    tm.rename_from_candidate(seg, sids[-1], term)
    return {s.id: dict(s.tags) for s in seg.segments}


@pytest.mark.parametrize("name", SLICERIO_FILES)
def test_round_trip_through_our_writer_and_slicerio_keeps_every_tag(tmp_path, name):
    slicerio = pytest.importorskip("slicerio")
    original = shared_file("slicerio", name)
    raw_before = _raw_tags(original)
    seg = io.open_segmentation(original)
    expected = _organise(seg)
    out = tmp_path / "ours.seg.nrrd"
    io.save_segmentation(seg, out)
    raw_after = _raw_tags(out)
    for n, tags in raw_before.items():            # every tag Slicer wrote is still there, unchanged...
        changed = {"Segmentation.Status"} if n < 3 else set()
        changed |= {"TerminologyEntry"} if n == len(raw_before) - 1 else set()
        assert {k: v for k, v in tags.items() if k not in changed} == \
            {k: v for k, v in raw_after[n].items() if k in tags and k not in changed}
    assert raw_after[2][gr.COMMENT_TAG] == "leaks into the disc: check C5"
    assert raw_after[0][gr.GROUP_TAG] == "Skeleton/Spine" and raw_after[0]["Segmentation.Status"] == "completed"
    reopened = io.open_segmentation(out)
    assert {s.id: s.tags for s in reopened.segments} == expected
    # slicerio read -> write leaves them alone
    sio = slicerio.read_segmentation(str(out))
    again = tmp_path / "slicerio.seg.nrrd"
    slicerio.write_segmentation(str(again), sio)
    via_slicerio = io.open_segmentation(again)
    for s in via_slicerio.segments:
        for key in (gr.GROUP_TAG, gr.COMMENT_TAG, "Segmentation.Status", "TerminologyEntry"):
            assert s.tags.get(key) == expected[s.id].get(key), (s.name, key)


def test_info_json_reports_group_status_comment_and_terminology(tmp_path):
    seg = io.open_segmentation(shared_file("slicerio", "Segmentation.seg.nrrd"))
    expected = _organise(seg)
    out = tmp_path / "o.seg.nrrd"
    io.save_segmentation(seg, out)
    res = subprocess.run([sys.executable, "-m", "app", "info", str(out), "--json"], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    facts = {s["id"]: s for s in json.loads(res.stdout)["segments"]}
    for sid, tags in expected.items():
        f = facts[sid]
        assert f["group"] == tags.get(gr.GROUP_TAG, "")
        assert f["status"] == tags.get("Segmentation.Status", "notstarted")
        assert f["comment"] == tags.get(gr.COMMENT_TAG, "")
        assert f["terminology"]["tag"] == tags["TerminologyEntry"]
        assert f["terminology"]["type"] == tags["TerminologyEntry"].split("~")[2].split("^")[2]
    text = subprocess.run([sys.executable, "-m", "app", "info", str(out)], capture_output=True, text=True,
                          cwd=ROOT, check=True).stdout
    assert "Skeleton/Spine" in text and "flagged" in text


def test_empty_itksnap_labels_stay_in_the_document_and_can_be_added():
    import nibabel as nib
    import numpy as np

    image = shared_file("itksnap", "MRIcrop-seg.nii.gz")
    label_file = shared_file("itksnap", "MRIcrop-seg.label")
    lines = [ln.split('"') for ln in label_file.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    table = {int(ln[0].split()[0]): ln[1] for ln in lines}
    present = set(np.unique(np.asarray(nib.load(str(image)).dataobj))) - {0}
    seg = io.open_segmentation(image, labels=label_file)
    free = tm.free_table_entries(seg)
    assert {c.label: c.name for c in free} == {v: n for v, n in table.items() if v and v not in present}
    assert {c.label for c in free} == {9, 10, 11}
    s = tm.add_from_candidate(seg, next(c for c in free if c.name == "PC"))
    assert (s.label, s.name) == (10, "PC") and np.allclose(s.color, (128 / 255, 64 / 255, 100 / 255))
    assert {c.label for c in tm.free_table_entries(seg)} == {9, 11}


def test_rename_a_group_moves_its_subgroups_and_nothing_else():
    seg, ids = _empty_seg(["a", "b", "c", "d"])
    for sid, p in zip(ids, ["Brain/Left", "Brain/Left/Cortex", "Brain/Leftover", "Body"]):
        gr.set_group(seg, [sid], p)
    n_steps = len(seg.history.undo_stack)
    assert gr.rename_group(seg, "Brain/Left", "Brain/Left hemisphere") == 2
    assert [gr.group_of(s) for s in seg.segments] == \
        ["Brain/Left hemisphere", "Brain/Left hemisphere/Cortex", "Brain/Leftover", "Body"]
    assert len(seg.history.undo_stack) == n_steps + 1
    seg.undo()
    assert [gr.group_of(s) for s in seg.segments] == ["Brain/Left", "Brain/Left/Cortex", "Brain/Leftover", "Body"]
