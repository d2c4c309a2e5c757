"""The runner trains the zoo's image classifiers: a smoke run of each on small CIFAR-10-format
data (3×32×32, ten classes), the spec's input and classifier resized to fit."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from datagen import write_cifar10
from helpers import ROOT, check

from netspec.train import train

ZOO = ROOT / "specs" / "zoo"
# The deep ones take a CPU most of a minute in their first steps, so the suite trains the
# lightest and `make test-zoo` (NETSPEC_ZOO=all) every one.
LIGHT = ["mobilenet_v2"]
HEAVY = [
    "shufflenet_v2_x1_0",
    "mobilenet_v3_small",
    "resnet50",
    "densenet121",
    "googlenet",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
]
EVERY_ONE = os.environ.get("NETSPEC_ZOO") == "all"
CLASSIFIERS = [
    *LIGHT,
    *(
        pytest.param(name, marks=pytest.mark.skipif(not EVERY_ONE, reason="NETSPEC_ZOO=all"))
        for name in HEAVY
    ),
]
# ViT-B/16 cuts 224×224 images into 196 patches of 16×16: at 32×32, 64 patches of 4×4 (its
# position embedding follows the token count: it is written as in_channels × in_features).
SMALLER_PATCHES = {
    "kernel_size: 16, stride: 16": "kernel_size: 4, stride: 4",
    "reshape: [768, 196]": "reshape: [768, 64]",
}

pytestmark = pytest.mark.usefixtures("isolated_data")


def small_version(name: str, directory: Path) -> Path:
    """The spec for 3×32×32 images and ten classes."""
    text = (ZOO / f"{name}.yaml").read_text()
    assert text.count("input: [3, 224, 224]") == 1 and text.count("- linear: 1000") == 1
    text = text.replace("input: [3, 224, 224]", "input: [3, 32, 32]")
    if name == "vit_b_16":
        for written, smaller in SMALLER_PATCHES.items():
            assert text.count(written) == 1
            text = text.replace(written, smaller)
    path = directory / f"{name}.yaml"
    path.write_text(text.replace("- linear: 1000", "- linear: 10"))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_the_runner_trains_a_zoo_classifier(name: str, isolated_data: Path, tmp_path: Path) -> None:
    write_cifar10(isolated_data, per_batch=16, test=32)
    spec = small_version(name, tmp_path)
    result = train(spec, {"epochs": 1, "batch_size": 16, "data": "cifar10"}, out=tmp_path / "run")
    assert result.status == "finished"
    (epoch,) = result.history
    assert math.isfinite(epoch["train_loss"])
    assert (tmp_path / "run" / "best.pt").exists()


def test_vit_at_another_resolution_is_refused_before_training(tmp_path: Path) -> None:
    text = (ZOO / "vit_b_16.yaml").read_text().replace("[3, 224, 224]", "[3, 32, 32]")
    checked = check(text, "vit.yaml")
    assert not checked.ok
    assert [d.message for d in checked.errors] == [
        "shape [768, 196] has 150528 elements per sample, the input 768×2×2 has 3072"
    ]
