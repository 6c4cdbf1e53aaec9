"""NRRD variants from pynrrd's own test data (nrrd/tests/data in mhe/pynrrd: detached headers, bzip2, byte skip,
line skip, ASCII, big endian), regenerated here: our reader must agree with pynrrd voxel for voxel."""
from __future__ import annotations

import bz2
import gzip

import numpy as np
import nrrd
import pytest

from app import io

DATA = (np.arange(30 * 30 * 30) % 251).astype(np.uint16).reshape(30, 30, 30, order="F")
BASE = ("NRRD0005\n# comment line\ntype: {type}\ndimension: 3\nspace: left-posterior-superior\nsizes: 30 30 30\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: {endian}\n"
        "encoding: {encoding}\nspace origin: (0,0,0)\n")


def _payload(encoding, endian):
    raw = DATA.astype(">u2" if endian == "big" else "<u2").tobytes(order="F")
    if encoding == "gzip":
        return gzip.compress(raw)
    if encoding == "bzip2":
        return bz2.compress(raw)
    if encoding == "ascii":
        return " ".join(map(str, DATA.ravel(order="F"))).encode()
    return raw


CASES = [  # (encoding, endian, extra header lines, bytes before the payload, detached)
    ("raw", "little", "", b"", False),
    ("raw", "big", "", b"", False),
    ("gzip", "little", "", b"", False),
    ("bzip2", "little", "", b"", False),
    ("ascii", "little", "", b"", False),
    ("raw", "little", "byte skip: 10\n", b"0123456789", True),
    ("raw", "little", "byte skip: -1\n", b"junk-before-the-data", True),
    ("raw", "little", "line skip: 2\n", b"first line\nsecond line\n", True),
    ("gzip", "little", "", b"", True),
]


@pytest.mark.parametrize("encoding,endian,extra,prefix,detached", CASES)
def test_reader_agrees_with_pynrrd(tmp_path, encoding, endian, extra, prefix, detached):
    head = BASE.format(type="ushort", endian=endian, encoding=encoding) + extra
    payload = prefix + _payload(encoding, endian)
    if detached:
        (tmp_path / "d.data").write_bytes(payload)
        path = tmp_path / "d.nhdr"
        path.write_text(head + "data file: d.data\n")
    else:
        path = tmp_path / "a.nrrd"
        path.write_bytes(head.encode() + b"\n" + payload)
    expected, _ = nrrd.read(str(path))
    vol = io.read_volume(path)
    assert np.array_equal(vol.array, expected) and np.array_equal(vol.array, DATA)
    assert vol.array.dtype == np.uint16


def test_detached_header_reading_the_end_of_a_gzipped_nifti(tmp_path):
    """pynrrd's BallBinary30x30x30_byteskip_minus_one_nifti.nhdr: `byte skip: -1` with gzip encoding, the data
    file a .nii.gz (the voxels are the last bytes of the decompressed stream, after the NIfTI header)."""
    import nibabel as nib

    data = DATA.astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / "ball.nii.gz"))
    path = tmp_path / "ball.nhdr"
    path.write_text(BASE.format(type="short", endian="little", encoding="gzip") +
                    "byte skip: -1\ndata file: ball.nii.gz\n")
    expected, _ = nrrd.read(str(path))
    assert np.array_equal(io.read_volume(path).array, expected)
    assert np.array_equal(expected, data)


def test_ras_space_is_converted_to_lps(tmp_path):
    nrrd.write(str(tmp_path / "r.nrrd"), np.zeros((2, 3, 4), np.int16),
               {"space": "right-anterior-superior", "space directions": np.diag([1.5, 2.0, 3.0]),
                "space origin": np.array([10.0, 20.0, 30.0])})
    g = io.read_volume(tmp_path / "r.nrrd").geometry
    assert np.allclose(g.index_to_physical((1, 1, 1)), (-11.5, -22.0, 33.0))


def test_no_space_fields_uses_spacings(tmp_path):
    nrrd.write(str(tmp_path / "s.nrrd"), np.zeros((2, 3, 4), np.uint8), {"spacings": [0.5, 0.25, 2.0]})
    g = io.read_volume(tmp_path / "s.nrrd").geometry
    assert g.spacing == (0.5, 0.25, 2.0) and g.origin == (0.0, 0.0, 0.0)
