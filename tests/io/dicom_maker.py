"""Small DICOM files made by the tests themselves (pydicom), never copied from elsewhere.

`write_ct_series` writes one single-frame CT file per slice of a numpy volume `real[i, j, k]` (i along a row, j down
the columns, k along the slice normal) on a given lattice, storing `(real - intercept) / slope`; the files are named
in a shuffled order so a reader must sort them by position. `write_enhanced_ct` writes the same volume as one
enhanced multi-frame file."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (CTImageStorage, EnhancedCTImageStorage, ExplicitVRLittleEndian, generate_uid)

from app.model.geometry import Geometry


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    """A proper rotation matrix (columns: the LPS directions of i, j, k)."""
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _base(sop_class, study: str, series: str, frame_of_reference: str, modality: str = "CT") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.PatientName = "Test^Phantom"
    ds.PatientID = "SEGEDIT-TEST-1"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study
    ds.StudyDate = "20261201"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = "A1"
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = 3
    ds.Modality = modality
    ds.FrameOfReferenceUID = frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "segedit tests"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    return ds


def write_ct_series(folder, real: np.ndarray, geometry: Geometry, slope: float = 1.0, intercept: float = 0.0,
                    series_uid: str | None = None, study_uid: str | None = None, description: str = "CT test",
                    seed: int = 0, skip: tuple[int, ...] = (), transfer_syntax=None) -> dict:
    """Write `real` (shape = geometry.shape) as a CT series in `folder`; returns its UIDs and file paths (in slice
    order). Slices whose index is in `skip` are not written (a series with a missing slice)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored = np.rint((np.asarray(real, dtype=np.float64) - intercept) / slope)
    assert np.allclose(stored * slope + intercept, real), "values must be representable with slope/intercept"
    stored = stored.astype(np.int16)
    study = study_uid or generate_uid()
    series = series_uid or generate_uid()
    frame_of_reference = generate_uid()
    d = geometry.direction_matrix
    ni, nj, nk = geometry.shape
    order = list(range(nk))
    random.Random(seed).shuffle(order)
    paths: list[Path | None] = [None] * nk
    for n, k in enumerate(order):
        if k in skip:
            continue
        ds = _base(CTImageStorage, study, series, frame_of_reference)
        sop = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.SOPInstanceUID = sop
        ds.SeriesDescription = description
        ds.InstanceNumber = k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [f"{v:.10f}" for v in (*d[:, 0], *d[:, 1])]
        ds.ImagePositionPatient = [f"{v:.8f}" for v in geometry.index_to_physical((0, 0, k))]
        ds.PixelSpacing = [f"{geometry.spacing[1]:.8f}", f"{geometry.spacing[0]:.8f}"]   # row spacing, col spacing
        ds.SliceThickness = f"{geometry.spacing[2]:.8f}"
        ds.Rows, ds.Columns = nj, ni
        ds.RescaleSlope = f"{slope:g}"
        ds.RescaleIntercept = f"{intercept:g}"
        ds.RescaleType = "HU"
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).tobytes()
        if transfer_syntax is not None:
            ds.compress(transfer_syntax)
        path = folder / f"IM{n:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths[k] = path
    return {"study": study, "series": series, "frame_of_reference": frame_of_reference,
            "paths": [p for p in paths if p is not None]}


def write_enhanced_ct(path, real: np.ndarray, geometry: Geometry, slope: float = 1.0, intercept: float = 0.0) -> dict:
    """The same volume as ONE enhanced CT multi-frame file (per-frame plane positions, shared orientation, spacing
    and rescale), frames stored in reverse slice order so a reader must sort them."""
    stored = np.rint((np.asarray(real, dtype=np.float64) - intercept) / slope).astype(np.int16)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    ds = _base(EnhancedCTImageStorage, study, series, frame_of_reference)
    sop = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.SOPInstanceUID = sop
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    d = geometry.direction_matrix
    ni, nj, nk = geometry.shape
    ds.Rows, ds.Columns = nj, ni
    ds.NumberOfFrames = nk
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = [f"{v:.10f}" for v in (*d[:, 0], *d[:, 1])]
    shared.PlaneOrientationSequence = [orient]
    measures = Dataset()
    measures.PixelSpacing = [f"{geometry.spacing[1]:.8f}", f"{geometry.spacing[0]:.8f}"]
    measures.SliceThickness = f"{geometry.spacing[2]:.8f}"
    shared.PixelMeasuresSequence = [measures]
    rescale = Dataset()
    rescale.RescaleSlope = f"{slope:g}"
    rescale.RescaleIntercept = f"{intercept:g}"
    rescale.RescaleType = "HU"
    shared.PixelValueTransformationSequence = [rescale]
    ds.SharedFunctionalGroupsSequence = [shared]
    frames = []
    order = list(range(nk))[::-1]
    for k in order:
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [f"{v:.8f}" for v in geometry.index_to_physical((0, 0, k))]
        item.PlanePositionSequence = [pos]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.PixelData = np.ascontiguousarray(np.stack([stored[:, :, k].T for k in order])).tobytes()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return {"study": study, "series": series, "frame_of_reference": frame_of_reference, "paths": [Path(path)]}
