"""The parts of a spec that are not layers: its header and its ``train:`` section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from netspec.diagnostics import Position
from netspec.layers.args import Int, LayerArgs, PositiveFloat, PositiveInt
from netspec.layers.base import LayerKind
from netspec.names import spec_name_problem

DATASETS = ("fashion_mnist", "mnist", "cifar10")


class TrainConfig(BaseModel):
    """Training defaults stored with the network; ``netspec train`` flags override them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: Literal["fashion_mnist", "mnist", "cifar10"] | None = Field(
        None, description="data set to train on when --data is not given"
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
    seed: Int = 0


def _valid_spec_name(name: str) -> str:
    if problem := spec_name_problem(name):
        raise ValueError(problem)
    return name


SpecName = Annotated[str, Field(strict=True), AfterValidator(_valid_spec_name)]
InputSize = Annotated[list[PositiveInt], Field(min_length=1, max_length=3)]


class SpecHeader(BaseModel):
    """Top-level keys of a spec. ``layers`` is only checked to be a non-empty list here."""

    model_config = ConfigDict(extra="forbid")

    name: SpecName = Field(description="identifier of the network; names the generated class")
    description: Annotated[str, Field(strict=True)] | None = None
    input: InputSize = Field(
        description="input size without the batch: [C, H, W], [C, L] or [features]"
    )
    layers: list[Any] = Field(min_length=1, description="the layers, in order")
    train: TrainConfig = Field(default_factory=TrainConfig)


TOP_LEVEL_KEYS = tuple(SpecHeader.model_fields)
SIBLING_KEYS = ("name", "from")  # keys next to a layer's kind


@dataclass(frozen=True)
class LayerDecl:
    """One layer as written: validated arguments and where each part of it was written.

    ``args`` is None when the arguments were invalid; the layer stays in the graph so that
    references to it resolve and checking can go on.
    """

    index: int
    name: str
    kind: LayerKind | None  # None: an unknown kind, already reported
    args: LayerArgs | None
    sources: tuple[str, ...] | None  # `from:` as written; None means the previous layer
    position: Position | None
    arg_positions: dict[str, Position] = field(default_factory=dict)
    sources_positions: tuple[Position | None, ...] = ()
    name_position: Position | None = None


@dataclass(frozen=True)
class Spec:
    file: str
    name: str
    input_size: tuple[int, ...]
    layers: tuple[LayerDecl, ...]
    train: TrainConfig
    description: str | None = None
    input_position: Position | None = None
