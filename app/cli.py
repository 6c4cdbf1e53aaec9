"""`segedit` command line. With no sub-command it starts the GUI (app.ui.launch); sub-commands are Qt-free."""
from __future__ import annotations

import sys

SUBCOMMANDS = ("info", "convert", "import-masks")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        from app import commands

        return commands.main(argv)
    from app.ui.launch import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
