"""On the build machine, tests get the host's wheels: the compiled code imports and runs."""

from __future__ import annotations

import orjson
import pydantic
import pydantic_core


class Item(pydantic.BaseModel):
    name: str
    count: int


def test_orjson_runs() -> None:
    assert orjson.loads(orjson.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}


def test_pydantic_core_validates() -> None:
    assert Item.model_validate({"name": "x", "count": "3"}).count == 3
    try:
        Item.model_validate({"name": "x", "count": "many"})
    except pydantic.ValidationError as err:
        assert err.errors()[0]["loc"] == ("count",)
    else:
        raise AssertionError("an invalid count was accepted")
    assert pydantic_core.__file__.endswith("__init__.py")
