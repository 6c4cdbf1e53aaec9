"""Issue 11: files from other tools read faithfully; bad ones refused in one sentence. Every file is made here
(pynrrd, nibabel, a few bytes of numpy) and every expectation is computed independently of segedit."""
from __future__ import annotations

import gzip
import warnings

import nibabel as nib
import nrrd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import io
from app.model.geometry import Geometry
from app.model.segment import Segment
from app.model.segmentation import Segmentation
from tests.io import malformed_corpus as corpus
from tests.io.conftest import custom_keys


def _labels(shape=(6, 5, 4), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) > 0.6).astype(np.uint8) * rng.integers(1, 4, shape).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ item 0
@pytest.mark.parametrize("name", ["a\x00b.raw", "x" * 5000, "a/" * 3000 + "b", "."])
def test_detached_data_file_names_the_os_cannot_look_up_are_one_clear_error(tmp_path, name):
    p = tmp_path / "d.nhdr"
    p.write_bytes(corpus.nrrd_bytes(enc="raw", payload=b"", extra=f"data file: {name}\n"))
    for call in (io.open_segmentation, io.read_volume):
        with pytest.raises(io.FileFormatError, match=r"^d\.nhdr: its data file") as exc:
            call(p)
        assert "\n" not in str(exc.value)


# ------------------------------------------------------------------------------------------------ item 4
def _nifti(tmp_path, name, affine=np.eye(4), qcode=1, scode=1, patch=None, ext_bytes=0):
    arr = _labels()
    img = nib.Nifti1Image(arr, affine)
    img.header.set_qform(affine, code=qcode)
    img.header.set_sform(affine, code=scode)
    if ext_bytes:
        img.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"c" * ext_bytes))
    p = tmp_path / name
    nib.save(img, p)
    if patch:                                          # after saving: nib.save would rebuild the forms
        hdr = nib.load(p).header.copy()
        for key, value in patch.items():
            hdr[key] = value
        with open(p, "r+b") as fh:
            hdr.write_to(fh)
    return p, arr


@pytest.mark.parametrize("patch, which", [
    ({"srow_x": [1, 0, 0, np.nan]}, "sform"),            # the translation alone
    ({"srow_y": [0, 1, 0, np.inf]}, "sform"),
    ({"qoffset_z": np.inf}, "qform"),
    ({"qoffset_x": np.nan}, "qform")])
def test_nifti_nan_or_inf_in_the_chosen_form_is_refused(tmp_path, patch, which):
    scode = 1 if which == "sform" else 0
    p, _ = _nifti(tmp_path, "f.nii", scode=scode, patch=patch)
    hdr = nib.load(p).header                                  # nibabel agrees that the chosen form is not finite
    form = hdr.get_sform() if which == "sform" else hdr.get_qform()
    assert not np.all(np.isfinite(form))
    for call in (io.open_segmentation, io.read_volume):
        with pytest.raises(io.FileFormatError, match=f"^f.nii: its {which}, which places the image, holds NaN"):
            call(p)


@pytest.mark.parametrize("gz", [False, True])
def test_nifti_header_extensions_beyond_64_kib_open(tmp_path, gz):
    affine = np.array([[0, -2.0, 0, 5], [1.5, 0, 0, -7], [0, 0, 3, 11], [0, 0, 0, 1]])
    p, arr = _nifti(tmp_path, "big-ext.nii" + (".gz" if gz else ""), affine=affine, ext_bytes=200_000)
    ref = nib.load(p)
    raw = gzip.decompress(p.read_bytes()) if gz else p.read_bytes()
    assert np.frombuffer(raw[108:112], "<f4")[0] > 1 << 16          # vox_offset, as nibabel wrote it
    vol = io.read_volume(p)
    assert np.array_equal(vol.array, np.asarray(ref.dataobj))
    assert np.allclose(np.diag([-1, -1, 1, 1]) @ ref.affine, vol.geometry.ijk_to_lps, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 4, 4), (96, 96, 80)])         # the header's 64 KiB: below and beyond
def test_nii_gz_with_trailing_bytes_behaves_the_same_whatever_its_size(tmp_path, shape):
    arr = np.random.default_rng(1).integers(0, 5, shape).astype(np.uint8)
    img = nib.Nifti1Image(arr, np.eye(4))
    p = tmp_path / "t.nii.gz"
    p.write_bytes(gzip.compress(img.to_bytes()) + b"trailing junk after the gzip stream" * 3)
    assert np.array_equal(io.read_volume(p).array, arr)
    seg = io.open_segmentation(p)
    for v in range(1, 5):
        assert seg.voxel_count(seg.segments[v - 1].id) == int(np.sum(arr == v))


def test_a_lattice_nifti_cannot_hold_is_refused_on_export_and_nothing_is_written(tmp_path):
    g = Geometry((4, 4, 4), (1.0, 1.0, 1.0), (1e39, 0.0, 0.0))     # beyond float32: srow would be inf
    seg = Segmentation.from_layers(g, [_labels((4, 4, 4))], [Segment("a", "a", (1, 0, 0), 0, 1),
                                                                 Segment("b", "b", (0, 1, 0), 0, 2),
                                                                 Segment("c", "c", (0, 0, 1), 0, 3)])
    with pytest.raises(io.FileFormatError, match="cannot be stored exactly in a NIfTI header"):
        io.export_labelmap(seg, tmp_path / "x.nii.gz")
    assert list(tmp_path.iterdir()) == []
    io.save_segmentation(seg, tmp_path / "x.seg.nrrd")        # NRRD holds it: pynrrd reads the same origin
    assert nrrd.read_header(str(tmp_path / "x.seg.nrrd"))["space origin"][0] == 1e39


@settings(max_examples=40, deadline=None)
@given(spacing=st.floats(1e-12, 1e12), origin=st.floats(-1e40, 1e40), name=st.sampled_from(["x.nii", "x.seg.nrrd"]))
def test_whatever_segedit_writes_it_reads_back_on_the_same_lattice(tmp_path_factory, spacing, origin, name):
    folder = tmp_path_factory.mktemp("w")
    try:
        g = Geometry((3, 3, 3), (spacing, 1.0, 2.0), (origin, -origin, 0.5))
    except ValueError:
        return
    seg = Segmentation.from_layers(g, [np.eye(3, dtype=np.uint8)[:, :, None].repeat(3, 2)],
                                   [Segment("a", "a", (1, 0, 0), 0, 1)])
    path = folder / name
    try:
        if name.endswith(".nii"):
            io.export_labelmap(seg, path)
        else:
            io.save_segmentation(seg, path)
    except io.FileFormatError:
        assert not path.exists()
        return
    back = io.open_segmentation(path).geometry
    if name.endswith(".nii"):                                  # nibabel's affine, flipped to LPS
        ref = np.diag([-1, -1, 1, 1]) @ nib.load(path).affine
    else:
        h = nrrd.read_header(str(path))
        ref = np.eye(4)
        ref[:3, :3] = np.asarray(h["space directions"], float).T
        ref[:3, 3] = h["space origin"]
    assert np.allclose(back.ijk_to_lps, ref, rtol=1e-6)
    assert np.allclose(back.spacing, g.spacing, rtol=1e-6)


# ------------------------------------------------------------------------------------------------ item 5
def test_unknown_keys_are_kept_on_save(tmp_path):
    arr = _labels()
    keys = {"SegmentationVersion": "2", "SegmentEditor_SourceVolumeNodeID": "vtkMRMLScalarVolumeNode1",
            "SegmentEditor_Options": "a|b&c", "Segmentation_FutureKey": "keep me", "MyTool.Something": "x y",
            "Segment_NotAnIndex": "odd but kept"}
    header = {"space": "left-posterior-superior", "space directions": np.eye(3), "space origin": np.zeros(3),
              "kinds": ["domain"] * 3, "encoding": "raw"}
    for n in range(3):
        header.update({f"Segment{n}_ID": f"s{n}", f"Segment{n}_Name": f"n{n}", f"Segment{n}_LabelValue": str(n + 1),
                       f"Segment{n}_Layer": "0", f"Segment{n}_MyExtra": f"e{n}"})
    header.update(keys)
    src = tmp_path / "in.seg.nrrd"
    nrrd.write(str(src), arr, header)
    out = tmp_path / "out.seg.nrrd"
    io.save_segmentation(io.open_segmentation(src), out)
    back = nrrd.read_header(str(out))
    for key, value in keys.items():
        assert back[key] == value, key
    for n in range(3):
        assert back[f"Segment{n}_MyExtra"] == f"e{n}"


# ------------------------------------------------------------------------------------------------ item 11
@pytest.mark.parametrize("dirs, word", [("(1e200,0,0) (0,1,0) (0,0,1)", "too large"),
                                        ("(1e200,1e200,0) (0,1,0) (0,0,1)", "too large"),
                                        ("(1e-300,0,0) (0,1,0) (0,0,1)", "too small"),
                                        ("(0,0,0) (0,1,0) (0,0,1)", "is zero")])
def test_absurd_nrrd_spacing_says_what_is_wrong(tmp_path, dirs, word):
    p = tmp_path / "s.nrrd"
    p.write_bytes(corpus.nrrd_bytes(dirs=dirs))
    with pytest.raises(io.FileFormatError, match=f"^s.nrrd: the voxel spacing along i .*{word}"):
        io.open_segmentation(p)


@pytest.mark.parametrize("pixdim, word", [(3e38, "too large"), (1e-40, "too small"), (np.nan, "not a number")])
def test_absurd_nifti_spacing_says_what_is_wrong(tmp_path, pixdim, word):
    p, _ = _nifti(tmp_path, "s.nii", qcode=0, scode=0)
    data = bytearray(p.read_bytes())
    data[80:84] = np.float32(pixdim).tobytes()                # pixdim[1]
    p.write_bytes(bytes(data))
    assert nib.load(p).header["pixdim"][1] == np.float32(pixdim) or np.isnan(pixdim)
    with pytest.raises(io.FileFormatError, match=f"^s.nii: the voxel spacing along i .*{word}"):
        io.read_volume(p)


# ------------------------------------------------------------------------------------------------ item 1
def test_legacy_2016_layout_lands_where_slicer_puts_it(tmp_path):
    """Slicer's 4D-spatial reader: origin and directions (ITK's numbers) used as RAS unchanged, file voxel 0 at
    the absolute index Segmentation_Extent starts with. The expected LPS positions are computed here from that
    rule alone, with numpy."""
    g = np.zeros((5, 4, 3, 2), np.uint8)
    g[1:3, 1:3, 0:2, 0] = 1
    g[0:2, 0:1, 2, 1] = 1
    rot = np.array([[0.0, -1.0, 0.0], [0.6, 0.0, 0.8], [-0.8, 0.0, 0.6]])        # columns: i, j, k axes
    spacing = np.array([2.0, 1.5, 3.0])
    origin = np.array([-120.5, 33.0, 7.25])
    start = np.array([10, 20, 30])
    dirs = np.zeros((4, 4))
    dirs[:3, :3] = (rot * spacing).T                        # pynrrd: one row per axis
    dirs[3, 3] = 1.0
    header = {"type": "unsigned char", "dimension": 4, "encoding": "gzip", "space dimension": 4,
              "space directions": dirs, "space origin": np.append(origin, 0.0),
              "Segmentation_Extent": "10 14 20 23 30 32"}
    for n in range(2):
        header[f"Segment{n}_ID"] = f"S{n}"
        header[f"Segment{n}_Name"] = f"structure {n}"
        header[f"Segment{n}_DefaultColor"] = "1 0 0"
    header["Segment0_Extent"] = "11 12 21 22 30 31"          # absolute, like Segmentation_Extent
    header["Segment1_Extent"] = "10 11 20 20 32 32"
    path = tmp_path / "legacy.seg.nrrd"
    nrrd.write(str(path), g, header)
    seg = io.open_segmentation(path)
    for n in range(2):
        file_ijk = np.argwhere(g[..., n] == 1)
        ras = origin + (file_ijk + start) @ (rot * spacing).T
        lps = ras * np.array([-1.0, -1.0, 1.0])
        got = seg.geometry.index_to_physical(np.argwhere(seg.mask(f"S{n}")))
        assert np.allclose(np.sort(got, axis=0), np.sort(lps, axis=0), atol=1e-9)
        s = seg.segment(f"S{n}")
        assert (s.name_auto_generated, s.color_auto_generated) == (False, False)    # absent: 0 in that layout
    out = tmp_path / "again.seg.nrrd"                         # saved in the current layout: same place
    io.save_segmentation(seg, out)
    data, h = nrrd.read(str(out))
    m = np.eye(4)
    m[:3, :3] = np.asarray(h["space directions"], float)[-3:].T
    m[:3, 3] = h["space origin"]
    layers = [data] if data.ndim == 3 else [data[n] for n in range(data.shape[0])]
    placed = {}
    for n in range(2):
        lay, lab = int(h[f"Segment{n}_Layer"]), int(h[f"Segment{n}_LabelValue"])
        ijk = np.argwhere(layers[lay] == lab)
        placed[h[f"Segment{n}_ID"]] = (m[:3, :3] @ ijk.T).T + m[:3, 3]
    for n in range(2):
        ras = origin + (np.argwhere(g[..., n] == 1) + start) @ (rot * spacing).T
        assert np.allclose(np.sort(placed[f"S{n}"], axis=0), np.sort(ras * [-1, -1, 1], axis=0), atol=1e-9)


# ------------------------------------------------------------------------------------------------ item 8
@pytest.mark.parametrize("space", ["scanner-xyz", "3D-right-handed", "3D-left-handed-time", "made-up-space"])
def test_unknown_or_non_anatomical_spaces_are_refused_never_read_as_lps(tmp_path, space):
    p = tmp_path / "sp.nrrd"
    p.write_bytes(corpus.nrrd_bytes().replace(b"left-posterior-superior", space.encode()))
    assert nrrd.read_header(str(p))["space"] == space            # pynrrd takes it; the meaning is ours to check
    for call in (io.open_segmentation, io.read_volume):
        with pytest.raises(io.FileFormatError, match=f"^sp.nrrd: its space '{space}'"):
            call(p)


def test_time_variants_of_anatomical_spaces_are_read_in_their_frame(tmp_path):
    p = tmp_path / "rast.nrrd"
    data = corpus.nrrd_bytes(dirs="(2,0,0,0) (0,3,0,0) (0,0,4,0)", origin="(10,20,30,0)")
    p.write_bytes(data.replace(b"left-posterior-superior", b"right-anterior-superior-time"))
    h = nrrd.read_header(str(p))
    ras = np.eye(4)
    ras[:3, :3] = np.asarray(h["space directions"], float)[:, :3].T
    ras[:3, 3] = h["space origin"][:3]
    assert np.allclose(io.read_volume(p).geometry.ijk_to_lps, np.diag([-1, -1, 1, 1]) @ ras)


def test_data_file_list_gets_a_message_in_the_users_words(tmp_path):
    p = tmp_path / "list.nhdr"
    p.write_bytes(corpus.nrrd_bytes(enc="raw", payload=b"", extra="data file: LIST\n") + b"a.raw\nb.raw\n")
    with pytest.raises(io.FileFormatError, match="^list.nhdr: its voxels are split over several data files"):
        io.open_segmentation(p)


# ------------------------------------------------------------------------------------------------ items 9, 10
def _seg_header(n_segments, **over):
    h = {"space": "left-posterior-superior", "space directions": np.diag([1.0, 2.0, 3.0]),
         "space origin": np.array([5.0, 6.0, 7.0]), "kinds": ["domain"] * 3, "encoding": "gzip"}
    for n in range(n_segments):
        h.update({f"Segment{n}_ID": f"s{n}", f"Segment{n}_Name": f"n{n}", f"Segment{n}_LabelValue": "1",
                  f"Segment{n}_Layer": "0"})
    h.update(over)
    return h


def test_two_segments_with_the_same_layer_and_label_load_with_a_warning(tmp_path):
    arr = _labels()
    p = tmp_path / "dup.seg.nrrd"
    nrrd.write(str(p), arr, _seg_header(3, Segment1_LabelValue="2", Segment2_LabelValue="1",
                                        Segment2_Name="same as n0"))
    with pytest.warns(io.FileFormatWarning, match="'s0' and 's2' both claim label 1 of layer 0"):
        seg = io.open_segmentation(p)
    assert [s.id for s in seg.segments] == ["s0", "s1", "s2"]
    assert np.array_equal(seg.mask("s0"), arr == 1) and np.array_equal(seg.mask("s2"), arr == 1)
    assert np.array_equal(seg.mask("s1"), arr == 2)
    assert seg.segment("s2").layer != seg.segment("s0").layer
    out = tmp_path / "out.seg.nrrd"                        # saved: two layers, both segments keep their voxels
    io.save_segmentation(seg, out)
    data, h = nrrd.read(str(out))
    assert data.ndim == 4 and data.shape[0] == 2
    for n, ref in ((0, arr == 1), (1, arr == 2), (2, arr == 1)):
        assert np.array_equal(data[int(h[f"Segment{n}_Layer"])] == int(h[f"Segment{n}_LabelValue"]), ref)


def test_uint32_label_beyond_slicers_int32_is_refused_naming_the_segment(tmp_path):
    arr = np.zeros((4, 4, 4), np.uint32)
    arr[1:3, 1:3, 1:3] = 3_000_000_000
    arr[0, 0, 0] = 7
    src = tmp_path / "big.nrrd"
    nrrd.write(str(src), arr)
    seg = io.open_segmentation(src)
    out = tmp_path / "big.seg.nrrd"
    with pytest.raises(io.FileFormatError, match="segment 'Segment_3000000000' has label value 3000000000, above "
                                                 "2147483647.*--renumber-large-labels"):
        io.save_segmentation(seg, out)
    assert list(tmp_path.iterdir()) == [src]
    from app.io.seg_nrrd_writer import renumber_large_labels
    assert renumber_large_labels(seg) == [("Segment_3000000000", 1)]
    io.save_segmentation(seg, out)
    data, h = nrrd.read(str(out))
    assert np.array_equal(data == 1, arr == 3_000_000_000) and np.array_equal(data == 7, arr == 7)
    assert int(h["Segment1_LabelValue"]) == 1 and np.iinfo(np.int32).max >= int(h["Segment1_LabelValue"])


# ------------------------------------------------------------------------------------------------ items 2, 3
def _write_mask(folder, name, arr, affine=np.diag([0.8, 0.8, 1.5, 1.0])):
    nib.save(nib.Nifti1Image(arr, affine), folder / name)


def test_import_masks_with_empty_masks_every_mask_a_segment(tmp_path):
    """TotalSegmentator-style folder: one file per class, most of them empty. Every mask is a segment, values
    unique per layer, voxel-exact, and the overlapping pair needs exactly two layers."""
    rng = np.random.default_rng(3)
    shape = (10, 9, 8)
    masks = {}
    masks["a_liver"] = np.zeros(shape, np.uint8); masks["a_liver"][1:5, 1:5, 1:5] = 1
    masks["b_empty"] = np.zeros(shape, np.uint8)
    masks["c_spleen"] = np.zeros(shape, np.uint8); masks["c_spleen"][6:9, 6:8, 2:6] = 1
    masks["d_empty"] = np.zeros(shape, np.uint8)
    masks["e_overlap"] = (rng.random(shape) > 0.9).astype(np.uint8)
    masks["e_overlap"][2, 2, 2] = 1                             # surely inside a_liver
    masks["f_empty"] = np.zeros(shape, np.uint8)
    for name, arr in masks.items():
        _write_mask(tmp_path, f"{name}.nii.gz", arr)
    seg = io.import_masks([tmp_path])
    assert [s.name for s in seg.segments] == sorted(masks)
    pairs = [(s.layer, s.label) for s in seg.segments]
    assert len(set(pairs)) == len(pairs)                        # label values unique per layer
    assert seg.n_layers == 2                                     # the fewest: e overlaps a
    for name, arr in masks.items():
        assert np.array_equal(seg.mask(seg.segment_by_name(name).id), arr == 1), name


def test_float_mask_nan_is_not_foreground(tmp_path):
    arr = np.full((6, 6, 6), np.nan, np.float32)
    arr[1:3, 1:4, 2:5] = 1.0
    arr[4, 4, 4] = 0.0
    _write_mask(tmp_path, "nanbg.nii.gz", arr)
    seg = io.import_masks([tmp_path / "nanbg.nii.gz"])
    expected = np.nan_to_num(nib.load(tmp_path / "nanbg.nii.gz").get_fdata(), nan=0.0) != 0
    assert expected.sum() == 2 * 3 * 3
    assert np.array_equal(seg.mask(seg.segments[0].id), expected)


def test_a_multi_valued_mask_is_warned_about_by_name(tmp_path):
    arr = np.zeros((5, 5, 5), np.int16)
    arr[0:2] = 1
    arr[3:5] = 4
    _write_mask(tmp_path, "multi.nii.gz", arr)
    _write_mask(tmp_path, "plain.nii.gz", (arr == 1).astype(np.uint8))
    with pytest.warns(io.FileFormatWarning, match=r"^multi.nii.gz holds several distinct non-zero values \(1, 4"):
        seg = io.import_masks([tmp_path / "multi.nii.gz", tmp_path / "plain.nii.gz"])
    assert np.array_equal(seg.mask(seg.segment_by_name("multi").id), arr != 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.import_masks([tmp_path / "plain.nii.gz"])           # a real mask: no warning


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=9), st.integers(0, 10_000))
def test_import_masks_property(tmp_path_factory, kinds, seed):
    """Any mix of empty, disjoint and overlapping masks: every mask a segment, voxel-exact, (layer, label) unique,
    and empty masks never cost a layer (at most one layer per non-empty mask)."""
    folder = tmp_path_factory.mktemp("m")
    rng = np.random.default_rng(seed)
    shape = (5, 4, 3)
    arrays = []
    for n, kind in enumerate(kinds):
        arr = np.zeros(shape, np.uint8) if kind == 0 else (rng.random(shape) > 0.5 + 0.1 * kind).astype(np.uint8)
        arrays.append(arr)
        _write_mask(folder, f"m{n:02d}.nii", arr, np.eye(4))
    seg = io.import_masks([folder])
    assert len(seg.segments) == len(kinds)
    assert len({(s.layer, s.label) for s in seg.segments}) == len(kinds)
    for s, arr in zip(seg.segments, arrays):
        assert np.array_equal(seg.mask(s.id), arr == 1)
    assert seg.n_layers <= max(1, sum(1 for a in arrays if a.any()))


# ------------------------------------------------------------------------------------------------ item 6
def _named(names, tags=None):
    arr = np.zeros((4, 4, 3), np.uint8)
    segs = []
    for n, name in enumerate(names):
        arr[n % 4, :, n // 4] = n + 1
        segs.append(Segment(f"id{n}", name, (0.1 * n, 0.5, 0.2), 0, n + 1, dict(tags or {})))
    return Segmentation.from_layers(Geometry((4, 4, 3)), [arr], segs)


NAMES = ["line\nbreak", "pipe | name", 'say "hi"', "it's", "ünïcödé & more", "back\\slash\\n"]


def test_special_names_and_tags_survive_seg_nrrd(tmp_path):
    seg = _named(NAMES, {"Note": "two\nlines", "Segmentation.Status": "inprogress"})
    p = tmp_path / "n.seg.nrrd"
    io.save_segmentation(seg, p)
    raw = custom_keys(p)            # the header's own text (pynrrd drops non-ASCII), teem's escapes undone here
    unescape = lambda t: t.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")  # noqa: E731
    assert [unescape(raw[f"Segment{n}_Name"]) for n in range(len(NAMES))] == NAMES
    back = io.open_segmentation(p)
    assert [s.name for s in back.segments] == NAMES
    assert back.segments[0].tags == {"Note": "two\nlines", "Segmentation.Status": "inprogress"}


@pytest.mark.parametrize("name, tags, fragment", [
    ("tab\there", {}, "the name of segment 'tab\\\\there' holds a tab"),
    ("cr\rhere", {}, "holds a carriage return"),
    ("ok", {"a|b": "c"}, "the tag 'a|b' of segment 'ok' holds a '|'"),
    ("ok", {"a": "b|c"}, "holds a '|'"),
    ("ok", {"a:b": "c"}, "its name a ':'")])
def test_names_and_tags_a_seg_nrrd_cannot_hold_are_refused_naming_the_segment(tmp_path, name, tags, fragment):
    p = tmp_path / "n.seg.nrrd"
    with pytest.raises(io.FileFormatError, match=fragment):
        io.save_segmentation(_named([name], tags), p)
    assert not p.exists()


def test_special_names_survive_label_and_ctbl_export_or_are_refused(tmp_path):
    ok = ["pipe | name", "it's", "ünïcödé & more", "trailing space "]
    io.export_labelmap(_named(ok), tmp_path / "x.nii.gz")
    back = io.open_segmentation(tmp_path / "x.nii.gz")            # finds x.label beside it
    assert [s.name for s in back.segments] == ok
    label_names = [line.rsplit('"', 2)[1] for line in (tmp_path / "x.label").read_text("utf-8").splitlines()
                   if line.strip() and not line.startswith("#")][1:]
    assert label_names == ok                                      # the file itself, read without segedit
    ctbl = {int(ln.split()[0]): ln.split()[1] for ln in (tmp_path / "x.ctbl").read_text("utf-8").splitlines()
            if ln and not ln.startswith("#")}
    assert ctbl[1] == "pipe_|_name"                                # .ctbl names have no spaces (as Slicer writes)
    for bad in ("line\nbreak", 'say "hi"', "tab\there"):
        out = tmp_path / "bad" / "y.nii.gz"
        out.parent.mkdir(exist_ok=True)
        with pytest.raises(io.FileFormatError, match=r"^y.nii.gz: the name of segment .* cannot store; rename"):
            io.export_labelmap(_named(["fine", bad]), out)
        assert list(out.parent.iterdir()) == []


# ------------------------------------------------------------------------------------------------ item 7
def _labelmap(tmp_path, name="img.nrrd"):
    arr = _labels()
    nrrd.write(str(tmp_path / name), arr)
    return tmp_path / name, arr


def test_an_unreadable_table_beside_the_image_is_help_not_a_gate(tmp_path):
    img, arr = _labelmap(tmp_path)
    (tmp_path / "img.label").write_bytes(bytes(range(256)) * 8)
    with pytest.warns(io.FileFormatWarning, match=r"^img.nrrd: the label table beside it was not used \(img.label"):
        seg = io.open_segmentation(img)
    assert [s.name for s in seg.segments] == [f"Segment_{v}" for v in np.unique(arr[arr > 0])]
    with pytest.raises(io.FileFormatError, match="img.label is not a label table"):
        io.open_segmentation(img, labels=tmp_path / "img.label")     # named by the user: an error


def test_no_labels_ignores_the_table_beside_the_image(tmp_path):
    img, _ = _labelmap(tmp_path)
    (tmp_path / "img.ctbl").write_text("1 liver 255 0 0 255\n2 spleen 0 255 0 255\n3 kidney 0 0 255 255\n")
    assert [s.name for s in io.open_segmentation(img).segments] == ["liver", "spleen", "kidney"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [s.name for s in io.open_segmentation(img, labels=False).segments] == [
            "Segment_1", "Segment_2", "Segment_3"]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_latin1_and_cp1252_tables_are_decoded(tmp_path, encoding):
    img, _ = _labelmap(tmp_path)
    names = ["Hüftkopf", "Rückenmark", "côté–droit" if encoding == "cp1252" else "côté droit"]
    text = "".join(f'{n + 1} 255 0 0 1 1 1 "{name}"\n' for n, name in enumerate(names))
    (tmp_path / "t.label").write_bytes(text.encode(encoding))
    with pytest.raises(UnicodeDecodeError):
        (tmp_path / "t.label").read_bytes().decode("utf-8")
    seg = io.open_segmentation(img, labels=tmp_path / "t.label")
    assert [s.name for s in seg.segments] == names


def test_a_numbers_only_text_file_is_not_a_table(tmp_path):
    img, _ = _labelmap(tmp_path)
    (tmp_path / "img.txt").write_text("1 2 3 4 5\n2 3 4 5 6\n3 4 5 6 7\n")        # e.g. a matrix beside it
    with pytest.warns(io.FileFormatWarning, match="img.txt is not a label table"):
        seg = io.open_segmentation(img)
    assert [s.name for s in seg.segments] == ["Segment_1", "Segment_2", "Segment_3"]


def test_a_seg_nrrd_header_with_a_latin1_byte_opens_with_a_warning(tmp_path):
    p = tmp_path / "l.seg.nrrd"
    io.save_segmentation(_named(["placeholder", "other"]), p)
    data = p.read_bytes().replace("placeholder".encode(), "Hüfte".encode("latin-1"))
    p.write_bytes(data)
    with pytest.warns(io.FileFormatWarning, match=r"^l.seg.nrrd: its header is not all UTF-8"):
        seg = io.open_segmentation(p)
    assert [s.name for s in seg.segments] == ["Hüfte", "other"]


def test_slicer5_csv_table_with_special_names_reimports_exactly(tmp_path):
    """Slicer 5's .csv colour table quotes as the csv module does: line breaks, quotes, '|', tabs come back."""
    import csv

    img, _ = _labelmap(tmp_path)
    names = ["line\nbreak", 'say "hi"', "pipe | and\ttab"]
    with open(tmp_path / "t.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["LabelValue", "Name", "Color_R", "Color_G", "Color_B", "Color_A"])
        for n, name in enumerate(names):
            w.writerow([n + 1, name, 255, 0, 0, 255])
    seg = io.open_segmentation(img, labels=tmp_path / "t.csv")
    assert [s.name for s in seg.segments] == names
