"""Warnings about specs that are valid PyTorch but very likely not what the user meant."""

from __future__ import annotations

from netspec.diagnostics import Diagnostic
from netspec.ir import INPUT, Graph, Layer
from netspec.spec.model import TrainConfig


def _warning(graph: Graph, layer: Layer, message: str, *, in_context: bool = False) -> Diagnostic:
    return Diagnostic(
        message,
        graph.file,
        layer.position,
        layer.name,
        layer.kind_name,
        severity="warning",
        note=layer.context() if in_context else None,
    )


def lint(graph: Graph, train: TrainConfig) -> list[Diagnostic]:
    layers = list(graph.layers())
    found = [
        _warning(
            graph,
            layer,
            "its output is never used (only the last layer is the network's output)",
            in_context=True,
        )
        for layer in layers[:-1]
        if not any(graph.consumers(value) for value in layer.output_names)
    ]
    for layer in layers:
        if getattr(layer.args, "inplace", False):
            for source in layer.inputs:
                readers = [r for r in graph.consumers(source) if r != layer.name]
                if source != INPUT and readers:
                    message = (
                        f"inplace: true overwrites the output of '{source}', which "
                        f"'{readers[0]}' also reads; set inplace: false"
                    )
                    found.append(_warning(graph, layer, message))
    last = layers[-1] if layers else None
    if last is not None and last.kind is not None:
        if train.loss == "cross_entropy" and last.kind.name == "softmax":
            message = (
                "the cross_entropy loss applies log-softmax itself; a final softmax squashes "
                "the logits and slows learning (remove it, or end with logsoftmax and use "
                "loss: nll)"
            )
            found.append(_warning(graph, last, message))
        if train.loss == "nll" and last.kind.name != "logsoftmax":
            message = "the nll loss expects log-probabilities: end with logsoftmax"
            found.append(_warning(graph, last, message))
    return found
