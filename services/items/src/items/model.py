"""What an item is: pydantic models, validated by pydantic-core (compiled code)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
]


class NewItem(BaseModel):
    """The body of POST /items. Unknown fields are refused, not dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    # Money: a decimal, never a float; JSON numbers and strings are accepted.
    price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
    tags: Annotated[list[Tag], Field(max_length=10)] = []


class Item(NewItem):
    """A stored item: what GET /items/ID answers."""

    id: int
