"""A corpus of malformed and hostile files, generated into a folder: `build(folder) -> list[Case]`.

Seeds are valid files written by the io layer and by pynrrd/nibabel; each case breaks one thing: truncation, bit
flips, absurd or negative sizes, wrong types, inconsistent keys, huge or negative extents, detached data pointing
outside the folder or at a device, compression bombs, broken label tables, broken NIfTI headers. Deterministic.
"""
from __future__ import annotations

import bz2
import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from app import io
from tests.io.conftest import layered


@dataclass
class Case:
    name: str                 # what is broken, in words
    path: Path                # the file to open
    how: str = "segmentation"  # "segmentation", "volume" or "table" (opened as labels= of a good labelmap)


HEAD = ("NRRD0004\ntype: {type}\ndimension: {dim}\nspace: left-posterior-superior\nsizes: {sizes}\n"
        "space directions: {dirs}\nkinds: {kinds}\nencoding: {enc}\nspace origin: {origin}\n{extra}\n")
GOOD = dict(type="unsigned char", dim=3, sizes="8 8 8", dirs="(1,0,0) (0,1,0) (0,0,1)",
            kinds="domain domain domain", enc="gzip", origin="(0,0,0)", extra="")
SEG_KEYS = ("Segment0_ID:=a\nSegment0_Name:=a\nSegment0_LabelValue:=1\nSegment0_Layer:=0\n"
            "Segment0_Extent:=0 7 0 7 0 7\n")


def _labels() -> np.ndarray:
    a = np.zeros((8, 8, 8), np.uint8)
    a[1:5, 2:6, 3:7] = 1
    a[5:8, 0:3, 0:2] = 2
    return a


def nrrd_bytes(payload: bytes | None = None, **fields) -> bytes:
    f = dict(GOOD, **fields)
    if payload is None:
        raw = _labels().tobytes(order="F")
        payload = gzip.compress(raw) if f["enc"] == "gzip" else raw
    return HEAD.format(**f).encode() + payload


def _bomb(kind: str, n_bytes: int, piece: int = 8 << 20) -> bytes:
    """`n_bytes` of zeros compressed as concatenated members/streams (both formats allow it): cheap to build."""
    one = gzip.compress(bytes(piece), 9) if kind == "gzip" else bz2.compress(bytes(piece), 9)
    return one * (n_bytes // piece)


def _nifti(arr: np.ndarray, gz: bool, **fields) -> bytes:
    img = nib.Nifti1Image(arr, np.diag([1.0, 1.0, 1.0, 1.0]))
    img.header.set_qform(np.eye(4), code=1)
    data = bytearray(img.to_bytes())
    offsets = {k: img.header.template_dtype.fields[k][1] for k in img.header.template_dtype.names}
    for key, (fmt, value) in fields.items():
        struct.pack_into("<" + fmt, data, offsets[key], *value)
    return gzip.compress(bytes(data)) if gz else bytes(data)


def _flip(data: bytes, seed: int, n: int, start: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for pos in rng.integers(start, len(out), n):
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _seeds(folder: Path) -> dict[str, Path]:
    seeds = {}
    seeds["seg"] = folder / "seed.seg.nrrd"
    io.save_segmentation(layered(), seeds["seg"])
    seeds["raw"] = folder / "seed-raw.nrrd"
    seeds["raw"].write_bytes(nrrd_bytes(enc="raw"))
    seeds["gz"] = folder / "seed-gz.nrrd"
    seeds["gz"].write_bytes(nrrd_bytes())
    seeds["nii"] = folder / "seed.nii"
    seeds["nii"].write_bytes(_nifti(_labels(), gz=False))
    seeds["niigz"] = folder / "seed.nii.gz"
    seeds["niigz"].write_bytes(_nifti(_labels(), gz=True))
    return seeds


def build(folder) -> list[Case]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name, filename, data, how="segmentation"):
        p = folder / filename
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        cases.append(Case(name, p, how))

    seeds = _seeds(folder)
    # -- truncations and bit flips of every seed
    for key, seed in seeds.items():
        data = seed.read_bytes()
        suffix = "".join(seed.suffixes)
        for frac in (0.05, 0.3, 0.6, 0.95):
            add(f"{key} truncated at {frac:.0%}", f"trunc-{key}-{int(frac * 100)}{suffix}", data[: int(len(data) * frac)])
        for seed_n in range(3):
            add(f"{key} with bit flips #{seed_n}", f"flip-{key}-{seed_n}{suffix}", _flip(data, seed_n, 6))
    # -- absurd, zero, negative, overflowing sizes and dimensions
    for n, sizes in enumerate(["100000 100000 100000", "4294967296 4294967296 2", "9223372036854775807 2 2",
                               "0 8 8", "-8 8 8", "8 8", "8 8 8 8 8", "1e9 8 8", "8 8 99999999999999999999999"]):
        add(f"sizes {sizes}", f"sizes-{n}.nrrd", nrrd_bytes(sizes=sizes))
    add("dimension 1000", "dim-1000.nrrd", nrrd_bytes(dim=1000))
    add("raw data much shorter than a big claimed size", "short-raw-big.nrrd", nrrd_bytes(sizes="1024 1024 200", enc="raw"))
    add("gzip data much shorter than a big claimed size", "short-gz-big.nrrd", nrrd_bytes(sizes="1024 1024 200"))
    add("line skip of 10^12 lines", "lineskip.nrrd", nrrd_bytes(extra="line skip: 1000000000000\n", enc="raw"))
    add("byte skip of 10^15 bytes (raw)", "byteskip-raw.nrrd", nrrd_bytes(extra="byte skip: 1000000000000000\n", enc="raw"))
    add("byte skip of 10^15 bytes (gzip)", "byteskip-gz.nrrd", nrrd_bytes(extra="byte skip: 1000000000000000\n"))
    add("negative byte skip", "byteskip-neg.nrrd", nrrd_bytes(extra="byte skip: -5\n", enc="raw"))
    # -- wrong types and encodings
    add("unknown type", "type-complex.nrrd", nrrd_bytes(type="complex"))
    add("block type", "type-block.nrrd", nrrd_bytes(type="block"))
    add("fractional floats as labels", "type-float.nrrd",
        nrrd_bytes(type="float", payload=gzip.compress(np.full(512, 0.5, np.float32).tobytes())))
    add("ascii encoding holding words", "ascii-words.nrrd", nrrd_bytes(enc="ascii", payload=b"one two three " * 200))
    add("ascii encoding with values beyond the type", "ascii-big.nrrd", nrrd_bytes(enc="ascii", payload=b"300 " * 512))
    add("hex encoding holding non-hex", "hex-bad.nrrd", nrrd_bytes(enc="hex", payload=b"zz" * 600))
    add("unknown encoding", "enc-unknown.nrrd", nrrd_bytes(enc="lzma"))
    add("header that is not text", "binary-header.nrrd", b"NRRD0004\n\xff\xfe\x00type: \x80\x81\n\n")
    add("header with no blank line, 300000 lines", "endless-header.nrrd", b"NRRD0004\n" + b"# c\n" * 300_000)
    add("NUL bytes after the magic", "nul.nrrd", b"NRRD0004" + bytes(4096))
    # -- inconsistent keys
    add("3 space directions for 4 axes", "dirs-short.nrrd", nrrd_bytes(dim=4, sizes="2 8 8 4", kinds="list domain domain domain"))
    add("space directions with 2 components", "dirs-2d.nrrd", nrrd_bytes(dirs="(1,0) (0,1) (0,0)"))
    add("space origin with 2 components", "origin-2.nrrd", nrrd_bytes(origin="(0,0)"))
    add("kinds shorter than the dimension", "kinds-short.nrrd", nrrd_bytes(kinds="domain domain"))
    add("NaN space directions", "dirs-nan.nrrd", nrrd_bytes(dirs="(nan,0,0) (0,1,0) (0,0,1)"))
    add("degenerate (zero) space directions", "dirs-zero.nrrd", nrrd_bytes(dirs="(0,0,0) (0,0,0) (0,0,1)"))
    add("segment on layer 5 of 1", "seg-layer.seg.nrrd", nrrd_bytes(extra=SEG_KEYS.replace("Layer:=0", "Layer:=5")))
    add("segment label value not a number", "seg-label.seg.nrrd", nrrd_bytes(extra=SEG_KEYS.replace("LabelValue:=1", "LabelValue:=x")))
    add("segment label value 10^30", "seg-label-huge.seg.nrrd", nrrd_bytes(extra=SEG_KEYS.replace("LabelValue:=1", "LabelValue:=" + "9" * 30)))
    add("segment extent with inf", "seg-extent-inf.seg.nrrd", nrrd_bytes(extra=SEG_KEYS.replace("0 7 0 7 0 7", "0 inf 0 7 0 7")))
    add("segment extent huge", "seg-extent-huge.seg.nrrd", nrrd_bytes(extra=SEG_KEYS.replace("0 7 0 7 0 7", "0 99999999999 0 7 0 7")))
    add("segment extent negative", "seg-extent-neg.seg.nrrd", nrrd_bytes(extra=SEG_KEYS.replace("0 7 0 7 0 7", "-90 -50 -9 -3 0 7")))
    add("offset with nan", "seg-offset-nan.seg.nrrd", nrrd_bytes(extra=SEG_KEYS + "Segmentation_ReferenceImageExtentOffset:=nan 0 0\n"))
    add("offset with inf", "seg-offset-inf.seg.nrrd", nrrd_bytes(extra=SEG_KEYS + "Segmentation_ReferenceImageExtentOffset:=inf 0 0\n"))
    geo = "1;0;0;0;0;1;0;0;0;0;1;0;0;0;0;1;0;{hi};0;{hi};0;{hi};"
    empty = nrrd_bytes(sizes="1 1 1", payload=gzip.compress(b"\x00"), extra="Segmentation_ConversionParameters:=Reference "
                       "image geometry|" + geo + "|x&\nSegmentation_MasterRepresentation:=Binary labelmap\n")
    add("empty segmentation whose reference geometry is 10^15 voxels", "sentinel-huge.seg.nrrd", empty.replace(b"{hi}", b"99999"))
    add("empty segmentation whose reference geometry extent is inf", "sentinel-inf.seg.nrrd", empty.replace(b"{hi}", b"inf"))
    add("empty segmentation whose reference geometry extent is nan", "sentinel-nan.seg.nrrd", empty.replace(b"{hi}", b"nan"))
    add("two segments with one label", "seg-dup-label.seg.nrrd",
        nrrd_bytes(extra=SEG_KEYS + SEG_KEYS.replace("Segment0_", "Segment1_").replace("ID:=a", "ID:=b")))
    # -- issue 11: spaces, float masks, NIfTI forms, names, tables
    for n, space in enumerate(["scanner-xyz", "3D-right-handed", "right-anterior-superior-time", "made-up"]):
        add(f"space {space}", f"space-{n}.nrrd", nrrd_bytes().replace(b"left-posterior-superior", space.encode()))
    add("data file LIST with file names after the header", "list.nhdr",
        nrrd_bytes(enc="raw", payload=b"a.raw\nb.raw\n", extra="data file: LIST\n"))
    nan_bg = np.full(512, np.nan, np.float32)
    nan_bg[:100] = 1.0
    add("float labelmap with a NaN background", "float-nan.nrrd",
        nrrd_bytes(type="float", payload=gzip.compress(nan_bg.tobytes())))
    multi = np.arange(512, dtype=np.float32) % 7
    add("float volume with 7 values (a multi-label file as a mask)", "float-multi.nrrd",
        nrrd_bytes(type="float", payload=gzip.compress(multi.tobytes())))
    for n, (name, fields) in enumerate([
            ("NIfTI sform translation NaN", {"sform_code": ("h", (1,)), "srow_x": ("4f", (1, 0, 0, np.nan))}),
            ("NIfTI qform offset inf", {"qform_code": ("h", (1,)), "qoffset_x": ("f", (np.inf,))}),
            ("NIfTI pixdim 3e38", {"pixdim": ("8f", (1, 3e38, 1, 1, 1, 1, 1, 1))}),
            ("NIfTI pixdim 1e-40", {"pixdim": ("8f", (1, 1e-40, 1, 1, 1, 1, 1, 1))})]):
        add(name, f"issue11-nifti-{n}.nii", _nifti(_labels(), gz=False, **fields))
    small = _nifti(_labels(), gz=True)
    add("small .nii.gz with trailing junk", "trailing.nii.gz", small + b"junk after the gzip stream" * 4)
    ext = bytearray(_nifti(_labels(), gz=False))
    big = bytes(ext[:348]) + b"\x01\x00\x00\x00" + struct.pack("<ii", 200_016, 6) + bytes(200_008) + bytes(ext[352:])
    big = big[:108] + struct.pack("<f", 352 + 200_016) + big[112:]
    add("NIfTI with a 200 KB header extension", "big-extension.nii", big)
    seg_names = SEG_KEYS.replace("Name:=a", "Name:=tab\there | \"quoted\"\\nnext")
    add("segment name with tab, pipe, quote and escaped newline", "names.seg.nrrd", nrrd_bytes(extra=seg_names))
    add("segment tags with pipes and no colon", "tags.seg.nrrd", nrrd_bytes(extra=SEG_KEYS + "Segment0_Tags:=|||a|b:c:d|\n"))
    add(".seg.nrrd header with a Latin-1 byte", "latin1.seg.nrrd",
        nrrd_bytes(extra=SEG_KEYS.replace("Name:=a", "Name:=H\u00fcfte")).replace("Hüfte".encode(), "Hüfte".encode("latin-1")))
    # -- detached data pointing elsewhere
    (folder / "outside.raw").write_bytes(bytes(512))
    sub = folder / "detached"
    sub.mkdir(exist_ok=True)
    os.symlink("/dev/zero", sub / "zero-link.raw")
    (sub / "a-folder.raw").mkdir()
    for n, target in enumerate(["../outside.raw", "/etc/passwd", "/dev/zero", "/dev/urandom", "zero-link.raw",
                                "a-folder.raw", "LIST", "slice%03d.raw 0 2 1", "missing.raw", "/proc/self/mem",
                                # found by the fuzzer: names the OS cannot look up (NUL, too long), the folder
                                "a\x00b.raw", "x" * 5000, "a/" * 3000 + "b", "."]):
        p = sub / f"detached-{n}.nhdr"
        p.write_bytes(nrrd_bytes(enc="raw", payload=b"", extra=f"data file: {target}\n"))
        cases.append(Case(f"detached header with data file {target!r}", p))
    # -- compression bombs
    add("gzip bomb: 4 KB claimed, 400 MB of zeros", "bomb-small.nrrd", nrrd_bytes(sizes="16 16 16", payload=_bomb("gzip", 400 << 20)))
    add("gzip bomb: tiny member repeated 10^5 times", "bomb-members.nrrd", nrrd_bytes(payload=gzip.compress(b"") * 100_000))
    add("bzip2 bomb: 4 KB claimed, 400 MB of zeros", "bomb-bz2.nrrd", nrrd_bytes(sizes="16 16 16", enc="bzip2", payload=_bomb("bz2", 400 << 20)))
    add("gzip NIfTI bomb", "bomb.nii.gz", gzip.compress(_nifti(_labels(), gz=False)) + _bomb("gzip", 400 << 20))
    # -- broken NIfTI headers
    for n, (name, fields) in enumerate([
            ("NIfTI dim 10^9 cube", {"dim": ("8h", (3, 30000, 30000, 30000, 1, 1, 1, 1))}),
            ("NIfTI negative dim", {"dim": ("8h", (3, -8, 8, 8, 1, 1, 1, 1))}),
            ("NIfTI dim[0] = 9", {"dim": ("8h", (9, 8, 8, 8, 1, 1, 1, 1))}),
            ("NIfTI 5-D", {"dim": ("8h", (5, 8, 8, 4, 2, 2, 1, 1))}),
            ("NIfTI unknown datatype", {"datatype": ("h", (1234,))}),
            ("NIfTI negative vox_offset", {"vox_offset": ("f", (-4096.0,))}),
            ("NIfTI vox_offset 10^12", {"vox_offset": ("f", (1e12,))}),
            ("NIfTI NaN pixdim and quaternion", {"pixdim": ("8f", (1, np.nan, np.nan, 1, 1, 1, 1, 1)),
                                                 "quatern_b": ("f", (np.nan,))}),
            ("NIfTI sheared sform only", {"qform_code": ("h", (0,)), "sform_code": ("h", (2,)),
                                          "srow_x": ("12f", (1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0))}),
            ("NIfTI infinite scale slope", {"scl_slope": ("f", (np.inf,))}),
            ("NIfTI wrong magic", {"magic": ("4s", (b"ni1\x00",))})]):
        add(name, f"bad-header-{n}.nii", _nifti(_labels(), gz=False, **fields))
    add("gzip NIfTI shorter than its header", "short.nii.gz", gzip.compress(b"\x5c\x01\x00\x00" + bytes(100)))
    # -- broken label tables (opened with a good labelmap)
    for n, (name, text) in enumerate([
            ("binary junk", bytes(range(256)) * 40),
            ("colours inf and nan", b"1 a inf nan 3 255\n2 b 1 2 3 inf\n"),
            ("colour 1e400 in an ITK-SNAP line", b'1 1e400 0 0 1 1 1 "x"\n'),
            ("label values 10^40", b"1" + b"0" * 40 + b" big 1 2 3\n1 a 1 2 3\n"),
            ("CSV with missing columns", b"LabelValue,Name\n1,a\n"),
            ("CSV with inf colour", b"LabelValue,Name,Color_R,Color_G,Color_B,Color_A\n1,a,inf,2,3,255\n"),
            ("unterminated quotes", b'1 "unterminated 1 2 3\n'),
            ("empty", b""),
            ("20 MB of lines", b"# nothing\n" * 2_000_000),
            ("numbers only (a matrix)", b"1 2 3 4 5\n2 3 4 5 6\n3 4 5 6 7\n"),
            ("Latin-1 names", '1 255 0 0 1 1 1 "Hüfte"\n2 0 255 0 1 1 1 "Rücken"\n'.encode("latin-1")),
            ("cp1252 names", '1 a\u2013b 255 0 0 255\n'.encode("cp1252")),
            ("names with tabs and quotes", b'1 255 0 0 1 1 1 "a\tb "c" d"\n2 0 0 255 1 1 1 "x|y"\n')]):
        add(f"label table: {name}", f"table-{n}.txt", text, how="table")
    return cases


def good_labelmap(folder) -> Path:
    p = Path(folder) / "good-labelmap.nrrd"
    if not p.exists():
        p.write_bytes(nrrd_bytes())
    return p
