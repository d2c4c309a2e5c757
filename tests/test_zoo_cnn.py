"""specs/zoo/shufflenet_v2_x1_0.yaml, resnet50.yaml, densenet121.yaml and googlenet.yaml are
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

NAMES = ["shufflenet_v2_x1_0", "resnet50", "densenet121", "googlenet"]


def torchvision_name(ours: str) -> str:
    """Our names → torchvision's (each spec's header comment says the same). A name cannot
    hold a bare number, so torchvision's `.0` is `_0` here (stage2_0, layer1_0, conv1_0,
    branch2_3); a ResNet's downsample_conv / downsample_bn are its downsample.0 / .1; a
    DenseNet block's repeat numbers from 0 where torchvision's denselayer1… numbers from 1."""
    name = re.sub(r"_(\d+)(?=\.)", r".\1", ours)
    name = name.replace("downsample_conv.", "downsample.0.").replace(
        "downsample_bn.", "downsample.1."
    )
    return re.sub(
        r"\.denseblock(\d)\.(\d+)\.",
        lambda m: f".denseblock{m[1]}.denselayer{int(m[2]) + 1}.",
        name,
    )


def with_random_statistics(reference: torch.nn.Module) -> torch.nn.Module:
    """The reference with every batch norm's scale, shift and running statistics drawn at
    random. As initialised they are all ones and zeros: each batch norm would be (nearly) the
    identity, and any two of one size would be interchangeable, so a spec that loaded them
    into the wrong layers, or forgot GoogLeNet's eps, would still pass."""
    generator = torch.Generator().manual_seed(0)

    def uniform(like: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(like.shape, generator=generator)

    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                # Small variances, so that eps matters (1e-3 or 1e-5: a few % per layer), and
                # scales that keep weight / sqrt(variance) near 1, so that deep nets stay finite.
                variance = uniform(module.running_var, 0.005, 0.05)
                module.running_var.copy_(variance)
                module.running_mean.copy_(uniform(module.running_mean, -0.1, 0.1))
                module.weight.copy_(uniform(module.weight, 0.5, 1.5) * variance.sqrt())
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
    return reference


def assert_is_reference(name: str, reference: torch.nn.Module, count: int, tmp_path: Path) -> None:
    assert sum(p.numel() for p in reference.parameters()) == count
    reference = with_random_statistics(reference)
    # Each tensor comes from its namesake in torchvision's model, not only one of its size.
    mapping = netspec.load_torchvision_weights(netspec.build(zoo_spec(name)), reference)
    assert {ours: torchvision_name(ours) for ours in mapping} == mapping
    assert_same_as_reference(name, reference, tmp_path)


def test_shufflenet_v2_x1_0_is_torchvisions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.shufflenet_v2_x1_0()
    assert_is_reference("shufflenet_v2_x1_0", reference, 2_278_604, tmp_path)


@pytest.mark.slow
def test_resnet50_is_torchvisions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.resnet50()
    assert_is_reference("resnet50", reference, 25_557_032, tmp_path)


@pytest.mark.slow
def test_densenet121_is_torchvisions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.densenet121()
    assert_is_reference("densenet121", reference, 7_978_856, tmp_path)


@pytest.mark.slow  # 5 to 11 s here, with the machine shared
def test_googlenet_is_torchvisions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.googlenet(aux_logits=False, init_weights=True)
    # Built so, torchvision's GoogLeNet uses its input as is and has no auxiliary heads.
    assert not reference.transform_input
    assert reference.aux1 is None and reference.aux2 is None
    assert_is_reference("googlenet", reference, 6_624_904, tmp_path)
