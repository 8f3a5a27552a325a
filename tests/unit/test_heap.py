"""bts_desk.heap: what exists when start-up is done leaves the collector's sight."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bts_desk.heap import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.collect()


def test_collect_first_frees_the_start_ups_garbage_then_freezes() -> None:
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    settle_heap(collect_first=True)
    assert gone() is None
    assert gc.get_freeze_count() > 0


def test_without_collecting_the_garbage_is_frozen_with_the_rest() -> None:
    """The desk's choice (no full collection on the GUI thread): its start-up cycles stay."""
    garbage = _Node()
    kept = weakref.ref(garbage)
    del garbage
    settle_heap(collect_first=False)
    gc.collect()
    assert kept() is not None  # frozen: not looked at by later collections
    gc.unfreeze()
    gc.collect()
    assert kept() is None


def test_objects_made_afterwards_are_collected_as_before() -> None:
    settle_heap(collect_first=True)
    later = _Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
