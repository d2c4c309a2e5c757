"""A real checkpoint for the predict and export tests: LeNet trained for a few steps on a small
Fashion-MNIST written in its real format, and the reference its model must agree with."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from datagen import images_and_labels, write_idx_dataset
from helpers import ROOT
from rich.console import Console

import netspec
from netspec.train import checkpoint, train

LENET = ROOT / "specs" / "lenet.yaml"
TEST_COUNT = 128  # write_idx_dataset's test split: images_and_labels(128, seed=1)


@dataclass(frozen=True)
class Checkpoint:
    spec: Path
    path: Path
    root: Path  # a directory of the module's own, for files the tests write

    def state(self) -> dict[str, Any]:
        return checkpoint.load(self.path)

    def reference(self, images: torch.Tensor) -> torch.Tensor:
        """The checkpoint's model applied as the runner applies it: uint8 images ÷ 255,
        normalised with the checkpoint's mean and std, in eval mode."""
        state = self.state()
        model = netspec.build(self.spec)
        model.load_state_dict(state["model"])
        model.eval()
        shape = (1, -1, 1, 1)
        mean = torch.tensor(state["normalization"]["mean"]).reshape(shape)
        std = torch.tensor(state["normalization"]["std"]).reshape(shape)
        with torch.inference_mode():
            return model((images.float() / 255 - mean) / std)


def evaluation_images() -> tuple[torch.Tensor, torch.Tensor]:
    """The test split's images (N×1×28×28 uint8) and labels, as the data files hold them."""
    images, labels = images_and_labels(TEST_COUNT, 1, 28, seed=1)
    return torch.from_numpy(images), torch.from_numpy(labels).long()


@contextmanager
def trained_lenet(root: Path) -> Iterator[Checkpoint]:
    """LeNet trained for one short epoch (a few seconds on a CPU), with the data directory,
    the cache and no downloads set for as long as the context lasts. It gets about half the
    test images right: agreeing with it on which ones means something."""
    with torch.random.fork_rng(), _environment(root):
        write_idx_dataset(root / "data" / "FashionMNIST" / "raw")
        result = train(
            LENET, {"epochs": 1, "batch_size": 32, "lr": 0.002}, out=root / "run",
            device="cpu", console=Console(file=io.StringIO()),
        )  # fmt: skip
        assert result.status == "finished", result.message
        yield Checkpoint(LENET, root / "run" / "best.pt", root)


@contextmanager
def _environment(root: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NETSPEC_DATA", str(root / "data"))
        patch.setenv("NETSPEC_CACHE", str(root / "cache"))
        patch.setenv("NETSPEC_NO_DOWNLOAD", "1")
        yield


def forge(source: Path, target: Path, spec: Path, **fields: Any) -> Path:
    """A checkpoint like ``source`` with a fresh model of ``spec`` and ``fields`` changed (a
    model netspec cannot train here, such as one reading token ids); checksummed anew."""
    state = checkpoint.load(source)
    state["model"] = netspec.build(spec).state_dict()
    state.update(fields)
    checkpoint.save(target, state)
    return target
