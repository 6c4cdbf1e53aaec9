"""The CT-size benchmark cases, made here, deterministically (no data files):

(a) `body`: a body-like CT of 512x512x1000 int16 (air, fat, soft tissue, organs, bone-like spine and ribs, noise) at
    0.8x0.8x1.5 mm, with a 117-label uint8 labelmap of organ-like ellipsoid blobs, both written as `.nii.gz`; and the
    same labels as 117 mask files, most of them empty (as TotalSegmentator writes one file per class).
(b) `atlas`: a 512^3 atlas with 1,000 labels (uint16) over a grey volume, as `.nii.gz`.

Files are cached in `benchmarks/results/scale-data/` (git-ignored) under a version stamp, so a second run reuses them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import ROOT

VERSION = 1
FOLDER = ROOT / "benchmarks" / "results" / "scale-data"
BODY_SHAPE = (512, 512, 1000)
BODY_SPACING = (0.8, 0.8, 1.5)
N_BODY_LABELS = 117
N_NONEMPTY_MASKS = 30
ATLAS_SHAPE = (512, 512, 512)
N_ATLAS_LABELS = 1000


def _affine(spacing, shape) -> np.ndarray:
    """A NIfTI (RAS) affine for an LPS-oriented lattice centred on the origin."""
    a = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    a[:3, 3] = [spacing[0] * shape[0] / 2, spacing[1] * shape[1] / 2, -spacing[2] * shape[2] / 2]
    return a


def body(shape=BODY_SHAPE, n_labels: int = N_BODY_LABELS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(ct int16, labels uint8), both Fortran-ordered [i, j, k] as the readers return them."""
    rng = np.random.default_rng(seed)
    ni, nj, nk = shape
    i = np.linspace(-1, 1, ni, dtype=np.float32)[:, None]
    j = np.linspace(-1, 1, nj, dtype=np.float32)[None, :]
    r2 = (i / 0.82) ** 2 + (j / 0.6) ** 2
    body2d = r2 < 1.0
    fat2d = (r2 > 0.8) & body2d
    spine2d = (i ** 2 + (j - 0.35) ** 2) < 0.012
    ct = np.empty(shape, dtype=np.int16, order="F")
    noise = rng.integers(-25, 26, size=(ni, nj), dtype=np.int16)
    for k in range(nk):
        plane = np.full((ni, nj), -1000, dtype=np.int16)
        plane[body2d] = 40
        plane[fat2d] = -90
        plane[spine2d] = 700
        if (k // 25) % 2 == 0:                  # ribs every few centimetres
            ring = (r2 > 0.7) & (r2 < 0.74)
            plane[ring] = 500
        plane += noise
        ct[:, :, k] = np.roll(plane, k % 7, axis=0)
    labels = np.zeros(shape, dtype=np.uint8, order="F")
    centres = rng.uniform([0.25, 0.25, 0.05], [0.75, 0.7, 0.95], size=(n_labels, 3)) * np.array(shape)
    radii = rng.uniform([12, 12, 15], [45, 40, 90], size=(n_labels, 3))
    for n, (c, r) in enumerate(zip(centres, radii), start=1):
        lo = np.maximum(0, np.floor(c - r)).astype(int)
        hi = np.minimum(shape, np.ceil(c + r) + 1).astype(int)
        ii, jj, kk = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        inside = ((ii - c[0]) / r[0]) ** 2 + ((jj - c[1]) / r[1]) ** 2 + ((kk - c[2]) / r[2]) ** 2 < 1
        block = labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        block[inside] = n
        sub = ct[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        sub[inside] = np.int16(20 + 4 * (n % 20))
    return ct, labels


def atlas(shape=ATLAS_SHAPE, n_labels: int = N_ATLAS_LABELS, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(grey int16, labels uint16): a 10x10x10 grid of cells, one label each, with wavy borders, in a sphere."""
    rng = np.random.default_rng(seed)
    cells = int(round(n_labels ** (1 / 3)))
    ids = rng.permutation(cells ** 3)[:n_labels] + 1
    grid = np.zeros((cells,) * 3, dtype=np.uint16)
    grid.flat[:n_labels] = ids[:n_labels]
    labels = np.empty(shape, dtype=np.uint16, order="F")
    ni, nj, nk = shape
    i = np.arange(ni)[:, None]
    j = np.arange(nj)[None, :]
    c = np.array(shape) / 2
    for k in range(nk):
        wi = ((i + 6 * np.sin(j / 17.0 + k / 23.0)) * cells / ni).astype(int).clip(0, cells - 1)
        wj = ((j + 6 * np.sin(i / 19.0 + k / 29.0)) * cells / nj).astype(int).clip(0, cells - 1)
        wk = min(cells - 1, k * cells // nk)
        plane = grid[wi, wj, wk]
        outside = ((i - c[0]) ** 2 + (j - c[1]) ** 2 + (k - c[2]) ** 2) > (0.48 * ni) ** 2
        plane = np.where(outside, 0, plane)
        labels[:, :, k] = plane
    lut = rng.integers(200, 900, size=cells ** 3 + 1).astype(np.int16)
    lut[0] = 20
    grey = np.empty(shape, dtype=np.int16, order="F")
    for k in range(nk):
        grey[:, :, k] = lut[labels[:, :, k]] + rng.integers(0, 60, size=(ni, nj), dtype=np.int16)
    return grey, labels


def body_files(log=print) -> dict:
    """{'ct', 'labels', 'masks'} paths of case (a), made once."""
    folder = FOLDER / f"body-v{VERSION}"
    files = {"ct": folder / "ct.nii.gz", "labels": folder / "labels.nii.gz", "masks": folder / "masks"}
    done = folder / "done"
    if done.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    log("making case (a): 512x512x1000 CT + 117 labels + 117 masks (once)...")
    ct, labels = body()
    _save_gz(ct, BODY_SPACING, files["ct"])
    _save_gz(labels, BODY_SPACING, files["labels"])
    del ct
    files["masks"].mkdir(exist_ok=True)
    counts = np.bincount(labels.ravel(order="K"), minlength=N_BODY_LABELS + 1)
    keep = set(int(x) for x in np.argsort(-counts[1:])[:N_NONEMPTY_MASKS] + 1)
    empty = np.zeros(labels.shape, dtype=np.uint8, order="F")
    for n in range(1, N_BODY_LABELS + 1):
        mask = (labels == n).astype(np.uint8) if n in keep else empty
        _save_gz(np.asfortranarray(mask), BODY_SPACING, files["masks"] / f"structure_{n:03d}.nii.gz")
    done.write_text("ok")
    return files


def atlas_files(log=print) -> dict:
    folder = FOLDER / f"atlas-v{VERSION}"
    files = {"grey": folder / "grey.nii.gz", "labels": folder / "labels.nii.gz"}
    done = folder / "done"
    if done.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    log("making case (b): 512^3 atlas with 1,000 labels + grey (once)...")
    grey, labels = atlas()
    _save_gz(grey, (1.0, 1.0, 1.0), files["grey"])
    _save_gz(labels, (1.0, 1.0, 1.0), files["labels"])
    done.write_text("ok")
    return files


def _save_gz(arr: np.ndarray, spacing, path: Path) -> None:
    """A .nii.gz through nibabel's header and a fast gzip (ISA-L level 1): nibabel's own gzip takes minutes at
    this size."""
    import nibabel as nib
    from isal import igzip

    img = nib.Nifti1Image(arr, _affine(spacing, arr.shape))
    img.header.set_data_dtype(arr.dtype)
    hdr = img.header.copy()
    hdr.set_data_offset(352)
    tmp = path.with_name(path.name + ".part")
    with igzip.open(tmp, "wb", compresslevel=1) as f:
        f.write(hdr.binaryblock)
        f.write(b"\x00" * 4)
        data = arr if arr.flags.f_contiguous else np.asfortranarray(arr)
        step = max(1, (64 << 20) // (arr.shape[0] * arr.shape[1] * arr.itemsize))
        for k0 in range(0, arr.shape[2], step):
            f.write(np.asfortranarray(data[:, :, k0:k0 + step]).tobytes(order="F"))
    tmp.replace(path)
