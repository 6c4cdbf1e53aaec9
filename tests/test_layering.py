"""The design card, enforced: model and io import no Qt/VTK; render imports no Qt; imports point one way."""
import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def _imports(pkg: str) -> set[str]:
    code = (f"import sys, importlib, pkgutil, app.{pkg}\n"
            f"for m in pkgutil.walk_packages(app.{pkg}.__path__, 'app.{pkg}.'):\n"
            f"    importlib.import_module(m.name)\n"
            f"print(' '.join(sorted(k.split('.')[0] for k in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_model_imports_neither_qt_nor_vtk():
    mods = _imports("model")
    assert not mods & {"PySide6", "pyqtgraph", "vtk", "vtkmodules", "nrrd", "nibabel"}


def test_io_is_qt_free():
    mods = _imports("io")
    assert not mods & {"PySide6", "pyqtgraph", "vtk", "vtkmodules"}


def test_render_is_qt_free():
    mods = _imports("render")
    assert not mods & {"PySide6", "pyqtgraph"}


def _app_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level:   # relative import inside app: resolve the package
                parts = path.relative_to(APP.parent).with_suffix("").parts[: -node.level]
                out.add(".".join(parts + tuple(node.module.split("."))))
            else:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("app.")}


def test_imports_point_one_way():
    """ui -> render -> model, io -> model; model never imports io/render/ui; render and io never import ui."""
    allowed = {"model": {"model"}, "io": {"model", "io"}, "render": {"model", "render"},
               "ui": {"model", "io", "render", "ui"}}
    for sub, ok in allowed.items():
        for path in (APP / sub).rglob("*.py"):
            for mod in _app_imports(path):
                top = mod.split(".")[1]
                assert top in ok, f"{path.relative_to(APP)} imports {mod}"
