"""Several files read at once (app.io.parallel_reads): each on its own thread, results in order and checked
against nibabel; each file's error stays its own; a cancel stops every read and leaves no thread running; each
thread keeps its own warnings; a labelmap is told and counted on its reading thread."""
from __future__ import annotations

import threading
import warnings

import nibabel as nib
import numpy as np
import pytest

from app.io import FileFormatError, parallel_reads
from app.io.errors import collected, warn


def _nifti(path, arr):
    nib.save(nib.Nifti1Image(arr, np.diag([-0.8, -0.8, 1.5, 1.0])), path)
    return path


def _files(tmp_path):
    rng = np.random.default_rng(3)
    labels = np.zeros((40, 32, 24), np.uint8)
    labels[3:20, 4:18, 2:12] = 7
    labels[22:38, 10:30, 5:20] = 12
    ct = rng.integers(-1000, 1500, (40, 32, 24)).astype(np.int16)
    return _nifti(tmp_path / "labels.nii.gz", labels), _nifti(tmp_path / "ct.nii.gz", ct)


def test_two_reads_on_two_threads_at_once(tmp_path, overlapping_reads):
    lab, ct = _files(tmp_path)
    threads = overlapping_reads
    reads = parallel_reads.start([lab], ct)
    seen = []
    results = reads.wait(lambda f: seen.append(f))
    assert len({t.ident for t in threads}) == 2 and threading.main_thread() not in threads
    assert reads.roles == [("image", lab), ("reference", ct)]
    image, reference = results
    assert np.array_equal(image.volume.array, np.asanyarray(nib.load(lab).dataobj))
    assert np.array_equal(reference.volume.array, np.asanyarray(nib.load(ct).dataobj))
    assert image.labelmap_like is True and reference.labelmap_like is None    # the reference is not looked at
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)


def test_a_grey_image_is_not_taken_for_a_labelmap(tmp_path):
    _, ct = _files(tmp_path)
    got = parallel_reads.read_image(ct)
    assert got.labelmap_like is False


def test_a_broken_file_is_its_own_error_and_the_other_is_read(tmp_path):
    lab, ct = _files(tmp_path)
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(ct.read_bytes()[:4000])                  # truncated gzip stream
    for paths, reference, bad in (([lab], broken, 1), ([broken], ct, 0)):
        reads = parallel_reads.start(paths, reference)
        results = reads.wait()
        assert isinstance(results[bad], FileFormatError) and "broken.nii.gz" in str(results[bad])
        good = results[1 - bad]
        assert not isinstance(good, BaseException)
        assert good.volume.array.shape == (40, 32, 24)


class Cancelled(Exception):
    pass


def test_cancel_stops_every_read_and_leaves_no_thread(tmp_path):
    lab, ct = _files(tmp_path)
    started = [threading.Event(), threading.Event()]

    def endless(n):
        def read(path, progress):
            started[n].set()
            while True:                              # only a stop ends it
                progress(0.5)
                threading.Event().wait(0.001)
        return read

    reads = parallel_reads.Reads([(lab, endless(0)), (ct, endless(1))])

    def progress(fraction):
        if all(e.is_set() for e in started):
            raise Cancelled()

    with pytest.raises(Cancelled):
        reads.wait(progress)
    assert not any(t.is_alive() for t in reads._threads)
    assert all(isinstance(r, parallel_reads.Stopped) for r in reads._results)


def test_a_cancel_during_a_real_decode_stops_it(tmp_path):
    """The NIfTI decoder reports progress per piece, so a stop lands inside the decode, not after it."""
    from app.io import nifti

    big = np.zeros((256, 256, 320), np.int16)
    big[::3] = np.arange(320, dtype=np.int16)                      # 42 MB decoded: several pieces
    path = _nifti(tmp_path / "big.nii.gz", big)
    calls = []

    def progress(fraction):
        calls.append(fraction)
        raise Cancelled()

    with pytest.raises(Cancelled):
        nifti.read(path, progress)
    assert calls[-1] < 1.0


def test_each_thread_keeps_its_own_warnings(tmp_path):
    lab, ct = _files(tmp_path)
    go = threading.Barrier(2, timeout=20)

    def noisy(word):
        def read(path, progress):
            go.wait()
            for n in range(50):
                warn(f"{word} {n}")
            return word
        return read

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reads = parallel_reads.Reads([(lab, noisy("a")), (ct, noisy("b"))])
        assert reads.wait() == ["a", "b"]
    assert reads.notes == [[f"a {n}" for n in range(50)], [f"b {n}" for n in range(50)]]
    assert not [w for w in caught if "a " in str(w.message) or "b " in str(w.message)]
    with collected() as notes:                  # and outside a collection, warnings are warnings again
        warn("inside")
    assert notes == ["inside"]
    with pytest.warns(UserWarning, match="outside"):
        warn("outside")


def test_one_file_or_none_starts_nothing_unless_asked(tmp_path):
    lab, ct = _files(tmp_path)
    table = tmp_path / "labels.ctbl"
    table.write_text("0 bg 0 0 0 0\n7 a 255 0 0 255\n")
    assert parallel_reads.start([lab, table]) is None                  # a table is not read as an image
    assert parallel_reads.start([tmp_path / "x.seg.nrrd"], None, at_least=1) is None
    one = parallel_reads.start([lab], None, at_least=1)
    assert one is not None and [r.volume.array.shape for r in one.wait()] == [(40, 32, 24)]


def test_the_switch_interval_is_quick_while_reads_run_and_restored_after(tmp_path):
    import sys

    lab, ct = _files(tmp_path)
    before = sys.getswitchinterval()
    release = threading.Event()
    during = []

    def held(path, progress):
        during.append(sys.getswitchinterval())
        release.wait(20)
        return path

    reads = parallel_reads.Reads([(lab, held), (ct, held)])
    assert sys.getswitchinterval() == pytest.approx(parallel_reads.QUICK_SWITCH_S)
    release.set()
    assert reads.wait() == [lab, ct]
    assert during == [pytest.approx(parallel_reads.QUICK_SWITCH_S)] * 2
    assert sys.getswitchinterval() == before


SPY = """
import sys, threading
imported = []

class Spy:
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is not threading.main_thread():
            imported.append(name)
        return None

sys.meta_path.insert(0, Spy())
from app.io import parallel_reads
reads = parallel_reads.start(sys.argv[1:-1], sys.argv[-1], at_least=1)
import PySide6.QtWidgets          # what the command line imports meanwhile (shiboken walks sys.modules)
results = reads.wait()
assert not [r for r in results if isinstance(r, BaseException)], results
print("imported on reading threads:", imported)
"""


def test_reading_threads_import_nothing(tmp_path):
    """An import on a reading thread while the main thread imports PySide6 aborted the process ("libshiboken/
    signature: could not initialize", dictionary changed size during iteration): every module a read needs is
    imported before the threads start. Checked in a fresh process with an import spy, NIfTI and NRRD files."""
    import subprocess
    import sys

    import nrrd

    from tests.conftest import ROOT

    lab, ct = _files(tmp_path)
    nrrd.write(str(tmp_path / "grey.nrrd"), np.ones((4, 5, 6), np.int16), compression_level=1)
    r = subprocess.run([sys.executable, "-c", SPY, str(lab), str(tmp_path / "grey.nrrd"), str(ct)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "imported on reading threads: []" in r.stdout, r.stdout
