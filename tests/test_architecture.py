"""The design card, enforced: import-linter's contracts in pyproject.toml (layers ui > render > model, io > model;
no cycles; model/io without Qt or VTK; app.ui.view_tools Qt-free; the parts of the NRRD reader and of the
Segmentation), plus what static contracts cannot see (imports made at run time through importlib)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    exe = [str(LINT)] if LINT.exists() else [sys.executable, "-c",
                                             "import sys; from importlinter.cli import lint_imports_command as c; "
                                             "sys.exit(c())"]
    return subprocess.run(exe + ["--no-cache", "--config", str(root / "pyproject.toml")], cwd=root,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}, capture_output=True, text=True)


def test_import_contracts_are_kept():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout and "9 kept" in out.stdout


@pytest.mark.parametrize("path, line, contract", [
    ("app/model/segment.py", "from app.ui import view_layout", "Imports point one way"),
    ("app/io/errors.py", "import PySide6.QtCore", "File formats import no Qt"),
    ("app/model/boxes.py", "from .edits import apply_mask", "No import cycles"),
    ("app/ui/view_tools/base.py", "from PySide6.QtCore import Qt", "The interactive tools are Qt-free"),
    ("app/render/lut.py", "from app.io import read_volume", "Imports point one way"),
    ("app/io/nrrd_geometry.py", "from .nrrd_data import read_data", "NRRD reading in three parts"),
    ("app/io/nrrd_header.py", "from .nrrd_geometry import list_axis", "NRRD reading in three parts"),
    ("app/model/segment_store.py", "from .layer_store import LayerStore", "The Segmentation's parts"),
    ("app/model/layer_store.py", "from .segmentation import SegmentationError", "The Segmentation's parts"),
])
def test_a_wrong_way_import_breaks_a_contract(tmp_path, path, line, contract):
    """The contracts can fail: a copy of the tree with one deliberate wrong-way import is rejected."""
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / path
    target.write_text(target.read_text() + f"\n{line}  # deliberate\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    broken = out.stdout.split("Contracts:")[0]
    assert f"{contract}" in broken and "BROKEN" in broken, out.stdout


def test_model_and_io_load_neither_qt_nor_vtk_at_run_time():
    """Importing every module of app.model and app.io (as importlib would) loads no Qt, VTK or plotting module."""
    code = ("import sys, importlib, pkgutil, app.model, app.io\n"
            "for pkg in (app.model, app.io):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "print(' '.join(sorted({k.split('.')[0] for k in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(out.stdout.split())
    assert "app" in loaded
    assert not loaded & {"PySide6", "shiboken6", "pyqtgraph", "vtk", "vtkmodules"}
