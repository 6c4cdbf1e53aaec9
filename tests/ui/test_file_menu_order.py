"""Issue 12 item 13: Save As (and Export labelmap) open in the document's folder; in the File menu Export
surfaces sits above Quit and Quit is last, whatever the extensions add."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


def test_quit_is_the_last_file_entry_and_export_surfaces_is_above_it(make_window):
    win = make_window(extensions=True)
    texts = [a.text() for a in win.menu("File").actions() if not a.isSeparator()]
    assert texts[-1] == "Quit"
    assert "Export surfaces (STL/OBJ/PLY/VTP)..." in texts
    assert texts.index("Export surfaces (STL/OBJ/PLY/VTP)...") < texts.index("Quit")


def test_save_as_and_export_start_in_the_documents_folder(demo_window, tmp_path, monkeypatch):
    win = demo_window
    folder = tmp_path / "case 7"
    folder.mkdir()
    win.path = folder / "brain.seg.nrrd"
    win.settings.setValue("last_dir", str(tmp_path))            # somewhere else was used last
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, start, filt: (asked.append(start), ("", ""))[1]))
    win.files.save_as()
    win.files.ask_export_labelmap()
    assert [Path(p).parent for p in asked] == [folder, folder]
    assert Path(asked[0]).name == "brain.seg.nrrd"


def test_the_import_entries_stay_together_above_recent_files(make_window):
    """Found looking at the menu: Import mask folder... was added after Import masks..., which the Recent files
    submenu followed, so it landed below the submenu, apart from the other ways to open."""
    win = make_window()
    texts = [a.text() or "---" for a in win.menu("File").actions()]
    i = texts.index("Import masks...")
    assert texts[i:i + 4] == ["Import masks...", "Import mask folder...", "---", "Recent files"]
    assert texts.index("Export masks (one file per segment)...") == texts.index("Export labelmap...") + 1
