"""The parts of a spec that are not layers: its header and its ``train:`` section."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from netspec.diagnostics import Position
from netspec.ir import Graph
from netspec.layers.args import PositiveFloat, PositiveInt
from netspec.limits import INT64_MAX, MAX_SEED
from netspec.names import spec_name_problem
from netspec.spec.augment import AugmentSteps, mixes_labels

# The one list of the data sets a spec may name; the runner's catalog has an entry for each
# (checked when it is imported) and the CLI's choices are read from here.
DatasetName = Literal[
    "fashion_mnist", "mnist", "cifar10", "kmnist", "qmnist", "emnist_balanced", "emnist_byclass",
    "emnist_bymerge", "emnist_digits", "emnist_letters", "emnist_mnist", "usps", "cifar100",
    "svhn", "stl10",
]  # fmt: skip
DATASETS: tuple[str, ...] = get_args(DatasetName)
# A user's own data: an image folder tree or a tensor file (relative paths: to the spec's folder).
DataPath = Annotated[str, Field(strict=True, min_length=1)]


class TrainConfig(BaseModel):
    """Training defaults stored with the network; ``netspec train`` flags override them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: DatasetName | DataPath | None = Field(
        None,
        description="data to train on when --data is not given: a data set's name, or the "
        "path of your own (an image folder with train/, val/, test/; a .pt or .npz tensor "
        "file), relative to the spec",
    )
    resize: bool = Field(
        False,
        description="resize the images (and convert grey ↔ RGB) to the spec's input, once, "
        "when the data's differ",
    )
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = Field(1e-3, description="learning rate")
    momentum: Annotated[float, Field(ge=0, lt=1, strict=True, allow_inf_nan=False)] = Field(
        0.0, description="SGD momentum"
    )
    weight_decay: Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)] | None = Field(
        None, description="L2 penalty; null: the optimizer's default (0, or 0.01 for adamw)"
    )
    batch_size: PositiveInt = 64
    epochs: PositiveInt = 10
    loss: Literal["cross_entropy", "nll", "mse"] = "cross_entropy"
    schedule: Literal["none", "onecycle", "cosine"] = "none"
    seed: Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)] = 0
    patience: PositiveInt | None = Field(
        None, description="stop when the validation accuracy has not improved for this many epochs"
    )
    warmup: Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)] = Field(
        0.0,
        description="epochs (may be a fraction) over which the learning rate rises linearly "
        "to lr before the schedule (none or cosine; onecycle warms up by itself)",
    )
    grad_clip: PositiveFloat | None = Field(
        None, description="clip the gradients' total norm to this before each step"
    )
    val_split: Annotated[float, Field(gt=0, le=0.5, strict=True, allow_inf_nan=False)] = Field(
        0.1,
        description="fraction of the training set held out (seeded) to choose best.pt; the "
        "test set is evaluated once, at the end",
    )
    augment: AugmentSteps = Field(
        (),
        description="data augmentation of the training batches, in the order written: "
        "randomcrop, randomhorizontalflip, randomverticalflip, randomresizedcrop, colorjitter, "
        "randomerasing, mixup, cutmix (torchvision.transforms.v2's names, lower-cased), each a "
        "bare name or {name: {arguments}}",
    )
    label_smoothing: Annotated[float, Field(ge=0, lt=1, strict=True, allow_inf_nan=False)] = Field(
        0.0,
        description="cross_entropy's label smoothing: this share of each target is spread "
        "evenly over the classes",
    )

    @field_validator("augment", "label_smoothing")
    @classmethod
    def _needs_cross_entropy(cls, value: Any, info: ValidationInfo) -> Any:
        # Only cross_entropy takes class probabilities as targets, and smooths labels.
        loss = info.data.get("loss", "cross_entropy")  # a wrong loss is reported by itself
        if loss == "cross_entropy":
            return value
        if info.field_name == "augment" and (mixing := mixes_labels(value)):
            raise PydanticCustomError(
                "needs_cross_entropy",
                f"{' and '.join(mixing)} need{'s' if len(mixing) == 1 else ''} loss: "
                f"cross_entropy, not {loss}: {'it mixes' if len(mixing) == 1 else 'they mix'} "
                "labels into class probabilities",
            )
        if info.field_name == "label_smoothing" and value:
            raise PydanticCustomError(
                "needs_cross_entropy", f"label smoothing needs loss: cross_entropy, not {loss}"
            )
        return value

    @field_validator("warmup")
    @classmethod
    def _not_with_onecycle(cls, value: float, info: ValidationInfo) -> float:
        if value and info.data.get("schedule") == "onecycle":
            raise PydanticCustomError(
                "warmup_with_onecycle",
                "the onecycle schedule warms up by itself (its first 30 % of steps): warmup is "
                "for none or cosine",
            )
        return value


def _valid_spec_name(name: str) -> str:
    if problem := spec_name_problem(name):
        raise ValueError(problem)
    return name


SpecName = Annotated[str, Field(strict=True), AfterValidator(_valid_spec_name)]


def _representable_input(sizes: list[int]) -> list[int]:
    if prod(sizes) > INT64_MAX:
        raise ValueError(
            f"input: {sizes} has about 2^{prod(sizes).bit_length() - 1} elements per sample, "
            f"more than a tensor can hold (at most {INT64_MAX:,})"
        )
    return sizes


InputSize = Annotated[
    list[PositiveInt], Field(min_length=1, max_length=4), AfterValidator(_representable_input)
]
# What the network's input tensor holds: floats (images, features) or token ids.
InputDtype = Literal["float32", "long"]


class InputTensor(BaseModel):
    """``input: {shape: [128], dtype: long}``: a size and what the tensor holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shape: InputSize = Field(description="sizes without the batch")
    dtype: InputDtype = Field("float32", description="long: integer token ids for an embedding")


class SpecHeader(BaseModel):
    """Top-level keys of a spec. ``layers`` is only checked to be a non-empty list here."""

    model_config = ConfigDict(extra="forbid")

    name: SpecName = Field(description="identifier of the network; names the generated class")
    description: Annotated[str, Field(strict=True)] | None = None
    input: InputSize | InputTensor = Field(
        description="input size without the batch: [C, H, W], [C, L], [features], or "
        "{shape: [T], dtype: long} for token ids"
    )
    blocks: dict[str, Any] | None = Field(
        None, description="reusable sub-networks with parameters, used like layer kinds"
    )
    layers: list[Any] = Field(min_length=1, description="the layers, in order")
    train: TrainConfig = Field(default_factory=TrainConfig)


TOP_LEVEL_KEYS = tuple(SpecHeader.model_fields)
SIBLING_KEYS = ("name", "from", "repeat")  # keys next to a layer's kind


@dataclass(frozen=True)
class Spec:
    """A read spec: its header and its network (the IR, see ``netspec.ir``)."""

    file: str
    name: str
    input_size: tuple[int, ...] | None
    graph: Graph
    train: TrainConfig
    description: str | None = None
    input_position: Position | None = None
