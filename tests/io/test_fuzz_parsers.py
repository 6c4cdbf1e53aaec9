"""Fuzzing the open path with hypothesis, in bounded time: NRRD headers built from hostile field values, byte-level
mutations of valid files (NRRD, .seg.nrrd, NIfTI), Slicer segment keys, NIfTI header fields and label tables.
Every example must end in a tolerant read or one clear FileFormatError sentence: any other exception is a crash,
and an open that outlives its time limit (SECONDS, a watchdog thread: SIGALRM stays pytest-timeout's) a hang.
The examples are derandomized (the same files every run), so a failure reproduces; the figures (files tried,
outcomes, seconds) are printed by `python -m benchmarks --only robustness`, never written by the tests."""
from __future__ import annotations

import gzip
import json
import os
import struct
import time
import warnings

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import io
from tests.io import malformed_corpus as corpus
from tests.io.conftest import layered
from tests.watchdog import Hang, time_limit

SECONDS = 5
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True,
                derandomize=True, database=None)
FIGURES = os.environ.get("SEGEDIT_FUZZ_FIGURES")      # set by benchmarks/bench_robustness.py (outside the repo)


class Stats:
    """Open files and count outcomes; a crash or a hang raises AssertionError (hypothesis then shrinks it)."""

    def __init__(self, folder):
        self.folder = folder
        self.tried = self.errors = self.reads = self.crashes = self.hangs = 0
        self.t0 = time.perf_counter()

    def open(self, name: str, data: bytes, how: str = "both", labels=None):
        path = self.folder / name
        path.write_bytes(data)
        calls = {"segmentation": lambda: io.open_segmentation(path),
                 "volume": lambda: io.read_volume(path),
                 "table": lambda: io.open_segmentation(labels, labels=path)}
        for mode in (["segmentation", "volume"] if how == "both" else [how]):
            self.tried += 1
            try:
                with time_limit(SECONDS), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    calls[mode]()
                self.reads += 1
            except io.FileFormatError as exc:
                self.errors += 1
                text = str(exc)
                assert text and "\n" not in text and len(text) < 400, f"unclear error: {text[:300]!r}"
            except Hang:
                self.hangs += 1
                raise AssertionError(f"{mode} of {name} did not finish in {SECONDS} s") from None
            except Exception as exc:
                self.crashes += 1
                raise AssertionError(f"{mode} of {name} crashed: {type(exc).__name__}: {exc}") from exc

    def report(self, harness: str) -> dict:
        figures = {"files_tried": self.tried, "clear_errors": self.errors, "tolerant_reads": self.reads,
                   "crashes": self.crashes, "hangs": self.hangs, "seconds": round(time.perf_counter() - self.t0, 1),
                   "time_box_s": SECONDS}
        if FIGURES:                    # only when the benchmark asks, into its own file
            with open(FIGURES, "a") as f:
                f.write(json.dumps({"harness": harness, **figures}) + "\n")
        assert self.tried == self.errors + self.reads
        return figures


# ------------------------------------------------------------------------------------------------ strategies
NUMBERS = st.sampled_from(["0", "1", "-1", "2", "8", "3.5", "-0", "1e308", "-1e308", "nan", "inf", "-inf",
                           "4294967296", "9223372036854775808", "99999999999999999999", "0x10", "", "one"])
TOKENS = st.one_of(NUMBERS, st.sampled_from(["none", "domain", "list", "space", "(1,0,0)", "(0,0)", "(nan,0,0)",
                                              "(1,0,0", "gzip", "raw", "ascii", "hex", "bzip2", "unsigned char",
                                              "short", "float", "double", "int", "block", "LIST", "../x.raw",
                                              "/dev/zero", "%d", "left-posterior-superior", "RAS", "scanner-xyz",
                                              "right-anterior-superior-time", "3D-right-handed", "lpst", "a\x00b",
                                              "H\u00fcfte", "x" * 300]),
                   st.text(min_size=0, max_size=12))
FIELDS = ["type", "dimension", "sizes", "space", "space directions", "space origin", "kinds", "encoding", "endian",
          "spacings", "byte skip", "line skip", "data file", "space dimension", "thicknesses", "measurement frame"]


@st.composite
def nrrd_files(draw) -> bytes:
    """A header from mostly-plausible, sometimes hostile fields, then a payload (good, random or compressed)."""
    good = dict(type="unsigned char", dimension="3", sizes="8 8 8", space="left-posterior-superior",
                **{"space directions": "(1,0,0) (0,1,0) (0,0,1)", "space origin": "(0,0,0)"}, encoding="gzip")
    lines = ["NRRD000" + draw(st.sampled_from("12345"))]
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=0, max_size=6, unique=True)):
        good[field] = " ".join(draw(st.lists(TOKENS, min_size=0, max_size=5)))
    keys = list(good)
    if draw(st.booleans()):
        keys = draw(st.permutations(keys))
    lines += [f"{k}: {good[k]}" for k in keys]
    if draw(st.booleans()):
        lines += [f"Segment{n}_{k}:={draw(TOKENS)}" for n in range(draw(st.integers(0, 2)))
                  for k in ("ID", "LabelValue", "Layer", "Extent", "Color", "Name", "Tags")]
    raw = corpus._labels().tobytes(order="F")
    payload = draw(st.sampled_from([gzip.compress(raw), raw, b"", gzip.compress(raw)[:40]]) | st.binary(max_size=600))
    return ("\n".join(lines) + "\n\n").encode("utf-8", "surrogatepass") + payload


@st.composite
def mutated(draw, seeds) -> tuple[str, bytes]:
    """A valid file with a few byte-level mutations: flips, truncation, deletion, insertion, duplication."""
    name, data = draw(st.sampled_from(seeds))
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        if not out:
            break
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "insert", "duplicate", "set"]))
        pos = draw(st.integers(0, len(out) - 1))
        if kind == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del out[pos:]
        elif kind == "delete":
            del out[pos:pos + draw(st.integers(1, 64))]
        elif kind == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "duplicate":
            out[pos:pos] = out[pos:pos + draw(st.integers(1, 256))]
        else:
            out[pos] = draw(st.sampled_from([0, 10, 32, 40, 41, 45, 48, 57, 58, 61, 255]))
    return name, bytes(out)


def _seed_files(folder) -> list[tuple[str, bytes]]:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = corpus._seeds(folder)
    nhdr = corpus.nrrd_bytes(enc="raw", payload=b"")
    return [(p.name, p.read_bytes()) for p in seeds.values()] + [("seed2.nhdr", nhdr)]


@st.composite
def segment_keys(draw) -> bytes:
    keys = {"ID": "a", "Name": "a", "LabelValue": "1", "Layer": "0", "Extent": "0 7 0 7 0 7", "Color": "1 0 0",
            "Tags": "x:y|"}
    lines = []
    for n in range(draw(st.integers(1, 3))):
        seg = dict(keys, ID=f"s{n}", LabelValue=str(n + 1))
        for k in draw(st.lists(st.sampled_from(list(keys) + ["ColorAutoGenerated", "Future"]), max_size=4)):
            seg[k] = " ".join(draw(st.lists(TOKENS, max_size=6)))
        lines += [f"Segment{draw(st.sampled_from([n, n, n, n + 5]))}_{k}:={v}" for k, v in seg.items()]
    for k in draw(st.lists(st.sampled_from(["Segmentation_ReferenceImageExtentOffset", "Segmentation_Extent",
                                            "Segmentation_ConversionParameters"]), max_size=2, unique=True)):
        lines.append(f"{k}:=" + draw(st.sampled_from(["", "0 0 0", "1 2", "nan inf 0", "-5 -5 -5 ",
                                                       "Reference image geometry|1;0;0;0;0;1;0;0;0;0;1;0;0;0;0;1;"
                                                       "0;99999;0;99999;0;99999;|x&"]) | TOKENS))
    return corpus.nrrd_bytes(extra="\n".join(lines) + "\n")


NIFTI_FIELDS = [("dim", "8h"), ("datatype", "h"), ("bitpix", "h"), ("vox_offset", "f"), ("pixdim", "8f"),
                ("qform_code", "h"), ("sform_code", "h"), ("quatern_b", "3f"), ("qoffset_x", "3f"),
                ("srow_x", "12f"), ("scl_slope", "2f"), ("sizeof_hdr", "i"), ("magic", "4s"), ("dim_info", "B")]


@st.composite
def nifti_headers(draw) -> bytes:
    img = nib.Nifti1Image(corpus._labels(), np.eye(4))
    data = bytearray(img.to_bytes())
    names = img.header.template_dtype.fields
    for field, fmt in draw(st.lists(st.sampled_from(NIFTI_FIELDS), min_size=1, max_size=4)):
        n = struct.calcsize("<" + fmt)
        if fmt == "4s":
            value = struct.pack("<4s", draw(st.sampled_from([b"n+1\0", b"ni1\0", b"n+2\0", b"\0\0\0\0"])))
        elif fmt.endswith("f"):
            count = n // 4
            floats = st.sampled_from([0.0, 1.0, -1.0, 352.0, 1e30, -1e30, float("nan"), float("inf"), 0.5, 1e-30])
            value = struct.pack("<" + fmt, *draw(st.lists(floats, min_size=count, max_size=count)))
        else:
            count = int(fmt[:-1]) if fmt[:-1] else 1
            ints = st.integers(0, 255) if fmt[-1] == "B" else st.sampled_from([0, 1, 2, 3, 7, 8, -1, -8, 16, 255,
                                                                                 4096, 32767])
            value = draw(st.binary(min_size=n, max_size=n)) if draw(st.booleans()) else \
                struct.pack("<" + fmt, *draw(st.lists(ints, min_size=count, max_size=count)))
        off = names[field][1]
        data[off:off + n] = value
    return bytes(data)


TABLE_LINE = st.one_of(
    st.lists(TOKENS, max_size=8).map(" ".join),
    st.lists(TOKENS, max_size=8).map(",".join),
    st.tuples(NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, st.text(max_size=8)).map(
        lambda t: " ".join(t[:7]) + f' "{t[7]}"'),
    st.just("LabelValue,Name,Color_R,Color_G,Color_B,Color_A"),
    st.just("# comment"), st.just(""))


# ------------------------------------------------------------------------------------------------ the harnesses
@pytest.mark.slow
def test_fuzz_nrrd_headers(tmp_path_factory):
    stats = Stats(tmp_path_factory.mktemp("fuzz-nrrd"))

    @FAST
    @given(data=nrrd_files(), seg=st.booleans())
    def run(data, seg):
        stats.open("f.seg.nrrd" if seg else "f.nrrd", data)

    run()
    assert stats.report("hypothesis_nrrd_headers")["files_tried"] >= 200


@pytest.mark.slow
def test_fuzz_mutated_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-mutated")
    seeds = _seed_files(folder / "seeds")
    stats = Stats(folder)

    @FAST
    @given(case=mutated(seeds))
    def run(case):
        name, data = case
        stats.open(name, data)

    run()
    assert stats.report("hypothesis_mutations")["files_tried"] >= 200


@pytest.mark.slow
def test_fuzz_segment_keys(tmp_path_factory):
    stats = Stats(tmp_path_factory.mktemp("fuzz-seg"))

    @FAST
    @given(data=segment_keys())
    def run(data):
        stats.open("k.seg.nrrd", data, how="segmentation")

    run()
    assert stats.report("hypothesis_segment_keys")["files_tried"] >= 200


@pytest.mark.slow
def test_fuzz_nifti_headers(tmp_path_factory):
    stats = Stats(tmp_path_factory.mktemp("fuzz-nifti"))

    @FAST
    @given(data=nifti_headers(), gz=st.booleans())
    def run(data, gz):
        stats.open("n.nii.gz" if gz else "n.nii", gzip.compress(data, 1) if gz else data)

    run()
    assert stats.report("hypothesis_nifti_headers")["files_tried"] >= 200


@pytest.mark.slow
def test_fuzz_label_tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-tables")
    good = corpus.good_labelmap(folder)
    stats = Stats(folder)

    @FAST
    @given(lines=st.lists(TABLE_LINE, max_size=12), crlf=st.booleans(), suffix=st.sampled_from(
        [".txt", ".label", ".ctbl", ".csv"]), encoding=st.sampled_from(["utf-8", "latin-1", "cp1252"]),
        beside=st.booleans())
    def run(lines, crlf, suffix, encoding, beside):
        text = ("\r\n" if crlf else "\n").join(lines)
        data = text.encode(encoding, "replace") if encoding != "utf-8" else text.encode("utf-8", "surrogatepass")
        if not beside:
            stats.open("t" + suffix, data, how="table", labels=good)
            return
        # a table found beside the image is help, not a gate: the image always opens (issue 11)
        for old in folder.glob("good-labelmap.*"):
            if old != good:
                old.unlink()
        (folder / ("good-labelmap" + suffix)).write_bytes(data)
        stats.tried += 1
        with time_limit(SECONDS), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert len(io.open_segmentation(good)) == 2
        stats.reads += 1

    run()
    assert stats.report("hypothesis_label_tables")["files_tried"] >= 200


NAME_TEXT = st.text(st.sampled_from(list("ab \n\t\r\"'|:&\\\x00\x7fé€𝄞")), min_size=1, max_size=10)


@pytest.mark.slow
def test_fuzz_special_names_survive_or_are_refused(tmp_path_factory):
    """Names and tags with newline, tab, quote, '|', ...: every format either gives them back exactly or refuses
    the write with one sentence naming the segment, writing nothing (issue 11)."""
    from app.model.geometry import Geometry
    from app.model.segment import Segment
    from app.model.segmentation import Segmentation

    folder = tmp_path_factory.mktemp("fuzz-names")
    stats = Stats(folder)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True,
              derandomize=True, database=None)
    @given(names=st.lists(NAME_TEXT, min_size=1, max_size=3), tag=st.tuples(NAME_TEXT, NAME_TEXT),
           target=st.sampled_from(["n.seg.nrrd", "n.nii.gz", "n.nrrd"]))
    def run(names, tag, target):
        arr = np.zeros((3, 3, 3), np.uint8)
        segs = []
        for n, name in enumerate(names):
            arr[n] = n + 1
            segs.append(Segment(f"id{n}", name, (1.0, 0.0, 0.0), 0, n + 1, {tag[0]: tag[1]}))
        seg = Segmentation.from_layers(Geometry((3, 3, 3)), [arr], segs)
        out = folder / target
        for p in folder.glob("n.*"):
            p.unlink()
        stats.tried += 1
        try:
            if target.endswith(".seg.nrrd"):
                io.save_segmentation(seg, out)
            else:
                io.export_labelmap(seg, out)
        except io.FileFormatError as exc:
            stats.errors += 1
            assert "\n" not in str(exc) and "segment" in str(exc)
            assert not list(folder.glob("n.*")), "a refused write left a file"
            return
        stats.reads += 1
        back = io.open_segmentation(out)
        assert [s.name for s in back.segments] == names
        if target.endswith(".seg.nrrd"):
            assert [s.tags for s in back.segments] == [{tag[0]: tag[1]}] * len(names)

    run()
    assert stats.report("hypothesis_special_names")["files_tried"] >= 100


def test_the_seed_files_themselves_open(tmp_path):
    """The mutations start from files that are valid: otherwise the harness would only test the error path."""
    for name, data in _seed_files(tmp_path / "seeds"):
        if name.endswith(".nhdr"):
            continue
        (tmp_path / name).write_bytes(data)
        seg = io.open_segmentation(tmp_path / name)
        assert len(seg) >= 2
    assert len(io.open_segmentation(tmp_path / "seed.seg.nrrd")) == len(layered())
