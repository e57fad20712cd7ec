"""One `Registry` type; one instance per kind of component.

Every component (init scheme, activation, model, data set, penalty, experiment, ...) has a
name, so configs, the CLI and the report refer to it by name. A config is
``{"name": ..., **params}``; `Registry.build` validates the params against the registered
callable's signature (unknown keys and wrong types fail with the field, the value and
what is allowed) and calls it.

>>> from initreg.registry import Registry
>>> colors = Registry("color")
>>> @colors.register("red")
... def red(intensity: float = 1.0):
...     return ("red", intensity)
>>> colors.build({"name": "red", "intensity": 0.5})
('red', 0.5)
>>> colors.get("blue")
Traceback (most recent call last):
...
initreg.errors.ConfigError: unknown color 'blue'; known: red
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import ConfigError

if TYPE_CHECKING:  # pydantic loads on the first validation, not with `import initreg`
    import pydantic

__all__ = ["Registry", "validate_params", "check_keys", "format_validation_error"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → component map with helpful errors.

    Args:
        kind: what the registry holds, used in messages ("init scheme", "model", ...).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str, obj: T | None = None, **meta: Any):
        """Register ``obj`` under ``name`` (or use as a decorator). Duplicates are errors."""

        def add(o: T) -> T:
            if name in self._items:
                raise ConfigError(f"{self.kind} {name!r} is already registered; names must be unique")
            self._items[name] = o
            self._meta[name] = dict(meta)
            return o

        return add(obj) if obj is not None else add

    def get(self, name: str) -> T:
        """The component called ``name``; an unknown name lists the known ones."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise ConfigError(self.unknown_message(name)) from None

    def meta(self, name: str) -> dict[str, Any]:
        self.get(name)
        return self._meta[name]

    def unknown_message(self, name: object) -> str:
        """``unknown <kind> 'x' (did you mean 'y'?); known: ...`` — what `get` raises, for callers
        that check a name without fetching it (e.g. a config validator)."""
        known = ", ".join(self.names()) or "(none registered)"
        close = difflib.get_close_matches(str(name), self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; known: {known}"

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names, sorted, filtered by a shell-style ``pattern``."""
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def build(self, config: str | Mapping[str, Any], **extra: Any) -> Any:
        """Call the component named in ``config`` with its validated params.

        ``config`` is a name or ``{"name": ..., **params}``; ``extra`` are arguments the
        caller supplies (e.g. input shape) that are not part of the user's config.
        """
        if isinstance(config, str):
            config = {"name": config}
        if not isinstance(config, Mapping) or "name" not in config:
            raise ConfigError(f"a {self.kind} config must be a name or a mapping with 'name'; got {config!r}")
        params = {k: v for k, v in config.items() if k != "name"}
        fn: Any = self.get(config["name"])
        params = validate_params(fn, params, where=f"{self.kind} {config['name']!r}", supplied=set(extra))
        return fn(**params, **extra)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def _signature_model(fn: Callable, skip: Set[str]) -> type[pydantic.BaseModel]:
    """The pydantic model of ``fn``'s parameters (less ``skip``), built once per function: making
    a pydantic class costs ≈0.5 ms, paid before at every `Registry.build` (4 per `build_model`)."""
    try:
        return _signature_model_cached(fn, frozenset(skip))
    except TypeError:  # an unhashable callable
        return _make_signature_model(fn, skip)


@functools.lru_cache(maxsize=1024)
def _signature_model_cached(fn: Callable, skip: frozenset[str]) -> type[pydantic.BaseModel]:
    return _make_signature_model(fn, skip)


def _make_signature_model(fn: Callable, skip: Set[str]) -> type[pydantic.BaseModel]:
    import pydantic

    target = fn.__init__ if inspect.isclass(fn) else fn
    sig = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        hints = {}
    fields: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.name in ("self",) or p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = hints.get(p.name, Any)
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (ann, default)
    return pydantic.create_model(
        f"{getattr(fn, '__name__', 'Params')}Params",
        __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        **fields,
    )


def validate_params(fn: Callable, params: Mapping[str, Any], *, where: str, supplied: Set[str] = frozenset()) -> dict[str, Any]:
    """Validate ``params`` against ``fn``'s signature; return them coerced.

    Unknown keys fail listing the valid keys; a wrong type or value fails naming the field.
    """
    import pydantic

    model = _signature_model(fn, set(supplied))
    check_keys(params, list(model.model_fields), where)
    try:
        obj = model(**params)
    except pydantic.ValidationError as e:
        raise ConfigError(f"{where}: {format_validation_error(e)}") from None
    return {k: getattr(obj, k) for k in params}


def check_keys(keys: Iterable[str], valid: Sequence[str], where: str | None = None) -> None:
    """Raise a `ConfigError` naming every key not in ``valid`` and listing the valid ones."""
    bad = [k for k in keys if k not in valid]
    if bad:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown key(s) {', '.join(map(repr, bad))}; valid keys: {', '.join(valid) or '(none)'}")


def format_validation_error(e: pydantic.ValidationError) -> str:
    """One line per problem: ``field: message (got value)``."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        inp = err.get("input")
        # Our own validators' messages name the bad value; their input is then the whole section.
        ours = err.get("type") == "value_error" and isinstance(inp, (dict, list))
        got = "" if "got " in msg or not loc or ours else f" (got {inp!r})"
        if not loc or msg.startswith((f"{loc} ", f"{loc}:")):  # a check across fields, or a message naming it already
            parts.append(f"{msg}{got}")
        else:
            parts.append(f"{loc}: {msg}{got}")
    return "; ".join(parts)
