"""The fuzz tests' time limit stops a runaway block without touching SIGALRM, so pytest-timeout keeps its alarm."""
import signal

import pytest

from tests.watchdog import Hang, time_limit


def test_a_runaway_loop_is_stopped_and_the_alarm_handler_is_left_alone():
    handler = signal.getsignal(signal.SIGALRM)
    timer = signal.getitimer(signal.ITIMER_REAL)
    with pytest.raises(Hang):
        with time_limit(0.2):
            while True:
                pass
    assert signal.getsignal(signal.SIGALRM) is handler
    left = signal.getitimer(signal.ITIMER_REAL)
    assert (left[0] > 0) == (timer[0] > 0)          # pytest-timeout's timer (if armed) is still running


def test_a_quick_block_is_not_interrupted_and_nothing_fires_later():
    with time_limit(5):
        total = sum(range(1000))
    assert total == 499500
    for _ in range(10 ** 6):        # no pending exception surfaces after the block
        pass
