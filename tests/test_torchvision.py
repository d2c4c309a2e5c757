"""ResNet-18 and VGG-16 written as specs are torchvision's own models, weight for weight.

The mapping from netspec's names to torchvision's is the one docs/blocks.md documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torchvision
from generated import compiled_model, import_file
from helpers import ROOT

import netspec


def resnet_name(ours: str) -> str:
    """netspec's resnet18 names → torchvision's: layer2_0.x → layer2.0.x; a down_block's
    downsample_conv / downsample_bn → downsample.0 / downsample.1. The rest are the same."""
    name = re.sub(r"^layer(\d)_(\d)\.", r"layer\1.\2.", ours)
    return name.replace("downsample_conv.", "downsample.0.").replace(
        "downsample_bn.", "downsample.1."
    )


def load_in_order(model: torch.nn.Module, reference: torch.nn.Module) -> None:
    """VGG: the weights correspond one to one, in order (features.*, classifier.*)."""
    ours, theirs = model.state_dict(), reference.state_dict()
    assert [tuple(t.shape) for t in ours.values()] == [tuple(t.shape) for t in theirs.values()]
    model.load_state_dict(dict(zip(ours, theirs.values(), strict=True)))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("torchvision")

    def make(spec: str) -> torch.nn.Module:
        checked = netspec.load(ROOT / "specs" / f"{spec}.yaml")
        path = Path(directory) / f"{spec}.py"
        path.write_text(netspec.compile_source(checked))
        return compiled_model(import_file(path), checked, as_module=False)

    return make


def test_resnet18_equals_torchvision(compiled) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    checked = netspec.load(ROOT / "specs" / "resnet18.yaml")
    assert checked.graph is not None and checked.graph.total_params == 11_689_512
    model = compiled("resnet18").eval()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    assert sum(p.numel() for p in reference.parameters()) == 11_689_512

    theirs = reference.state_dict()
    mapped = {name: theirs[resnet_name(name)] for name in model.state_dict()}
    assert sorted(map(resnet_name, mapped)) == sorted(theirs)  # every weight is used once
    model.load_state_dict(mapped)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected, got = reference(images), model(images)
    assert got.shape == expected.shape == (2, 1000)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)

    built = netspec.build(checked).eval()
    built.load_state_dict(mapped)
    with torch.no_grad():
        assert torch.equal(built(images), got)


def test_vgg16_equals_torchvision(compiled) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.vgg16().eval()
    model = compiled("vgg16").eval()
    assert sum(p.numel() for p in model.parameters()) == 138_357_544
    assert sum(p.numel() for p in reference.parameters()) == 138_357_544
    load_in_order(model, reference)
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected, got = reference(images), model(images)
    assert got.shape == expected.shape == (1, 1000)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)
