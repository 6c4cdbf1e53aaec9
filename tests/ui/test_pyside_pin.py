"""PySide6 6.12.0 drops a reference to True/False for each bool signal argument delivered to a Python slot and
aborts the interpreter (toolchain.md). This check lets the `<6.12` pin be lifted safely once it passes there."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class Emitter(QObject):
    flag = Signal(bool)


def test_bool_signal_arguments_keep_refcounts_stable(qapp):
    e = Emitter()
    got = []
    e.flag.connect(lambda v: got.append(v))
    before_true, before_false = sys.getrefcount(True), sys.getrefcount(False)
    for n in range(5000):
        e.flag.emit(n % 2 == 0)
    got.clear()
    assert abs(sys.getrefcount(True) - before_true) < 50
    assert abs(sys.getrefcount(False) - before_false) < 50


def test_checkable_action_toggles_many_times(qapp):
    from PySide6.QtGui import QAction

    a = QAction("x", checkable=True)
    seen = [0]
    a.toggled.connect(lambda on: seen.__setitem__(0, seen[0] + 1))
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(2000):
        a.toggle()
    assert seen[0] == 2000
    assert abs(sys.getrefcount(True) - before[0]) < 50 and abs(sys.getrefcount(False) - before[1]) < 50
