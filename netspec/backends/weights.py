"""Loading another model's weights into a netspec model by position (torchvision's, say).

A spec written in a reference model's layer order holds the same tensors in the same order of
its state_dict, whatever either side names them (``layer2_0.conv1`` here is ``layer2.0.conv1``
in torchvision; a class token here may be (1, 768) where torchvision keeps (1, 1, 768)). Tensors
are matched one to one, in order, and must agree in size; a shape may differ only by dims of
size 1. Anything else is refused, naming both tensors, before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class WeightsMismatchError(ValueError):
    """The two models do not hold the same tensors in the same order."""


def load_weights_in_order(
    model: nn.Module, reference: nn.Module | Mapping[str, torch.Tensor]
) -> dict[str, str]:
    """Copy ``reference``'s parameters and buffers into ``model``, matched by position; returns
    which reference tensor each of ``model``'s came from (``{ours: theirs}``)."""
    theirs = reference.state_dict() if isinstance(reference, nn.Module) else dict(reference)
    ours = model.state_dict()
    if len(ours) != len(theirs):
        raise WeightsMismatchError(
            f"the model holds {len(ours)} tensors and the reference {len(theirs)}: write the "
            "spec with the reference's layers, in its order"
        )
    loaded: dict[str, torch.Tensor] = {}
    mapping: dict[str, str] = {}
    for index, ((name, mine), (source, tensor)) in enumerate(
        zip(ours.items(), theirs.items(), strict=True)
    ):
        if mine.shape != tensor.shape and _squeezed(mine.shape) != _squeezed(tensor.shape):
            raise WeightsMismatchError(
                f"tensor {index}: '{name}' is {tuple(mine.shape)} but the reference's "
                f"'{source}' is {tuple(tensor.shape)}"
            )
        loaded[name] = tensor.reshape(mine.shape)
        mapping[name] = source
    model.load_state_dict(loaded)
    return mapping


def _squeezed(shape: torch.Size) -> tuple[int, ...]:
    return tuple(size for size in shape if size != 1)
