"""The items, in memory: ids from 1, a fixed capacity, safe across request threads."""

from __future__ import annotations

import threading

from items.model import Item, NewItem


class StoreFull(Exception):
    """The store holds as many items as it may."""


class Store:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: dict[int, Item] = {}
        self._lock = threading.Lock()

    def add(self, new: NewItem) -> Item:
        with self._lock:
            if len(self._items) >= self.capacity:
                raise StoreFull(f"the store holds {self.capacity} items, its maximum")
            item = Item(id=len(self._items) + 1, **new.model_dump())
            self._items[item.id] = item
            return item

    def get(self, item_id: int) -> Item | None:
        return self._items.get(item_id)
