"""Fixtures shared by the integration tests: where the build is, and worlds.

Each test file runs in its own namespaces (tests/meson.build: `python3 -m harness run`),
so a module-scoped world per file is isolated from every other file.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from harness import namespace  # noqa: E402
from harness.world import World  # noqa: E402

SOURCEDIR = os.environ.get("SOURCEDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("BUILDDIR") or os.path.join(SOURCEDIR, "build")

_active = []


def start_world(**kwargs):
    """A started World for this build (kwargs as World's); stop it when done."""
    if not namespace.inside():
        pytest.exit("run the integration tests through `python3 -m harness run -- pytest ...`"
                    " (meson test does)", returncode=2)
    w = World(BUILDDIR, SOURCEDIR, **kwargs)
    w.start()
    _active.append(w)
    return w


def stop_world(w):
    w.stop()
    if w in _active:
        _active.remove(w)


@pytest.fixture(scope="module")
def make_world():
    """Factory: worlds started through it are stopped at the end of the module."""
    started = []

    def make(**kwargs):
        w = start_world(**kwargs)
        started.append(w)
        return w
    yield make
    for w in reversed(started):
        stop_world(w)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report carries the logs of the worlds that were running."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for w in _active:
            report.sections.append(("world logs", w.logs()))


@pytest.fixture(scope="module")
def env(make_world):
    """The directory tests' world (helpers_directory.py): a database, the real polkitd, the
    Jabber subtree set up through the daemon, and a recording bus connection."""
    from helpers_directory import start_directory_world
    e = start_directory_world(make_world)
    yield e
    e.bus.close()
