"""Helpers for the zoo's tests: a spec under specs/zoo/ against a reference PyTorch model.

A spec written in the reference's layer order takes its weights with the one documented call,
``netspec.load_torchvision_weights``; then the built model and the compiled file must compute
what the reference computes (eval mode), on the same input.
"""

from __future__ import annotations

from pathlib import Path

import torch
from generated import compiled_model, import_file
from helpers import ROOT

import netspec

ZOO = ROOT / "specs" / "zoo"


def zoo_spec(name: str) -> netspec.CheckedSpec:
    checked = netspec.load(ZOO / f"{name}.yaml")
    assert checked.ok, checked.errors
    return checked


def compiled(checked: netspec.CheckedSpec, directory: Path) -> torch.nn.Module:
    """The model the compiled file defines (the file must be ruff-clean: see test_zoo)."""
    path = directory / f"{checked.valid_graph().name}.py"
    path.write_text(netspec.compile_source(checked))
    return compiled_model(import_file(path), checked, as_module=False)


def example_input(checked: netspec.CheckedSpec, batch: int = 2) -> torch.Tensor:
    shape = checked.valid_graph().input_shape
    assert shape is not None
    generator = torch.Generator().manual_seed(0)
    if shape.dtype == "long":
        return torch.randint(0, 100, (batch, *shape.dims), generator=generator)
    return torch.randn(batch, *shape.dims, generator=generator)


def assert_same_as_reference(
    name: str,
    reference: torch.nn.Module,
    directory: Path,
    atol: float = 1e-5,
) -> None:
    """Parameter count equal to the reference's; its weights loaded into the built and the
    compiled model, both give the reference's outputs (eval mode)."""
    checked = zoo_spec(name)
    expected = sum(p.numel() for p in reference.parameters())
    assert checked.valid_graph().total_params == expected
    reference.eval()
    x = example_input(checked, batch=1)  # eval mode: one sample shows the same (and costs half)
    with torch.no_grad():
        wanted = reference(x)
    for model in (netspec.build(checked), compiled(checked, directory)):
        netspec.load_torchvision_weights(model, reference)
        model.eval()
        with torch.no_grad():
            got = model(x)
        assert got.shape == wanted.shape
        torch.testing.assert_close(got, wanted, atol=atol, rtol=1e-4)
