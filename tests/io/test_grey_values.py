"""Grey values with a slope and an intercept are read in the smallest type that holds them (never float64 for a CT),
and equal nibabel's own scaling."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from app import io


@pytest.mark.parametrize("stored, lo, hi, slope, inter, expect", [
    (np.int16, -1000, 3000, 1.0, -1024.0, np.int16),     # a CT from dcm2niix: stays 16-bit
    (np.uint16, 0, 4095, 1.0, -1024.0, np.int16),
    (np.int16, -1000, 3000, 2.0, -1024.0, np.int16),     # the values present decide, not the stored type's range
    (np.int16, -30000, 30000, 2.0, -1024.0, np.int32),   # twice these needs 32 bits
    (np.int16, -1000, 3000, 0.5, 0.25, np.float32),      # fractional: float32, not float64
    (np.float32, 0, 3000, 2.0, 1.0, np.float32),         # float data stays float
])
def test_nifti_rescaled_smallest_type_equal_to_nibabel(tmp_path, stored, lo, hi, slope, inter, expect):
    rng = np.random.default_rng(0)
    raw = rng.integers(lo, hi, size=(9, 8, 7)).astype(stored)
    img = nib.Nifti1Image(raw, np.diag([-0.8, -0.8, 1.5, 1.0]))
    img.header.set_data_dtype(stored)
    img.header.set_slope_inter(slope, inter)
    nib.save(img, tmp_path / "ct.nii.gz")
    vol = io.read_volume(tmp_path / "ct.nii.gz")
    assert vol.array.dtype == np.dtype(expect)
    expected = np.asanyarray(nib.load(tmp_path / "ct.nii.gz").dataobj).astype(np.float64)
    assert np.allclose(vol.array.astype(np.float64), expected, rtol=1e-6, atol=1e-6)
