"""The window's modules import without a QApplication on a real X server: the benchmarks and scripts import
MainWindow first. Asking the platform for a standard key at import time crashed under xcb (segfault)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Debian package xvfb) for a real X server")
def test_the_window_modules_import_before_a_qapplication_under_xcb():
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    res = subprocess.run(["xvfb-run", "-a", "env", "QT_QPA_PLATFORM=xcb", sys.executable, "-c",
                          "import app.ui.main_window, app.ui.file_actions; print('ok')"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-500:]
