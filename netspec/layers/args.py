"""Argument types shared by layer kinds.

Layer arguments are pydantic models, so one declaration gives validation, defaults and the JSON
Schema editors use. Types are strict: YAML ``"5"`` is not an integer and ``true`` is not 1.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from netspec.diagnostics import did_you_mean
from netspec.limits import FLOAT32_MAX

if TYPE_CHECKING:
    from typing import Self

    from pydantic.fields import FieldInfo

PositiveInt = Annotated[int, Strict(), Field(ge=1)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
# Weights are float32: a float argument must be one too (a slope of 1e308 would be inf).
Float = Annotated[float, Strict(), Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0, le=FLOAT32_MAX, allow_inf_nan=False)]
Probability = Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class _DeclaredArgs(type):
    """The metaclass of argument declarations: a declaration reads like a pydantic model, and
    its model is built when first used (``LinearArgs.model_validate``…), so start-up does not
    pay for the kinds a spec never names."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("model_"):
            return getattr(model_of(cls), name)
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")


class LayerArgs(metaclass=_DeclaredArgs):
    """Base of every layer kind's argument declarations: fields are written as on a pydantic
    model; unknown keys are errors and values are immutable. Validated arguments are instances
    of the model built from the declaration (``model_of``), with these attributes."""

    if TYPE_CHECKING:  # what the built model provides
        model_fields: ClassVar[dict[str, FieldInfo]]
        model_fields_set: set[str]

        @classmethod
        def model_validate(cls, obj: Any) -> Self: ...

        @classmethod
        def model_json_schema(cls) -> dict[str, Any]: ...

        def model_dump(self) -> dict[str, Any]: ...

        def model_copy(self, *, update: dict[str, Any] | None = None) -> Self: ...


_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True)


@functools.cache
def model_of(declared: type[LayerArgs]) -> type[BaseModel]:
    """The pydantic model of an argument declaration: its fields and those it inherits, in
    declaration order (a field declared again keeps its first place, as in pydantic)."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for cls in reversed(declared.__mro__):
        if not issubclass(cls, LayerArgs) or cls is LayerArgs:
            continue
        for field_name, annotation in inspect.get_annotations(cls).items():
            annotations[field_name] = annotation
            if field_name in cls.__dict__:
                namespace[field_name] = cls.__dict__[field_name]
            else:
                namespace.pop(field_name, None)
    namespace |= {
        "__annotations__": annotations,
        "__module__": declared.__module__,
        "__qualname__": declared.__qualname__,
        "__doc__": declared.__doc__,
        "model_config": _MODEL_CONFIG,
    }
    return type(declared.__name__, (BaseModel,), namespace)


class NoArgs(LayerArgs):
    """Arguments of a kind that takes none."""


def describe_value(value: Any) -> str:
    """How a YAML value reads in a message: ``'five' (a string)``, ``[1, 2]``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list) and len(repr(value)) > 40:
        return "a list"
    return repr(value)


def _sizes_validator(count: int, minimum: int):
    def validate(value: Any) -> int | tuple[int, ...]:
        def ok(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v >= minimum

        if isinstance(value, list | tuple):
            if len(value) != count or not all(ok(v) for v in value):
                raise PydanticCustomError(
                    "sizes",
                    "expected {expected}, got {got}",
                    {"expected": _expected(count, minimum), "got": describe_value(value)},
                )
            return tuple(value)
        if not ok(value):
            raise PydanticCustomError(
                "sizes",
                "expected {expected}, got {got}",
                {"expected": _expected(count, minimum), "got": describe_value(value)},
            )
        return value

    return validate


def _expected(count: int, minimum: int) -> str:
    names = ", ".join(SPATIAL_NAMES[count])
    return f"an integer ≥ {minimum} or a list of {count} of them ({names})"


def _sizes_schema(count: int, minimum: int, description: str) -> dict[str, Any]:
    item = {"type": "integer", "minimum": minimum}
    return {
        "description": description,
        "oneOf": [item, {"type": "array", "items": item, "minItems": count, "maxItems": count}],
    }


def Sizes(count: int, minimum: int = 1, what: str = "size") -> Any:  # noqa: N802 - a type factory
    """An int, or a list of ``count`` ints (one per spatial dim), like PyTorch's ``_pair``."""
    return Annotated[
        int | tuple[int, ...],
        BeforeValidator(_sizes_validator(count, minimum)),
        WithJsonSchema(_sizes_schema(count, minimum, what)),
    ]


def ConvPadding(count: int) -> Any:  # noqa: N802 - a type factory
    """Convolution padding: sizes ≥ 0, or PyTorch's ``'valid'`` / ``'same'``."""
    sizes = _sizes_validator(count, 0)

    def validate(value: Any) -> int | tuple[int, ...] | str:
        if value in ("valid", "same"):
            return value
        if isinstance(value, str):
            raise PydanticCustomError(
                "padding",
                "expected an integer ≥ 0, a list of them, 'valid' or 'same', got {got}{hint}",
                {"got": describe_value(value), "hint": did_you_mean(value, ("valid", "same"))},
            )
        return sizes(value)

    sizes_schema = _sizes_schema(count, 0, "")
    sizes_schema.pop("description", None)
    schema = {
        "description": "padding added to each side; 'valid' = 0, 'same' keeps the size",
        "oneOf": [*sizes_schema.get("oneOf", [sizes_schema]), {"enum": ["valid", "same"]}],
    }
    return Annotated[
        int | tuple[int, ...] | Literal["valid", "same"],
        BeforeValidator(validate),
        WithJsonSchema(schema),
    ]


def OutputSizes(count: int) -> Any:  # noqa: N802 - a type factory
    """Adaptive pooling target: an int, or a list of ints; in 2-D a null keeps that input size
    (PyTorch's 1-D adaptive pools take no nulls)."""
    nulls = count > 1

    def validate(value: Any) -> int | tuple[int | None, ...]:
        def ok(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v >= 1

        if isinstance(value, list | tuple) and len(value) == count:
            if all((nulls and v is None) or ok(v) for v in value):
                return tuple(value)
        elif ok(value):
            return value
        names = ", ".join(SPATIAL_NAMES[count])
        of = "integers or nulls" if nulls else "integers"
        raise PydanticCustomError(
            "output_size",
            "expected an integer ≥ 1 or a list of {count} {of} ({names}), got {got}",
            {"count": count, "of": of, "names": names, "got": describe_value(value)},
        )

    item = {"type": "integer", "minimum": 1}
    items = {"oneOf": [item, {"type": "null"}]} if nulls else item
    description = "output size" + ("; null in a list keeps that input size" if nulls else "")
    schema = {
        "description": description,
        "oneOf": [
            item,
            {"type": "array", "items": items, "minItems": count, "maxItems": count},
        ],
    }
    return Annotated[
        int | tuple[int | None, ...],
        BeforeValidator(validate),
        WithJsonSchema(schema),
    ]


def expand(value: int | tuple[int, ...], count: int) -> tuple[int, ...]:
    """PyTorch's ``_single`` / ``_pair``: one int for every spatial dim."""
    return value if isinstance(value, tuple) else (value,) * count
