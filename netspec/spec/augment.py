"""The ``augment:`` list of a spec's ``train:`` section: data augmentation, declared.

Steps are named as torchvision.transforms.v2 names its classes, lower-cased, and take their
arguments with torchvision's defaults and meanings. An entry is a bare name (the defaults) or a
mapping of one name to its arguments::

    augment:
      - randomcrop: {padding: 4}
      - randomhorizontalflip
      - mixup: {alpha: 0.2}

They run in the order written (``netspec.train.augment``), on whole batches on the training
device, in three stages checked here: the steps on pixel values (crops, flips, colour) first;
then randomerasing, which erases parts of the normalised images; last mixup and cutmix, which
mix whole batches and their labels. No torch here: ``netspec check`` stays quick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    GetPydanticSchema,
    Strict,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from netspec.diagnostics import did_you_mean
from netspec.layers.args import Bool, PositiveFloat, Probability, describe_value

# Where a step works, in the order the stages run.
Stage = Literal["pixels", "normalised", "batch"]
STAGES: tuple[Stage, ...] = ("pixels", "normalised", "batch")
# Why a stage's steps cannot be followed by an earlier stage's (completes "X (augment[i]) …").
_STAGE_RULE = {
    "normalised": "erases parts of the normalised images, so it comes after the steps on pixel "
    "values",
    "batch": "mixes whole batches and their labels, so it comes after every per-image step",
}


def _problem(message: str) -> PydanticCustomError:
    # No context: the message is final (it may hold braces, as in "{padding: 4}").
    return PydanticCustomError("augment", message)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _shown(value: Any) -> str:
    return describe_value(list(value) if isinstance(value, tuple) else value)


def _whole_numbers(
    minimum: int, lengths: tuple[int, ...], expected: str
) -> Callable[[Any], int | tuple[int, ...]]:
    """A whole number ≥ ``minimum``, or a list of them of one of ``lengths``."""

    def validate(value: Any) -> int | tuple[int, ...]:
        if _is_whole(value, minimum):
            return int(value)
        listed = isinstance(value, list | tuple) and len(value) in lengths
        if listed and all(_is_whole(v, minimum) for v in value):
            return tuple(value)
        raise _problem(f"expected {expected}, got {_shown(value)}")

    return validate


def _whole_numbers_schema(minimum: int, lengths: tuple[int, ...]) -> WithJsonSchema:
    item = {"type": "integer", "minimum": minimum}
    lists = [{"type": "array", "items": item, "minItems": n, "maxItems": n} for n in lengths]
    return WithJsonSchema({"oneOf": [item, *lists]})


def _ordered_pair(
    condition: str, within: Callable[[float], bool]
) -> Callable[[Any], tuple[float, float]]:
    """``[low, high]``: two numbers ``within`` their bounds, low ≤ high."""

    def validate(value: Any) -> tuple[float, float]:
        if isinstance(value, list | tuple) and len(value) == 2:
            low, high = value
            numbers = _is_number(low) and _is_number(high)
            if numbers and within(low) and within(high) and low <= high:
                return float(low), float(high)
        raise _problem(f"expected [low, high] with {condition}, got {_shown(value)}")

    return validate


def _pair_schema(maximum: float | None) -> WithJsonSchema:
    item: dict[str, Any] = {"type": "number", "minimum": 0}
    if maximum is not None:
        item["maximum"] = maximum
    return WithJsonSchema({"type": "array", "items": item, "minItems": 2, "maxItems": 2})


def _jitter(center: float, limit: float | None) -> Callable[[Any], tuple[float, float]]:
    """ColorJitter's argument: a number v, for factors drawn from [center − v, center + v]
    (clipped at 0 for brightness, contrast and saturation), or that range itself; kept as the
    range. Hue's v is at most ``limit`` (0.5), its range within ±0.5."""
    lowest, highest = (-limit, limit) if limit is not None else (0.0, math.inf)
    if limit is None:
        expected = "a number ≥ 0 or [low, high] with 0 ≤ low ≤ high"
    else:
        expected = f"a number from 0 to {limit} or [low, high] with -{limit} ≤ low ≤ high ≤ {limit}"

    def validate(value: Any) -> tuple[float, float]:
        if _is_number(value) and 0 <= value <= highest:
            return max(lowest, center - value), center + value
        if isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value)):
            low, high = value
            if lowest <= low <= high <= highest:
                return float(low), float(high)
        raise _problem(f"expected {expected}, got {_shown(value)}")

    return validate


def _jitter_schema(limit: float | None) -> WithJsonSchema:
    number: dict[str, Any] = {"type": "number", "minimum": 0}
    if limit is not None:
        number["maximum"] = limit
    pair = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    return WithJsonSchema({"oneOf": [number, pair]})


def _erasing_value(value: Any) -> float | str:
    if _is_number(value):
        return float(value)
    if value == "random":
        return value
    hint = did_you_mean(value, ("random",)) if isinstance(value, str) else ""
    raise _problem(f"expected a number or 'random', got {_shown(value)}{hint}")


CropSize = Annotated[
    int | tuple[int, ...],
    BeforeValidator(
        _whole_numbers(1, (2,), "an integer ≥ 1 or a list of 2 of them (height, width)")
    ),
    _whole_numbers_schema(1, (2,)),
]
_PADDINGS = (
    "an integer ≥ 0 or a list of 2 (left/right, top/bottom) or 4 (left, top, right, bottom) of them"
)
CropPadding = Annotated[
    int | tuple[int, ...],
    BeforeValidator(_whole_numbers(0, (2, 4), _PADDINGS)),
    _whole_numbers_schema(0, (2, 4)),
]
ByteValue = Annotated[int, Strict(), Field(ge=0, le=255)]
CropScale = Annotated[
    tuple[float, float],
    BeforeValidator(_ordered_pair("0 < low ≤ high ≤ 1", lambda v: 0 < v <= 1)),
    _pair_schema(1),
]
ErasedScale = Annotated[
    tuple[float, float],
    BeforeValidator(_ordered_pair("0 ≤ low ≤ high ≤ 1", lambda v: 0 <= v <= 1)),
    _pair_schema(1),
]
AspectRatios = Annotated[
    tuple[float, float],
    BeforeValidator(_ordered_pair("0 < low ≤ high", lambda v: v > 0)),
    _pair_schema(None),
]
FactorJitter = Annotated[
    tuple[float, float], BeforeValidator(_jitter(1.0, None)), _jitter_schema(None)
]
HueJitter = Annotated[tuple[float, float], BeforeValidator(_jitter(0.0, 0.5)), _jitter_schema(0.5)]
ErasingValue = Annotated[
    float | Literal["random"],
    BeforeValidator(_erasing_value),
    WithJsonSchema({"oneOf": [{"type": "number"}, {"const": "random"}]}),
]


class AugmentStep(BaseModel):
    """One augmentation step's arguments. Unknown arguments are errors; values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]  # as written in a spec
    stage: ClassVar[Stage] = "pixels"

    @model_validator(mode="before")
    @classmethod
    def _known_arguments(cls, data: Any) -> Any:
        # Said here rather than by extra="forbid", whose error would name the train: section's
        # keys, not this step's arguments.
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    hint = did_you_mean(str(key), cls.model_fields)
                    raise _problem(
                        f"unknown argument '{key}'{hint}; {cls.name} takes: "
                        + ", ".join(cls.model_fields)
                    )
        return data


class RandomCrop(AugmentStep):
    """Pad the borders, then crop at a random place (torchvision's RandomCrop)."""

    name = "randomcrop"
    size: CropSize | None = Field(
        None, description="the crop's height and width, or one number for both; null: the image's"
    )
    padding: CropPadding = Field(
        0,
        description="added to the borders before cropping: one number for all, [left/right, "
        "top/bottom] or [left, top, right, bottom]",
    )
    pad_if_needed: Bool = Field(False, description="pad more where the image is smaller than size")
    fill: ByteValue = Field(
        0, description="padding_mode constant's value, as a byte (0–255; 255: full intensity)"
    )
    padding_mode: Literal["constant", "edge", "reflect", "symmetric"] = Field(
        "constant",
        description="constant: fill; edge: the border pixel repeated; reflect: mirrored without "
        "the border pixel; symmetric: mirrored with it",
    )


class RandomHorizontalFlip(AugmentStep):
    """Mirror left to right (torchvision's RandomHorizontalFlip)."""

    name = "randomhorizontalflip"
    p: Probability = Field(0.5, description="probability that an image is flipped")


class RandomVerticalFlip(AugmentStep):
    """Mirror top to bottom (torchvision's RandomVerticalFlip)."""

    name = "randomverticalflip"
    p: Probability = Field(0.5, description="probability that an image is flipped")


class RandomResizedCrop(AugmentStep):
    """Crop a random area and aspect ratio, resized (bilinear) back to the image's height and
    width (torchvision's RandomResizedCrop)."""

    name = "randomresizedcrop"
    scale: CropScale = Field((0.08, 1.0), description="range of the crop's area, of the image's")
    ratio: AspectRatios = Field(
        (3 / 4, 4 / 3), description="range of the crop's aspect ratio (width / height)"
    )


class ColorJitter(AugmentStep):
    """Change brightness, contrast, saturation and hue by random factors, in a random order
    (torchvision's ColorJitter). Saturation and hue leave 1-channel images as they are."""

    name = "colorjitter"
    brightness: FactorJitter | None = Field(
        None, description="b: factor from [max(0, 1 − b), 1 + b], or [low, high]"
    )
    contrast: FactorJitter | None = Field(
        None, description="c: factor from [max(0, 1 − c), 1 + c], or [low, high]"
    )
    saturation: FactorJitter | None = Field(
        None, description="s: factor from [max(0, 1 − s), 1 + s], or [low, high]"
    )
    hue: HueJitter | None = Field(
        None, description="h ≤ 0.5: shift from [−h, h] turns, or [low, high] within ±0.5"
    )


class RandomErasing(AugmentStep):
    """Erase a random rectangle of the normalised image (torchvision's RandomErasing)."""

    name = "randomerasing"
    stage = "normalised"
    p: Probability = Field(0.5, description="probability that an image has a rectangle erased")
    scale: ErasedScale = Field((0.02, 0.33), description="range of the erased area, of the image's")
    ratio: AspectRatios = Field(
        (0.3, 3.3), description="range of the erased area's aspect ratio (height / width)"
    )
    value: ErasingValue = Field(
        0.0,
        description="the erased pixels' value after normalisation (0: the mean), or 'random': "
        "normal noise",
    )


class MixUp(AugmentStep):
    """Blend each image and its label with another's of the batch, by a weight drawn from
    Beta(alpha, alpha) (torchvision's MixUp). Needs loss cross_entropy."""

    name = "mixup"
    stage = "batch"
    alpha: PositiveFloat = Field(1.0, description="Beta(alpha, alpha) draws the blend weight")


class CutMix(AugmentStep):
    """Paste a random box of another image of the batch into each image, the labels mixed by
    the box's area (torchvision's CutMix). Needs loss cross_entropy."""

    name = "cutmix"
    stage = "batch"
    alpha: PositiveFloat = Field(1.0, description="Beta(alpha, alpha) draws the box's area")


STEPS: dict[str, type[AugmentStep]] = {
    step.name: step
    for step in (
        RandomCrop,
        RandomHorizontalFlip,
        RandomVerticalFlip,
        RandomResizedCrop,
        ColorJitter,
        RandomErasing,
        MixUp,
        CutMix,
    )
}


def _spelling(name: str) -> str:
    """A step name as compared for "did you mean": case, separators and British colour aside,
    so only another way of writing the same step is suggested, never a different step."""
    squeezed = "".join(c for c in name.lower() if c.isalnum())
    return squeezed.replace("colour", "color")


def _unknown_step(name: Any) -> PydanticCustomError:
    same = [known for known in STEPS if isinstance(name, str) and _spelling(name) == known]
    hint = f" (did you mean '{same[0]}'?)" if same else ""
    shown = f"'{name}'" if isinstance(name, str) else describe_value(name)
    return _problem(f"unknown augmentation step {shown}{hint}; the steps are " + ", ".join(STEPS))


class _Entry(BaseModel):
    """One entry of the list: a field per step, exactly one of them set. Validating it this way
    puts an argument's problem where it was written: ``augment[0].randomcrop.padding``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _one_step(cls, value: Any) -> dict[str, Any]:
        if isinstance(value, AugmentStep):
            return {value.name: value}
        if isinstance(value, str):
            name, arguments = value, None
        elif isinstance(value, dict) and len(value) == 1:
            [(name, arguments)] = value.items()
        elif isinstance(value, dict):
            found = ", ".join(f"'{key}'" for key in value) or "none"
            raise _problem(f"an entry is one step (- randomcrop: {{padding: 4}}), found {found}")
        else:
            raise _problem(
                "expected a step name or a mapping of one step to its arguments, got "
                + describe_value(value)
            )
        if name not in STEPS:
            raise _unknown_step(name)
        return {name: {} if arguments is None else arguments}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        written = handler(schema)
        handler.resolve_ref_schema(written).update(minProperties=1, maxProperties=1)
        bare = {"enum": list(STEPS), "description": "a step with its default arguments"}
        return {"anyOf": [bare, written]}

    @property
    def step(self) -> AugmentStep:
        return next(v for v in (getattr(self, name) for name in STEPS) if v is not None)


AugmentEntry = create_model(  # type: ignore[call-overload]
    "AugmentEntry",
    __base__=_Entry,
    __doc__="a step: - name, or - name: {arguments}",
    **{
        name: (step | None, Field(None, description=" ".join((step.__doc__ or "").split())))
        for name, step in STEPS.items()
    },
)


def order_problem(steps: Sequence[AugmentStep]) -> str | None:
    """What is wrong with the order of ``steps``, or None: the stages run in order, and a
    batch holds at most one mixup and one cutmix (each batch picks one of them)."""
    for later, step in enumerate(steps):
        for earlier in range(later):
            before = steps[earlier]
            if STAGES.index(before.stage) > STAGES.index(step.stage):
                return (
                    f"{before.name} (augment[{earlier}]) {_STAGE_RULE[before.stage]}; "
                    f"{step.name} (augment[{later}]) follows it"
                )
            if step.stage == "batch" and before.name == step.name:
                return f"{step.name} is given twice (augment[{earlier}] and augment[{later}])"
    return None


def _in_order(entries: list[Any]) -> tuple[AugmentStep, ...]:
    steps = tuple(entry.step for entry in entries)
    if problem := order_problem(steps):
        raise _problem(problem)
    return steps


def _as_written(steps: tuple[AugmentStep, ...], info: core_schema.SerializationInfo) -> list[Any]:
    # {name: arguments}, which validates back to the same steps (config.json, checkpoints).
    return [{step.name: step.model_dump(mode=info.mode)} for step in steps]


def _steps_schema(_source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    return core_schema.no_info_after_validator_function(
        _in_order,
        core_schema.list_schema(handler.generate_schema(AugmentEntry)),
        serialization=core_schema.plain_serializer_function_ser_schema(_as_written, info_arg=True),
    )


# The train: section's ``augment`` list, validated into its steps (a tuple: TrainConfig is
# frozen, and stays hashable).
AugmentSteps = Annotated[tuple[AugmentStep, ...], GetPydanticSchema(_steps_schema)]


def mixes_labels(steps: Sequence[AugmentStep]) -> list[str]:
    """The names of the steps that turn labels into class probabilities (mixup, cutmix)."""
    return [step.name for step in steps if step.stage == "batch"]
