"""`segedit` command line. With no sub-command it starts the GUI (app.ui.launch); sub-commands are Qt-free."""
from __future__ import annotations

import sys

SUBCOMMANDS = ("info", "convert", "import-masks", "export-masks")
OVERVIEW = """segedit [FILE ...]            start the editor with those files (options below)
segedit info FILE [--labels TABLE] [--json]
segedit convert IN OUT [--labels TABLE] [--collapse | --single-layer] [--compression-level N]
segedit import-masks OUT MASK_OR_FOLDER ... [--compression-level N]
segedit export-masks IN FOLDER [--labels TABLE] [--format nii.gz|nii|nrrd] [--compression-level N]
segedit stats SEG [--reference IMG] [--labels TABLE] [--percentiles P,...] [--surface] [--csv OUT | --json]
segedit compare A B [--labels TABLE [TABLE_B]] [--by label|name | --map CSV] [--no-distances] [--csv OUT | --json]
segedit COMMAND --help        details of a command
segedit --install-desktop-entry   add segedit to this user's application menu (freedesktop entry + icon)
"""


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as _version

    try:
        return _version("segedit")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("--version", "-V"):
        print(f"segedit {version()}")
        return 0
    if argv and argv[0] == "--install-desktop-entry":
        from app.resources import install_desktop_entry

        for path in install_desktop_entry():
            print(path)
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(OVERVIEW)
    if argv and argv[0] in ("stats", "compare"):          # measuring commands (app/commands_measure.py)
        from app import commands_measure

        return commands_measure.main(argv)
    if argv and argv[0] in SUBCOMMANDS:
        from app import commands

        return commands.main(argv)
    from app.ui.launch import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
