"""Shared pytest fixtures."""

import os
import sys

import pytest

# `from tests.fakeserver import ...` needs the project root on sys.path, which
# `python -m pytest` provides but a bare `pytest` run does not.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.fakeserver import FakeServer  # noqa: E402


@pytest.fixture
def fake_server():
    """A started FakeServer on 127.0.0.1 (random port), closed after the test."""
    with FakeServer() as srv:
        yield srv
