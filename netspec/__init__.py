"""netspec: declarative neural networks for PyTorch.

    checked = netspec.load("specs/lenet.yaml")      # validated, every shape inferred
    model = netspec.build(checked)                  # the nn.Module, in memory
    source = netspec.compile_source(checked)        # the same model as PyTorch source

Importing netspec stays light: only ``build`` imports torch, when it is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netspec.check import CheckedSpec, check_file, check_text, load
from netspec.diagnostics import Diagnostic, SpecError
from netspec.version import __version__ as __version__

if TYPE_CHECKING:
    from collections.abc import Mapping

    from torch import Tensor, nn


def _checked(spec: CheckedSpec | str | Path) -> CheckedSpec:
    return spec if isinstance(spec, CheckedSpec) else load(spec)


def compile_source(spec: CheckedSpec | str | Path, module: bool = False) -> str:
    """PyTorch source for a spec (a path or a checked spec): an ``nn.Sequential`` factory for a
    chain, an ``nn.Module`` class for a graph or when ``module`` is true.

    Raises ``SpecError`` listing every error if the spec has any. Does not import torch.
    """
    from netspec.backends.codegen import generate

    return generate(_checked(spec).valid_graph(), module=module)


def build(spec: CheckedSpec | str | Path, module: bool = False) -> nn.Module:
    """The spec's model in memory: the same modules, names and parameters as the file
    ``compile_source`` writes. Raises ``SpecError`` if the spec has errors."""
    from netspec.backends.torch_module import build_module

    return build_module(_checked(spec).valid_graph(), module=module)


def load_torchvision_weights(
    model: nn.Module, reference: nn.Module | Mapping[str, Tensor]
) -> dict[str, str]:
    """Copy a torchvision model's weights (or any model's, or a state_dict) into a model built
    from a spec written in its layer order: tensors are matched by position and must agree in
    size. Returns ``{our name: theirs}``; raises ``ValueError`` naming the first mismatch.

        reference = torchvision.models.resnet50(weights="DEFAULT")
        model = netspec.build("specs/zoo/resnet50.yaml")
        netspec.load_torchvision_weights(model, reference)
    """
    from netspec.backends.weights import load_weights_in_order

    return load_weights_in_order(model, reference)


__all__ = [
    "CheckedSpec",
    "Diagnostic",
    "SpecError",
    "build",
    "check_file",
    "check_text",
    "compile_source",
    "load",
    "load_torchvision_weights",
]
