"""Every shipped spec: the checker's shapes and parameters equal what PyTorch builds."""

from __future__ import annotations

from pathlib import Path

from helpers import ROOT
from torch_oracle import run_graph

from netspec import check_file, load


def test_every_shipped_spec_checks_clean(spec_path: Path) -> None:
    checked = check_file(spec_path)
    assert [str(d) for d in checked.diagnostics] == []


def test_shapes_and_parameters_equal_pytorch(spec_path: Path) -> None:
    checked = load(spec_path)
    assert checked.graph is not None and checked.graph is not None
    torch_run = run_graph(checked.graph)
    for layer in checked.graph.layers():
        name = layer.name
        assert layer.output is not None
        assert layer.output.dims == torch_run.outputs[name], name
        torch_params = torch_run.params.get(name, [])
        assert list(layer.weights.items()) == torch_params, name
    total = sum(p.numel() for m in torch_run.modules.values() for p in m.parameters())
    assert checked.graph.total_params == total


def test_lenet_tutorial_has_the_ten_tensors_the_tutorial_lists() -> None:
    checked = load(ROOT / "specs" / "lenet_tutorial.yaml")
    assert checked.graph is not None and checked.graph is not None
    listed = [
        (6, 1, 3, 3),
        (6,),
        (16, 6, 3, 3),
        (16,),
        (120, 576),
        (120,),
        (84, 120),
        (84,),
        (10, 84),
        (10,),
    ]
    ours = [shape for layer in checked.graph.layers() for shape in layer.weights.values()]
    assert ours == listed
    torch_run = run_graph(checked.graph)
    theirs = [tuple(p.shape) for m in torch_run.modules.values() for p in m.parameters()]
    assert theirs == listed


def test_known_totals() -> None:
    # Hand-computed: LeNet-5 156 + 2,416 + 48,120 + 10,164 + 850 parameters.
    lenet = load(ROOT / "specs" / "lenet.yaml")
    assert lenet.graph is not None
    assert lenet.graph.total_params == 61_706
    # conv1 6·28·28·25 + conv2 16·10·10·150 + 400·120 + 120·84 + 84·10
    assert lenet.graph.total_macs == 117_600 + 240_000 + 48_000 + 10_080 + 840
    bn = load(ROOT / "specs" / "mnist_bn_cnn.yaml")
    assert bn.graph is not None
    flatten = next(r for r in bn.graph.layers() if r.kind_name == "flatten")
    assert flatten.output is not None and flatten.output.dims == (256,)
