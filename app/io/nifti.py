"""NIfTI-1/2 (`.nii`, `.nii.gz`) reading and writing, placed in LPS exactly as ITK (and so 3D Slicer) places it.

ITK's rule (NiftiImageIO::SetImageIOOrientationFromNIfTI, ITK 5.x): spacing is always `pixdim`; with neither a
qform nor an sform code, directions are the identity in LPS and the origin is 0; otherwise the sform wins when it is
an orthonormal rotation once its column lengths are removed and either the qform code is 0, the sform code is 1
(scanner anatomical) or the two forms agree; else the qform; a file whose only orientation is a sheared sform is
refused. The RAS result is flipped to LPS (x and y negated). The writer sets both forms (codes 1), like ITK.
"""
from __future__ import annotations

import io
import struct
from pathlib import Path

import nibabel as nib
import numpy as np

from app.model.geometry import Geometry

from .atomic import atomic_write
from .errors import FileFormatError
from .grey_values import rescale_slices
from .gzip_fast import TruncatedData, gunzip_into, gunzip_pieces, gunzip_prefix, gzip_chunks
from .lattice import check_spacing, check_writable
from .limits import TooLarge, check_allocation

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
_MAX_EXTENSIONS = 64
_MAX_ECODE = 1024            # NIfTI's registered extension codes are below 100


def is_gz(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open(path: Path):
    if is_gz(path):
        from isal import igzip

        return igzip.open(path, "rb")
    return open(path, "rb")


def read_header(path: Path):
    """(header, data offset) of a NIfTI-1 or NIfTI-2 file. Only the bytes the header needs are read (and, in a
    .nii.gz, decompressed): header extensions of any size are skipped through `vox_offset`, and bytes after the
    end of the data (trailing junk after the gzip stream) are never looked at, whatever the file's size."""
    first = _prefix(path, 4)
    if len(first) < 4:
        raise FileFormatError(f"{path.name} is too short to be a NIfTI file")
    size_le, size_be = struct.unpack("<i", first)[0], struct.unpack(">i", first)[0]
    klass = nib.Nifti2Header if 540 in (size_le, size_be) else nib.Nifti1Header
    if 348 not in (size_le, size_be) and klass is nib.Nifti1Header:
        raise FileFormatError(f"{path.name} is not a NIfTI file (its header size field is {size_le})")
    size = 540 if klass is nib.Nifti2Header else 348
    head = _prefix(path, size + 4)
    if len(head) < size:
        raise FileFormatError(f"{path.name} is too short to be a NIfTI file")
    try:   # extension flag cleared: nibabel must not try to read extensions we do not use (and may not have)
        hdr = klass.from_fileobj(io.BytesIO(head[:size] + bytes(4)), check=False)
    except Exception as exc:  # nibabel raises several types for malformed headers
        raise FileFormatError(f"{path.name} has an invalid NIfTI header ({exc})") from None
    if hdr["magic"] not in (b"n+1", b"n+2"):
        raise FileFormatError(f"{path.name} is a header/image pair or Analyze file; only single-file NIfTI is read")
    raw = float(hdr["vox_offset"])
    if not np.isfinite(raw) or not 0 <= raw < 2**62:
        raise FileFormatError(f"{path.name} has an invalid data offset ({raw:g}) in its NIfTI header")
    offset = int(raw) or _offset_after_extensions(path, size, size_le not in (348, 540))
    return hdr, offset


def _prefix(path: Path, n: int) -> bytes:
    """The first `n` bytes of the (decompressed) file, or fewer when it is shorter."""
    try:
        with open(path, "rb") as fh:
            return gunzip_prefix(fh.read, n) if is_gz(path) else fh.read(n)
    except TruncatedData as exc:
        raise FileFormatError(f"{path.name} cannot be read as NIfTI ({exc})") from None
    except OSError as exc:
        raise FileFormatError(f"{path.name} cannot be read as NIfTI ({exc.strerror or exc})") from None


def _layout(first: bytes) -> tuple[int, bool]:
    """(header size, big-endian) from the file's first 4 bytes (its header size field: 348 or 540)."""
    big = struct.unpack("<i", first)[0] not in (348, 540)
    return (540 if struct.unpack(">i" if big else "<i", first)[0] == 540 else 348), big


def _extension_spans(path: Path, size: int, big: bool, limit: int | None = None) -> list[tuple[int, int, int]]:
    """(position, size, ecode) of each header extension after the header of `size` bytes, walked by their sizes in
    the header's byte order: at most _MAX_EXTENSIONS of them, ending by `limit` bytes when given; [] when the
    extension flag is clear. The data's offset when vox_offset is 0 and the extensions themselves both come from
    this walk."""
    flag = _prefix(path, size + 4)[size:]
    if len(flag) < 1 or flag[0] == 0:
        return []
    out, pos = [], size + 4
    for _ in range(_MAX_EXTENSIONS):
        head = _prefix(path, pos + 8)[pos:]
        if len(head) < 8:
            break
        esize, ecode = struct.unpack(">ii" if big else "<ii", head)
        if esize < 16 or esize % 16 or not 0 <= ecode < _MAX_ECODE or (limit is not None and pos + esize > limit):
            break                 # (with vox_offset 0 nothing marks the last one: the data after it can read as a
                                  # size; registered codes are small, so a code past them ends the walk too)
        out.append((pos, esize, ecode))
        pos += esize
    return out


def _offset_after_extensions(path: Path, size: int, big: bool) -> int:
    """Where the data starts when `vox_offset` is 0: after the header and its extensions."""
    spans = _extension_spans(path, size, big)
    return spans[-1][0] + spans[-1][1] if spans else size + 4


def extensions(path, limit: int = 16 << 20) -> list[tuple[int, bytes]]:
    """(ecode, content) of a NIfTI file's header extensions, in order: at most _MAX_EXTENSIONS of them and `limit`
    bytes in all (a .nii.gz decompresses only that far). [] when the extension flag is clear."""
    path = Path(path)
    first = _prefix(path, 4)
    if len(first) < 4:
        return []
    size, big = _layout(first)
    return [(ecode, _prefix(path, pos + esize)[pos + 8:pos + esize])
            for pos, esize, ecode in _extension_spans(path, size, big, limit)]


def embedded_label_table(path):
    """The label table in a NIfTI's Caret XML extension (TotalSegmentator's multi-label files, Connectome
    Workbench's label volumes): {value: LabelEntry}, or None when it has none."""
    from .color_tables import caret_label_table

    for _code, content in extensions(path):
        table = caret_label_table(content)
        if table:
            return table
    return None


def read(path, progress=None) -> tuple[np.ndarray, Geometry]:
    """(array indexed [i, j, k], LPS geometry)."""
    path = Path(path)
    hdr, offset = read_header(path)
    shape = _shape3(hdr, path.name)
    try:
        dtype = hdr.get_data_dtype()
    except (KeyError, ValueError, TypeError):
        dtype = None
    if dtype is None or dtype.kind not in "biuf":        # unknown codes, RGB, complex
        raise FileFormatError(f"{path.name}: NIfTI data type code {int(hdr['datatype'])} is not supported")
    try:
        check_allocation(shape, dtype.itemsize, path.name)
    except TooLarge as exc:
        raise FileFormatError(str(exc)) from None
    flat = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=dtype.newbyteorder("="))
    buf = memoryview(flat).cast("B")
    try:
        with open(path, "rb") as fh:
            if is_gz(path):      # progress per decoded piece: a Cancel stops a 500 MB decode within one piece
                gunzip_into(fh.read, buf, offset, progress=progress)
            else:
                fh.seek(offset)
                if fh.readinto(buf) != len(buf):
                    raise TruncatedData("the image data is shorter than its header says")
    except TruncatedData as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None
    if dtype.byteorder not in ("=", "|", nib.volumeutils.native_code):
        flat = flat.view(dtype).astype(dtype.newbyteorder("="))
    arr = flat.reshape(shape, order="F")
    try:
        slope, inter = hdr.get_slope_inter()
    except nib.spatialimages.HeaderDataError as exc:       # e.g. a NaN intercept with a valid slope
        raise FileFormatError(f"{path.name}: {exc}") from None
    if slope is not None and (slope != 1 or (inter or 0) != 0):      # real values in the smallest fitting type
        a, b = float(slope), float(inter or 0)
        arr = rescale_slices(arr, [(a, b)] * arr.shape[2], [(a, b, float(arr.min()), float(arr.max()))])
    if progress:
        progress(1.0)
    try:
        return arr, geometry(hdr, shape, path.name)
    except FileFormatError:
        raise
    except (ValueError, nib.spatialimages.HeaderDataError) as exc:   # NaN/zero spacing, a bad quaternion
        raise FileFormatError(f"{path.name}: {exc}") from None


def foreground(path, sample: int = 4):
    """The non-zero, non-NaN voxels of a mask file as flat indices in Fortran order (i fastest: the file's own
    order), its geometry, whether they hold more than one value, and up to `sample` of those values; None when the file needs scaling or
    byte swapping (then read it whole). The data is decoded in bounded pieces and never held whole: 117
    TotalSegmentator masks of 512x512x1000 are 30 GB decoded, but a few MB of indices."""
    path = Path(path)
    hdr, offset = read_header(path)
    shape = _shape3(hdr, path.name)
    try:
        dtype = hdr.get_data_dtype()
        slope, inter = hdr.get_slope_inter()
    except (KeyError, ValueError, TypeError, nib.spatialimages.HeaderDataError):
        return None
    if dtype.kind not in "biuf" or dtype.byteorder not in ("=", "|", nib.volumeutils.native_code) or \
            (slope is not None and (slope != 1 or (inter or 0) != 0)):
        return None
    dtype = dtype.newbyteorder("=")
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found, values, done, carry = [], set(), 0, b""
    lo = hi = None
    try:
        with open(path, "rb") as fh:
            if is_gz(path):
                pieces = gunzip_pieces(fh.read, n, offset)
            else:
                fh.seek(offset)
                pieces = iter(lambda: fh.read(min(1 << 24, n - fh.tell() + offset)) or b"", b"")
            for piece in pieces:
                if carry:
                    piece = carry + piece
                usable = len(piece) - len(piece) % dtype.itemsize
                carry = piece[usable:]
                a = np.frombuffer(piece, dtype=dtype, count=usable // dtype.itemsize)
                hit = a != 0
                if dtype.kind == "f":
                    hit &= ~np.isnan(a)
                idx = np.flatnonzero(hit)
                if idx.size:
                    v = a[idx]
                    vmin, vmax = v.min(), v.max()
                    lo = vmin if lo is None else min(lo, vmin)
                    hi = vmax if hi is None else max(hi, vmax)
                    if len(values) < sample:
                        values.update(np.unique(v[:4096])[:sample].tolist())
                    found.append(idx + done)
                done += a.size
    except TruncatedData as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None
    if done * dtype.itemsize < n:
        raise FileFormatError(f"{path.name}: the image data is shorter than its header says")
    idx = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    try:
        return idx, geometry(hdr, shape, path.name), lo is not None and lo != hi, sorted(values)[:sample]
    except FileFormatError:
        raise
    except (ValueError, nib.spatialimages.HeaderDataError) as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None


def _shape3(hdr, name: str) -> tuple[int, int, int]:
    shape = list(hdr.get_data_shape())
    while len(shape) > 3 and shape[-1] == 1:
        shape.pop()
    if len(shape) > 3:
        raise FileFormatError(f"{name} is a {len(shape)}-dimensional image ({'x'.join(map(str, shape))}); "
                              f"a 3D image is needed")
    shape += [1] * (3 - len(shape))
    if min(shape) <= 0:
        raise FileFormatError(f"{name} has an empty dimension {tuple(shape)}")
    return tuple(int(s) for s in shape)


def geometry(hdr, shape, name: str = "the image") -> Geometry:
    spacing = [abs(float(p)) or 1.0 for p in hdr["pixdim"][1:4]]      # ITK: a zero pixdim means 1
    check_spacing(spacing, name)
    matrix = choose_affine(hdr, name)
    if matrix is None:
        return Geometry(shape, spacing)
    lps = RAS_TO_LPS @ matrix
    cols = lps[:3, :3]
    dirs = cols / np.linalg.norm(cols, axis=0)
    return Geometry(shape, spacing, tuple(lps[:3, 3]), tuple(map(tuple, dirs)))


def choose_affine(hdr, name: str) -> np.ndarray | None:
    """The RAS affine ITK would use (see the module docstring), or None for "identity at the origin"."""
    qcode, scode = int(hdr["qform_code"]), int(hdr["sform_code"])
    if qcode <= 0 and scode <= 0:
        return None
    sform = hdr.get_sform()
    qform = hdr.get_qform() if qcode > 0 else None
    if scode > 0 and _orthonormal(sform):
        agree = qform is not None and np.allclose(qform, sform, atol=1e-4)
        if qcode <= 0 or scode == 1 or agree:
            return _finite(sform, "sform", name)
    if qform is not None:
        return _finite(qform, "qform", name)
    raise FileFormatError(f"{name}: its only orientation (the sform) is sheared or degenerate, which ITK and "
                          f"3D Slicer refuse as well")


def _finite(m: np.ndarray, which: str, name: str) -> np.ndarray:
    """The chosen form, refused when any number in it (rotation or translation) is NaN or infinite: ITK would
    place the image nowhere, and silently dropping the bad numbers would place it somewhere wrong."""
    if not np.all(np.isfinite(np.asarray(m, float))):
        raise FileFormatError(f"{name}: its {which}, which places the image, holds NaN or infinite numbers")
    return m


def _orthonormal(m: np.ndarray) -> bool:
    cols = np.asarray(m, float)[:3, :3]
    norms = np.linalg.norm(cols, axis=0)
    if not np.all(np.isfinite(cols)) or np.any(norms <= 0):
        return False
    d = cols / norms
    return bool(np.allclose(d.T @ d, np.eye(3), atol=1e-4))


def write(path, arr: np.ndarray, geom: Geometry, compression_level: int = 1, extensions=()) -> None:
    """Write a 3D array with qform and sform (codes 1) set from the LPS geometry; gzip when the name ends .gz;
    `extensions`: (ecode, content) header extensions (a labelmap's Caret XML label table)."""
    path = Path(path)
    check_writable(geom, path.name)
    affine = RAS_TO_LPS @ geom.ijk_to_lps
    arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)      # the bytes streamed below are the header's order
    try:
        with np.errstate(all="ignore"):
            img = nib.Nifti1Image(arr, affine)
            img.header.set_qform(affine, code=1)
            img.header.set_sform(affine, code=1)
    except (nib.spatialimages.HeaderDataError, np.linalg.LinAlgError, ValueError):
        raise FileFormatError(f"{path.name}: this lattice (spacing {geom.spacing}, origin {geom.origin}) cannot be "
                              f"stored in a NIfTI header; save as .nrrd or .seg.nrrd instead") from None
    img.header.set_xyzt_units("mm")
    for code, content in extensions:
        img.header.extensions.append(nib.nifti1.Nifti1Extension(code, content))
    _check_readable(img.header, arr.shape, geom, path.name)
    # the bytes nibabel's to_bytes() gives (a test compares them for every type written), without its copy of
    # the whole volume: the header as it writes it, then the array itself in Fortran order (no copy when it is
    # already; a 512x512x1000 mask: 0.14 s and 262 MB less)
    img.update_header()
    hdr = img.header
    hdr.set_data_offset(352 + hdr.extensions.get_sizeondisk())    # NIfTI-1 single file: 348 bytes of header,
                                                                   # 4 of extension flag, then the extensions
    hdr.set_slope_inter(1.0, 0.0)
    head = io.BytesIO()
    hdr.write_to(head)
    flat = np.asfortranarray(arr).reshape(-1, order="F")
    pieces = [head.getvalue(), memoryview(flat).cast("B")]
    with atomic_write(path) as fh:
        if is_gz(path):
            for piece in gzip_chunks(pieces, max(1, compression_level)):
                fh.write(piece)
        else:
            for piece in pieces:
                fh.write(piece)


def _check_readable(hdr, shape, geom: Geometry, name: str) -> None:
    """The header as written (float32 numbers) must be read back, by our own reader's rule, onto the same
    lattice; else nothing is written (a spacing below float32's range would come back as 1 mm, say)."""
    try:
        back = geometry(hdr, tuple(shape) + (1,) * (3 - len(shape)), name)
    except (FileFormatError, ValueError, nib.spatialimages.HeaderDataError):
        back = None
    scale = max(1.0, float(np.max(np.abs(geom.origin))))
    if back is None or not (np.allclose(back.spacing, geom.spacing, rtol=1e-5, atol=0)
                            and np.allclose(back.direction_matrix, geom.direction_matrix, atol=1e-4)
                            and np.allclose(back.origin, geom.origin, rtol=1e-5, atol=1e-4 * scale)):
        raise FileFormatError(f"{name}: this lattice (spacing {geom.spacing}, origin {geom.origin}) cannot be "
                              f"stored exactly in a NIfTI header; save as .nrrd or .seg.nrrd instead")
