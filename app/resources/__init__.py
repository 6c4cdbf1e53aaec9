"""Files the application ships (package data, so a wheel carries them): the application icon, its freedesktop
menu entry and the default colour table. Qt-free, standard library only.

    from app.resources import resource_path
    resource_path("segedit.svg")            # a pathlib.Path to the installed file
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

APP_ID = "segedit"
ICON = "segedit.svg"
DESKTOP_ENTRY = "segedit.desktop"


def resource_path(name: str) -> Path:
    """The path of a shipped file, e.g. `resource_path("segedit.svg")`. Raises FileNotFoundError, naming the file
    and where it was looked for, when the installation lacks it."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"a resource name is a plain relative name, not {name!r}")
    from importlib import resources      # here, not at import: `segedit info` never asks for a resource

    path = Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(f"segedit's resource {name!r} is missing from {path.parent} (a broken installation)")
    return path


@lru_cache(maxsize=None)
def default_colors() -> tuple[tuple[int, int, int], ...]:
    """The colours new segments get first, RGB 0..255 (`default_colors.json`: Slicer's GenericAnatomyColors)."""
    import json

    data = json.loads(resource_path("default_colors.json").read_text(encoding="utf-8"))
    return tuple(tuple(int(c) for c in entry["rgb"]) for entry in data["colors"])


def install_desktop_entry(data_home: str | os.PathLike | None = None) -> list[Path]:
    """Install the menu entry and the icon for the current user (freedesktop: $XDG_DATA_HOME, default
    ~/.local/share): `applications/segedit.desktop` and `icons/hicolor/scalable/apps/segedit.svg`."""
    import shutil

    home = Path(data_home or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    out = [home / "applications" / DESKTOP_ENTRY, home / "icons" / "hicolor" / "scalable" / "apps" / ICON]
    for src, dst in zip((DESKTOP_ENTRY, ICON), out):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resource_path(src), dst)
    return out
