"""Waiting for a change with a deadline: the tests poll, they never sleep a fixed time and
never assert on timing (a shared 2-core machine is noisy)."""

import time


def poll(predicate, what, timeout=15.0, interval=0.05):
    """predicate()'s first true value; AssertionError naming `what` and the last value seen
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what} (last: {value!r})")
        time.sleep(interval)
