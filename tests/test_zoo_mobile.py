"""specs/zoo/mobilenet_v2.yaml, mobilenet_v3_small.yaml and efficientnet_b0.yaml are
torchvision's models, tensor for tensor: torchvision's weights load by position into the built
and the compiled model, which then compute what torchvision's model computes (eval mode)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torchvision
from zoo import assert_same_as_reference, zoo_spec

import netspec

PARAMS = {"mobilenet_v2": 3_504_872, "mobilenet_v3_small": 2_542_856, "efficientnet_b0": 5_288_548}
NAMES = list(PARAMS)


def torchvision_name(ours: str) -> str:
    """Our names → torchvision's, as each spec's header comment says: a name cannot hold a
    bare number, so each `.N` there is `_N` here (features_2_1.block_2.fc1 here is
    features.2.1.block.2.fc1 there)."""
    return re.sub(r"_(\d+)", r".\1", ours)


def reference(name: str) -> torch.nn.Module:
    """torchvision's model, with every batch norm's scale, shift and running statistics drawn
    at random: as initialised they are ones and zeros, so each batch norm would be (nearly) the
    identity and any two of one size interchangeable, and a wrong eps would go unnoticed."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    generator = torch.Generator().manual_seed(0)

    def uniform(like: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(like.shape, generator=generator)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(uniform(module.weight, 0.5, 1.5))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
                module.running_mean.copy_(uniform(module.running_mean, -0.1, 0.1))
                module.running_var.copy_(uniform(module.running_var, 0.5, 1.5))
    return model


@pytest.mark.parametrize("name", NAMES)
def test_names_and_batch_norms_are_torchvisions(name: str) -> None:
    theirs = reference(name)
    assert sum(p.numel() for p in theirs.parameters()) == PARAMS[name]
    ours = netspec.build(zoo_spec(name))
    # Each tensor comes from its namesake in torchvision's model, not only one of its size.
    mapping = netspec.load_torchvision_weights(ours, theirs)
    assert {mine: torchvision_name(mine) for mine in mapping} == mapping
    # The same eps and momentum (MobileNetV3's 0.001 and 0.01; the others PyTorch's defaults).
    norms = [
        [(m.eps, m.momentum) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for model in (ours, theirs)
    ]
    assert norms[0] == norms[1]


def test_mobilenet_v2_is_torchvisions(tmp_path: Path) -> None:
    assert_same_as_reference("mobilenet_v2", reference("mobilenet_v2"), tmp_path)


def test_mobilenet_v3_small_is_torchvisions(tmp_path: Path) -> None:
    assert_same_as_reference("mobilenet_v3_small", reference("mobilenet_v3_small"), tmp_path)


def test_efficientnet_b0_is_torchvisions(tmp_path: Path) -> None:
    assert_same_as_reference("efficientnet_b0", reference("efficientnet_b0"), tmp_path)
