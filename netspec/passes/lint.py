"""Warnings about specs that are valid PyTorch but very likely not what the user meant."""

from __future__ import annotations

from netspec.diagnostics import Diagnostic
from netspec.ir import INPUT, Graph, Node
from netspec.spec.model import TrainConfig


def _warning(graph: Graph, node: Node, message: str) -> Diagnostic:
    return Diagnostic(
        message, graph.file, node.decl.position, node.name, node.kind_name, severity="warning"
    )


def lint(graph: Graph, train: TrainConfig) -> list[Diagnostic]:
    found = []
    for node in graph.nodes:
        if getattr(node.args, "inplace", False):
            for source in node.inputs:
                readers = [r for r in graph.consumers(source) if r != node.name]
                if source != INPUT and readers:
                    found.append(
                        _warning(
                            graph,
                            node,
                            f"inplace: true overwrites the output of '{source}', which "
                            f"'{readers[0]}' also reads; set inplace: false",
                        )
                    )
    last = graph.nodes[-1] if graph.nodes else None
    if last is not None and last.kind is not None:
        if train.loss == "cross_entropy" and last.kind.name == "softmax":
            found.append(
                _warning(
                    graph,
                    last,
                    "the cross_entropy loss applies log-softmax itself; a final softmax squashes "
                    "the logits and slows learning (remove it, or end with logsoftmax and use "
                    "loss: nll)",
                )
            )
        if train.loss == "nll" and last.kind.name != "logsoftmax":
            found.append(
                _warning(graph, last, "the nll loss expects log-probabilities: end with logsoftmax")
            )
    return found
