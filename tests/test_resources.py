"""The files segedit ships (app/resources/): found in the source tree, carried by a wheel, usable after install."""
import configparser
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app import resources
from app.model.segment import ANATOMY_COLORS, generated_color

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("segedit.svg", "segedit.desktop", "default_colors.json")


def test_resource_path_finds_the_shipped_files_and_refuses_others():
    for name in SHIPPED:
        path = resources.resource_path(name)
        assert path.is_file() and path.stat().st_size > 0 and path.name == name
    with pytest.raises(FileNotFoundError, match="'nothing.json' is missing"):
        resources.resource_path("nothing.json")
    with pytest.raises(ValueError):
        resources.resource_path("../pyproject.toml")


def test_new_segments_take_the_shipped_colour_table():
    data = json.loads((ROOT / "app" / "resources" / "default_colors.json").read_text())
    rgb = [tuple(c["rgb"]) for c in data["colors"]]
    assert len(rgb) == 20 and ANATOMY_COLORS == tuple(rgb)
    assert [tuple(round(c * 255) for c in generated_color(n)) for n in range(20)] == rgb


def test_desktop_entry_is_valid_and_installs_for_the_user(tmp_path):
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(resources.resource_path("segedit.desktop"))
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].split()[0] == "segedit" and d["Icon"] == "segedit"
    assert d["Categories"].endswith(";")
    out = resources.install_desktop_entry(tmp_path)
    assert out == [tmp_path / "applications/segedit.desktop", tmp_path / "icons/hicolor/scalable/apps/segedit.svg"]
    assert out[1].read_bytes() == resources.resource_path("segedit.svg").read_bytes()


def test_the_icon_is_a_picture(qapp):
    from PySide6.QtGui import QIcon

    icon = QIcon(str(resources.resource_path("segedit.svg")))
    img = icon.pixmap(64, 64).toImage()
    assert not icon.isNull() and img.width() == 64
    colours = {img.pixelColor(x, y).name() for x in range(0, 64, 4) for y in range(0, 64, 4)}
    assert len(colours) >= 5                   # the coloured regions, not a blank


def _build_wheel(src: Path, dist: Path) -> Path:
    """The wheel of the sources in `src`, offline. With a setuptools that can build wheels here (>= 70.1, or the
    `wheel` package) through pip; otherwise (the shared venv: setuptools 65 without `wheel`) setuptools' own
    build_py collects the packages and their package data, exactly what bdist_wheel would put in, and the
    files are zipped with the wheel's metadata."""
    import importlib.util
    import tomllib

    import setuptools

    dist.mkdir()
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    if importlib.util.find_spec("wheel") or (major, minor) >= (70, 1):
        subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "wheel", "--no-deps",
                        "--no-build-isolation", "--no-index", "-w", str(dist), str(src)], check=True,
                       capture_output=True, text=True, cwd=src)
        return next(dist.glob("segedit-*.whl"))
    lib = src / "build" / "lib"
    subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "build_py", "--build-lib",
                    str(lib)], check=True, capture_output=True, text=True, cwd=src)
    meta = tomllib.loads((src / "pyproject.toml").read_text())["project"]
    info = f"segedit-{meta['version']}.dist-info"
    wheel = dist / f"segedit-{meta['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        files = sorted(p for p in lib.rglob("*") if p.is_file())
        for p in files:
            z.write(p, p.relative_to(lib).as_posix())
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: segedit\nVersion: {meta['version']}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: segedit-tests\nRoot-Is-Purelib: true\n"
                                     "Tag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "".join(f"{p.relative_to(lib).as_posix()},,\n" for p in files)
                   + f"{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")
    return wheel


def test_a_wheel_carries_the_resources_and_an_install_finds_them(tmp_path):
    """Build the wheel from a copy of the sources (nothing is written into the tree), install it into a scratch
    venv with no network (no dependencies, no build isolation) and ask the installed package for its files."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "app", src / "app", ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    wheel = _build_wheel(src, tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for name in SHIPPED:
        assert f"app/resources/{name}" in names, names
    assert "app/model/segmentation.py" in names and "app/ui/main_window.py" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "--python", str(py), "install",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, text=True, cwd=tmp_path)
    code = ("import json, app, app.resources as r\n"
            "print(json.dumps({'pkg': app.__file__, 'files': {n: str(r.resource_path(n)) for n in %r},"
            " 'colors': r.default_colors()}))" % (SHIPPED,))
    out = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin"})
    got = json.loads(out.stdout)
    assert Path(got["pkg"]).is_relative_to(venv)                  # the installed copy, not the source tree
    for name, path in got["files"].items():
        assert Path(path).is_relative_to(venv)
        assert Path(path).read_bytes() == (ROOT / "app" / "resources" / name).read_bytes()
    assert [tuple(c) for c in got["colors"]] == list(ANATOMY_COLORS)


def test_the_command_line_installs_the_menu_entry(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "app", "--install-desktop-entry"], env=env, capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(tmp_path / "applications/segedit.desktop"),
                                str(tmp_path / "icons/hicolor/scalable/apps/segedit.svg")]
    assert (tmp_path / "applications/segedit.desktop").read_text().startswith("[Desktop Entry]")
