"""The one `Registry` type: names, duplicates, unknown names, validated builds."""

from typing import Literal

import pytest

from initreg.errors import ConfigError
from initreg.registry import Registry, validate_params


@pytest.fixture
def shapes() -> Registry:
    reg = Registry("shape")

    @reg.register("square", description="four equal sides")
    def square(side: float = 1.0, fill: Literal["none", "solid"] = "none"):
        return ("square", side, fill)

    @reg.register("circle")
    class Circle:
        def __init__(self, radius: int, *, extra: int = 0):
            self.radius, self.extra = radius, extra

    return reg


def test_register_get_names_and_meta(shapes):
    assert shapes.names() == ["circle", "square"]
    assert shapes.names("sq*") == ["square"]
    assert "square" in shapes and "triangle" not in shapes
    assert len(shapes) == 2 and list(shapes) == ["circle", "square"]
    assert shapes.meta("square") == {"description": "four equal sides"}


def test_duplicate_name_is_an_error(shapes):
    with pytest.raises(ConfigError, match="shape 'square' is already registered"):
        shapes.register("square", lambda: None)


def test_unknown_name_lists_known_and_suggests(shapes):
    with pytest.raises(ConfigError, match=r"unknown shape 'sqare' \(did you mean 'square'\?\); known: circle, square"):
        shapes.get("sqare")
    with pytest.raises(ConfigError, match="unknown shape 'zzz'; known: circle, square"):
        shapes.build({"name": "zzz"})


def test_empty_registry_message():
    with pytest.raises(ConfigError, match=r"\(none registered\)"):
        Registry("thing").get("x")


def test_build_from_name_and_config(shapes):
    assert shapes.build("square") == ("square", 1.0, "none")
    assert shapes.build({"name": "square", "side": 2, "fill": "solid"}) == ("square", 2.0, "solid")
    c = shapes.build({"name": "circle", "radius": 3}, extra=5)
    assert (c.radius, c.extra) == (3, 5)


def test_build_rejects_unknown_keys_listing_valid_ones(shapes):
    with pytest.raises(ConfigError, match=r"shape 'square': unknown key\(s\) 'colour'; valid keys: side, fill"):
        shapes.build({"name": "square", "colour": "red"})


def test_build_rejects_bad_values_naming_field_and_value(shapes):
    with pytest.raises(ConfigError, match=r"shape 'square': fill: .*'none' or 'solid'.*\(got 'dotted'\)"):
        shapes.build({"name": "square", "fill": "dotted"})
    with pytest.raises(ConfigError, match=r"radius: .*\(got 'big'\)"):
        shapes.build({"name": "circle", "radius": "big"})
    with pytest.raises(ConfigError, match=r"radius: Field required"):
        shapes.build({"name": "circle"})


def test_build_needs_a_name(shapes):
    with pytest.raises(ConfigError, match="a shape config must be a name or a mapping with 'name'"):
        shapes.build({"side": 1})


def test_validate_params_skips_supplied_arguments():
    def f(input_shape: tuple, width: int = 3):
        return width

    assert validate_params(f, {"width": "7"}, where="f", supplied={"input_shape"}) == {"width": 7}
    with pytest.raises(ConfigError, match="valid keys: width"):
        validate_params(f, {"input_shape": (1,)}, where="f", supplied={"input_shape"})
