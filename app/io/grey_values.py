"""Grey values stored with a slope and an intercept (DICOM RescaleSlope/Intercept, NIfTI scl_slope/scl_inter),
turned into real values in the smallest type that holds them: a CT stored as 16-bit integers with an intercept of
-1024 stays 16-bit, never 64-bit floats (4x the memory of a 512x512x1000 CT). Applied one slice at a time, in place
when the stored type holds the result, so no whole-volume temporary is made."""
from __future__ import annotations

import numpy as np

from .errors import warn


def rescaled_dtype(stored: np.dtype, ranges: list[tuple[float, float, float, float]]) -> np.dtype:
    """The smallest type holding every rescaled value: integers when every slope and intercept is integral."""
    integral = all(float(a).is_integer() and float(b).is_integer() for a, b, _, _ in ranges)
    lo = min(min(a * mn + b, a * mx + b) for a, b, mn, mx in ranges)
    hi = max(max(a * mn + b, a * mx + b) for a, b, mn, mx in ranges)
    if np.dtype(stored).kind == "f":
        return np.dtype(stored) if np.dtype(stored).itemsize >= 4 else np.dtype(np.float32)
    if not integral:
        return np.dtype(np.float32)
    for t in (stored, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32):
        t = np.dtype(t)
        if t.kind in "iu" and np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return np.dtype(np.float64)


def rescale_slices(arr: np.ndarray, transforms: list[tuple[float, float]], ranges) -> np.ndarray:
    """Apply each slice's slope and intercept, in the smallest type that holds the result (in place when it
    fits the stored type)."""
    if all(a == 1.0 and b == 0.0 for a, b in transforms):
        return arr
    dtype = rescaled_dtype(arr.dtype, ranges)
    out = arr if dtype == arr.dtype else np.empty(arr.shape, dtype=dtype, order="F")
    integral = dtype.kind != "f"
    for k, (a, b) in enumerate(transforms):
        if integral:
            plane = arr[:, :, k].astype(np.int64)
            plane *= int(a)
            plane += int(b)
        else:
            plane = arr[:, :, k].astype(np.float64)
            plane *= a
            plane += b
        out[:, :, k] = plane
    if dtype.kind == "f" and dtype != np.float32:
        warn("the rescaled grey values need 64-bit floating point")
    return out
