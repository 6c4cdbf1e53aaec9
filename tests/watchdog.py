"""A time limit for one block of test code that leaves SIGALRM alone (pytest-timeout's signal method owns it).

A helper thread waits; if the block outlives `seconds` it raises `Hang` asynchronously in the waiting thread
(between two Python bytecodes, as a signal handler would). A hang inside one C call is left to pytest-timeout.
"""
from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager


class Hang(Exception):
    pass


def _raise_in(thread_id: int, exc) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None if exc is None else ctypes.py_object(exc))


@contextmanager
def time_limit(seconds: float):
    target = threading.get_ident()
    done = threading.Event()
    fired = threading.Event()
    lock = threading.Lock()

    def ring():
        if not done.wait(seconds):
            with lock:
                if not done.is_set():
                    fired.set()
                    _raise_in(target, Hang)

    timer = threading.Thread(target=ring, name="test-time-limit", daemon=True)
    timer.start()
    try:
        yield
    finally:
        with lock:
            done.set()
        timer.join()
        if fired.is_set():
            _raise_in(target, None)          # the block ended just as the limit rang: drop the pending exception
    if fired.is_set():
        raise Hang(f"no answer after {seconds} s")
