"""The optimizer's parameter groups: weight decay for weights, none for biases and norms."""

from __future__ import annotations

import pytest
from helpers import check

import netspec
from netspec.train.config import RunConfig
from netspec.train.device import select
from netspec.train.runner import optimizer_for, parameter_groups

SPEC = """
name: groups
input: [1, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3}
  - batchnorm2d
  - relu
  - flatten
  - linear: 10
"""


def test_weights_decay_biases_and_norms_do_not() -> None:
    model = netspec.build(check(SPEC))
    names = {id(p): name for name, p in model.named_parameters()}
    groups = parameter_groups(model, 0.05)
    assert [group["weight_decay"] for group in groups] == [0.05, 0.0]
    assert [names[id(p)] for p in groups[0]["params"]] == ["conv2d_1.weight", "linear_1.weight"]
    assert [names[id(p)] for p in groups[1]["params"]] == [
        "conv2d_1.bias",
        "batchnorm2d_1.weight",
        "batchnorm2d_1.bias",
        "linear_1.bias",
    ]


def test_without_weight_decay_one_group_holds_everything() -> None:
    model = netspec.build(check(SPEC))
    (group,) = parameter_groups(model, 0.0)
    assert group["weight_decay"] == 0.0
    assert len(group["params"]) == len(list(model.parameters())) == 6


@pytest.mark.parametrize(
    ("optimizer", "given", "decays"),
    [("adam", None, [0.0]), ("adamw", None, [0.01, 0.0]), ("sgd", 0.1, [0.1, 0.0])],
)
def test_the_runner_decays_as_the_spec_or_the_optimizer_says(
    optimizer: str, given: float | None, decays: list[float]
) -> None:
    train = {"optimizer": optimizer, "weight_decay": given}
    config = RunConfig(spec="groups.yaml", architecture="", data="mnist", train=train)
    built = optimizer_for(netspec.build(check(SPEC)), config, select("cpu", convolutional=True))
    assert [group["weight_decay"] for group in built.param_groups] == decays
    assert sum(len(group["params"]) for group in built.param_groups) == 6
