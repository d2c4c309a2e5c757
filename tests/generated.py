"""Helpers for tests of generated code: import a compiled file, trace its shapes."""

from __future__ import annotations

import importlib.util
import operator
import sys
import uuid
from pathlib import Path
from types import ModuleType

import torch
from torch import fx
from torch.fx.passes.shape_prop import ShapeProp

from netspec import CheckedSpec


def import_file(path: Path) -> ModuleType:
    """Import a generated file as a fresh module (as `python model.py` would load it)."""
    name = f"generated_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def compiled_model(module: ModuleType, checked: CheckedSpec, as_module: bool) -> torch.nn.Module:
    """The model a generated file defines: its class, or its factory function's result."""
    from netspec.backends.codegen import entry_name

    return getattr(module, entry_name(checked.valid_graph(), as_module))()


def traced_shapes(model: torch.nn.Module, checked: CheckedSpec) -> dict[str, tuple[int, ...]]:
    """Every layer's output shape (batch dropped) from running the model under torch.fx.

    Module layers are fx ``call_module`` nodes named like the layers; a merge of k inputs is
    k − 1 additions or one ``torch.cat``, in spec order.
    """
    layers = checked.valid_graph()
    graph_module = fx.symbolic_trace(model)
    ShapeProp(graph_module).propagate(torch.randn(2, *layers.input_shape.dims))
    shapes: dict[str, tuple[int, ...]] = {}
    functions = [
        n
        for n in graph_module.graph.nodes
        if n.op == "call_function" and n.target in (operator.add, torch.cat)
    ]
    for node in graph_module.graph.nodes:
        if node.op == "call_module":
            shapes[str(node.target)] = tuple(node.meta["tensor_meta"].shape[1:])
    for layer in layers.layers():
        if layer.torch_call() is None:
            used = len(layer.inputs) - 1 if layer.kind_name == "add" else 1
            node, functions = functions[used - 1], functions[used:]
            shapes[layer.name] = tuple(node.meta["tensor_meta"].shape[1:])
    assert not functions, "unmatched additions or concatenations"
    return shapes
