"""specs/zoo/convnext_tiny.yaml and specs/zoo/vit_b_16.yaml are torchvision's convnext_tiny()
and vit_b_16(), tensor for tensor: torchvision's weights load by position into the built and
the compiled model, which then compute what torchvision's model computes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision
from zoo import assert_same_as_reference, zoo_spec

import netspec

NAMES = ["convnext_tiny", "vit_b_16"]


def convnext_name(ours: str) -> str:
    """Our convnext_tiny names → torchvision's (the spec's header comment says the same)."""
    name = re.sub(r"^stem_conv\.", "features.0.0.", ours)
    name = re.sub(r"^stem_norm\.norm\.", "features.0.1.", name)
    name = re.sub(r"^stage(\d)\.", lambda m: f"features.{2 * int(m[1]) - 1}.", name)
    name = re.sub(r"^downsample(\d)\.norm\.norm\.", lambda m: f"features.{2 * int(m[1])}.0.", name)
    name = re.sub(r"^downsample(\d)\.conv\.", lambda m: f"features.{2 * int(m[1])}.1.", name)
    for ours_, theirs in [("conv_dw", "0"), ("norm", "2"), ("pwconv1", "3"), ("pwconv2", "5")]:
        name = re.sub(rf"^(features\.\d\.\d+\.){ours_}\.", rf"\1block.{theirs}.", name)
    name = re.sub(r"^classifier_norm\.norm\.", "classifier.0.", name)
    return re.sub(r"^classifier_fc\.", "classifier.2.", name)


def vit_name(ours: str) -> str:
    """Our vit_b_16 names → torchvision's (the spec's header comment says the same)."""
    name = re.sub(r"^encoder\.layers\.(\d+)\.", r"encoder.layers.encoder_layer_\1.", ours)
    name = name.replace(".mlp.fc1.", ".mlp.0.").replace(".mlp.fc2.", ".mlp.3.")
    return re.sub(r"^head\.", "heads.head.", name)


def perturbed(reference: torch.nn.Module) -> torch.nn.Module:
    """The reference with noise added to every tensor torchvision initialises to a constant:
    ViT's zero head and class token, ConvNeXt's 1e-6 layer scales, the norms' ones and zeros.
    Left as they are, ViT's output would be 0 whatever the rest computes, and ConvNeXt's
    blocks would add only a millionth of their output to the residual."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in reference.parameters():
            if parameter.min() == parameter.max():
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
    return reference


@pytest.mark.parametrize(
    ("name", "torchvision_name", "count"),
    [("convnext_tiny", convnext_name, 28_589_128), ("vit_b_16", vit_name, 86_567_656)],
)
def test_spec_is_torchvisions_model(
    name: str, torchvision_name: Callable[[str], str], count: int, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    reference = perturbed(getattr(torchvision.models, name)())
    assert sum(p.numel() for p in reference.parameters()) == count
    # The loader pairs the tensors by position: each must be its namesake in torchvision's
    # model, not only one of the same size. (Built on the meta device: names, no weights.)
    with torch.device("meta"):
        ours = list(netspec.build(zoo_spec(name)).state_dict())
    assert list(map(torchvision_name, ours)) == list(reference.state_dict())
    assert_same_as_reference(name, reference, tmp_path)
