"""Validation: every kind of mistake is reported with its position, all in one run."""

from __future__ import annotations

import pytest
from helpers import check, error_lines, shapes_of, warning_lines

from netspec.names import MODULE_ATTRIBUTES, name_problem


def test_the_issue_example_checks_as_written() -> None:
    yaml = """
    name: lenet
    input: [1, 28, 28]          # C, H, W; the batch stays symbolic
    layers:
      - conv2d: {out_channels: 6, kernel_size: 5, padding: 2}
      - relu
      - maxpool2d: {kernel_size: 2, stride: 2}
      - conv2d: {out_channels: 16, kernel_size: 5}
      - relu
      - maxpool2d: 2
      - flatten
      - linear: 120
      - relu
      - linear: 84
      - relu
      - linear: {in_features: 84, out_features: 10}
    """
    checked = check(yaml)
    assert checked.ok and not checked.diagnostics
    assert list(shapes_of(yaml).values())[-1] == (10,)


def test_layer_forms_bare_scalar_mapping_and_siblings() -> None:
    yaml = """
    name: forms
    input: [3, 8, 8]
    layers:
      - relu
      - maxpool2d: 2
      - conv2d: {out_channels: 4, kernel_size: 1}
        name: proj
      - dropout:
        name: drop
      - identity:
        from: proj
    """
    checked = check(yaml)
    assert checked.ok, checked.diagnostics
    assert checked.graph is not None
    assert [(n.name, n.inputs) for n in checked.graph.layers()] == [
        ("relu_1", ("input",)),
        ("maxpool2d_1", ("relu_1",)),
        ("proj", ("maxpool2d_1",)),
        ("drop", ("proj",)),
        ("identity_1", ("proj",)),
    ]
    # drop's output is not read by anything: a warning, not an error.
    assert warning_lines(yaml) == [
        "spec.yaml:8:5: warning: dropout 'drop': its output is never used (only the last layer "
        "is the network's output)"
    ]


def test_all_errors_are_reported_at_once_in_file_order() -> None:
    yaml = """
    name: t
    input: [3, 8, 8]
    layers:
      - conv2d: {out_channels: 6, kernal_size: 3}
      - Conv2d: {out_channels: 6}
      - dense: 10
      - linear: {out_features: -1}
      - relu: 3
    trian: {}
    """
    assert error_lines(yaml) == [
        "spec.yaml:4:5: conv2d 'conv2d_1': missing required argument 'kernel_size', "
        "e.g. `- conv2d: {kernel_size: …}`",
        "spec.yaml:4:31: conv2d 'conv2d_1': unknown argument 'kernal_size' (did you mean "
        "'kernel_size'?); conv2d takes: in_channels, out_channels, kernel_size, stride, "
        "padding, dilation, groups, bias, padding_mode",
        "spec.yaml:5:5: unknown layer kind 'Conv2d' (did you mean 'conv2d'?)",
        "spec.yaml:6:5: unknown layer kind 'dense' (did you mean 'linear'?)",
        "spec.yaml:7:28: linear 'linear_1': out_features: must be ≥ 1, got -1",
        "spec.yaml:8:11: relu 'relu_1': takes arguments as a mapping (inplace), got 3",
        "spec.yaml:9:1: unknown key 'trian' (did you mean 'train'?); a spec has name, "
        "description, input, blocks, layers, train",
    ]


def test_wrong_types_and_ranges() -> None:
    yaml = """
    name: t
    input: [3, 0, "8"]
    layers:
      - conv2d: {out_channels: "6", kernel_size: [3, 3, 3], bias: yes, padding_mode: zero}
      - dropout: 1.5
      - leakyrelu: true
      - gelu: fast
      - maxpool2d: {kernel_size: 2.5}
      - adaptiveavgpool2d: [2, 0]
      - conv2d: {out_channels: 4, kernel_size: 3, padding: sam}
    train: {epochs: 0, batch_size: 1.5, loss: crossentropy, lr: .nan}
    """
    assert error_lines(yaml) == [
        "spec.yaml:2:12: input[1]: must be ≥ 1, got 0",
        "spec.yaml:2:15: input[2]: expected an integer, got '8' (a string)",
        "spec.yaml:4:28: conv2d 'conv2d_1': out_channels: expected an integer, got '6' (a string)",
        "spec.yaml:4:46: conv2d 'conv2d_1': kernel_size: expected an integer ≥ 1 or a list of "
        "2 of them (H, W), got [3, 3, 3]",
        "spec.yaml:4:63: conv2d 'conv2d_1': bias: expected true or false, got 'yes' (a string)",
        "spec.yaml:4:82: conv2d 'conv2d_1': padding_mode: expected 'zeros', 'reflect', "
        "'replicate' or 'circular', got 'zero' (a string) (did you mean 'zeros'?)",
        "spec.yaml:5:14: dropout 'dropout_1': p: must be ≤ 1.0, got 1.5",
        "spec.yaml:6:16: leakyrelu 'leakyrelu_1': negative_slope: expected a number, got true",
        "spec.yaml:7:11: gelu 'gelu_1': approximate: expected 'none' or 'tanh', got 'fast' "
        "(a string)",
        "spec.yaml:8:30: maxpool2d 'maxpool2d_1': kernel_size: expected an integer ≥ 1 or a "
        "list of 2 of them (H, W), got 2.5",
        "spec.yaml:9:24: adaptiveavgpool2d 'adaptiveavgpool2d_1': output_size: expected an "
        "integer ≥ 1 or a list of 2 integers or nulls (H, W), got [2, 0]",
        "spec.yaml:10:56: conv2d 'conv2d_2': padding: expected an integer ≥ 0, a list of them, "
        "'valid' or 'same', got 'sam' (a string) (did you mean 'same'?)",
        "spec.yaml:11:17: train.epochs: must be ≥ 1, got 0",
        "spec.yaml:11:32: train.batch_size: expected an integer, got 1.5",
        "spec.yaml:11:43: train.loss: expected 'cross_entropy', 'nll' or 'mse', got "
        "'crossentropy' (a string) (did you mean 'cross_entropy'?)",
        "spec.yaml:11:61: train.lr: expected a finite number, got nan",
    ]


def test_names_duplicates_and_dangling_from() -> None:
    yaml = """
    name: 3net
    input: [3, 8, 8]
    layers:
      - relu:
        name: conv-1
      - relu:
        name: class
      - relu:
        name: a
      - relu:
        name: a
      - relu:
        name: "сonv"
      - relu:
        from: zz
      - relu:
        from: later
      - relu:
        name: later
      - add:
      - relu:
        from: [a, later]
    """
    assert error_lines(yaml) == [
        "spec.yaml:1:7: spec name '3net' is not allowed: use ASCII letters, digits and _, "
        "starting with a letter",
        "spec.yaml:5:11: layer name 'conv-1' is not allowed: use ASCII letters, digits and _, "
        "starting with a letter",
        "spec.yaml:7:11: layer name 'class' is a Python keyword",
        "spec.yaml:11:11: relu 'a': duplicate layer name (first used at line 9)",
        "spec.yaml:13:11: layer name '\\u0441onv' contains the non-ASCII character U+0441 "
        "(CYRILLIC SMALL LETTER ES); use ASCII letters, digits and _",
        "spec.yaml:15:11: relu 'relu_6': from: 'zz' is not a layer of this spec",
        "spec.yaml:17:11: relu 'relu_7': from: 'later' is defined later (line 18); a layer can "
        "only read layers above it",
        "spec.yaml:20:5: add 'add_1': joins 2 or more layers: list them with from: [a, b]",
        "spec.yaml:22:12: relu 'relu_9': takes 1 input, got 2 in from:",
    ]


def test_indentation_slip_is_explained_once() -> None:
    yaml = """
    name: t
    input: [3, 8, 8]
    layers:
      - conv2d:
        out_channels: 3
        kernel_size: 1
    """
    assert error_lines(yaml) == [
        "spec.yaml:5:5: 'out_channels', 'kernel_size' are arguments of conv2d: indent them "
        "under 'conv2d:'"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            "spec.yaml:1:1: a spec is a mapping with the keys name, input and layers; "
            "the file is empty",
        ),
        (
            "- relu\n",
            "spec.yaml:1:1: a spec is a mapping with the keys name, input and layers; "
            "the file holds a list",
        ),
        (
            "name: t\ninput: [1, 2\nlayers: []\n",
            "spec.yaml:3:7: invalid YAML: expected ',' or ']', but got ':'",
        ),
        (
            "name: t\nname: u\ninput: [1]\nlayers: [relu]\n",
            "spec.yaml:2:1: invalid YAML: duplicate key 'name' (first at line 1)",
        ),
        (
            "name: t\ninput: [1]\nlayers: []\n",
            "spec.yaml:3:9: layers: expected a list of at least one layer, got []",
        ),
        (
            "name: t\ninput: 28\nlayers: [relu]\n",
            "spec.yaml:2:8: input: expected a list of 1 to 4 sizes without the batch ([C, H, W], "
            "[C, L] or [features]) or a mapping {shape: [...], dtype: long}, got 28",
        ),
        ("name: t\ninput: [1]\nlayers:\n  - {}\n", "spec.yaml:4:5: this layer has no kind"),
        (
            "name: t\ninput: [1]\nlayers:\n  - {name: foo}\n",
            "spec.yaml:4:5: this layer has no kind, only 'name'",
        ),
        (
            "name: t\ninput: [1]\nlayers:\n  - [relu]\n",
            "spec.yaml:4:5: a layer is a kind (`- relu`) or a one-key mapping (`- linear: 120`), "
            "got ['relu']",
        ),
        (
            "name: t\ninput: [1]\nlayers:\n  - relu: {}\n    sigmoid:\n",
            "spec.yaml:5:5: a layer has one kind plus optional name, from and repeat, found "
            "'relu', 'sigmoid'",
        ),
        (
            "name: t\ninput: [1]\nlayers:\n  - linear: 2\n    from: 3\n",
            "spec.yaml:5:11: from: expected a layer name or a list of them, got 3",
        ),
        ("input: [1]\nlayers: [relu]\n", "spec.yaml:1:1: missing required key 'name'"),
        (
            "name: t\ninput: [3]\nlayers:\n  - linear: {out_features: 2, name: fc}\n",
            "spec.yaml:4:31: linear 'linear_1': 'name' goes beside 'linear:', not among its "
            "arguments",
        ),
        (
            "name: t\ninput: [1]\nlayers: [relu]\ntrain: {optimiser: sgd}\n",
            "spec.yaml:4:9: train: unknown key 'optimiser' (did you mean 'optimizer'?)",
        ),
    ],
)
def test_document_structure_errors(text: str, expected: str) -> None:
    assert error_lines(text) == [expected]


def test_reserved_names() -> None:
    assert name_problem("forward") == (
        "layer name 'forward' is reserved: it is an attribute of torch.nn.Module"
    )
    assert name_problem("torch") == "layer name 'torch' is reserved for generated code"
    assert name_problem("x" * 65) is not None
    assert name_problem("conv1") is None
    assert name_problem("__import__") is not None
    assert name_problem("a'; import os") is not None


def test_reserved_module_attributes_cover_the_installed_torch() -> None:
    from torch import nn

    public = {n for n in dir(nn.Module) if not n.startswith("_")}
    public |= {n for n in vars(nn.Module()) if not n.startswith("_")}
    assert public <= MODULE_ATTRIBUTES


def test_train_section_defaults_and_values() -> None:
    checked = check("name: t\ninput: [4]\nlayers: [relu]\ntrain: {optimizer: sgd, lr: 0.1}\n")
    assert checked.spec is not None
    train = checked.spec.train
    assert (train.optimizer, train.lr, train.momentum, train.batch_size) == ("sgd", 0.1, 0.0, 64)
    assert (train.epochs, train.loss, train.schedule) == (10, "cross_entropy", "none")
    assert train.data is None


def test_loss_and_inplace_warnings() -> None:
    yaml = """
    name: t
    input: [3, 8, 8]
    layers:
      - conv2d: {out_channels: 3, kernel_size: 1}
        name: a
      - relu: {inplace: true}
      - add:
        from: [a, relu_1]
      - flatten
      - softmax
    """
    assert warning_lines(yaml) == [
        "spec.yaml:6:5: warning: relu 'relu_1': inplace: true overwrites the output of 'a', "
        "which 'add_1' also reads; set inplace: false",
        "spec.yaml:10:5: warning: softmax 'softmax_1': the cross_entropy loss applies "
        "log-softmax itself; a final softmax squashes the logits and slows learning (remove "
        "it, or end with logsoftmax and use loss: nll)",
    ]
    nll = "name: t\ninput: [4]\nlayers: [relu]\ntrain: {loss: nll}\n"
    assert warning_lines(nll) == [
        "spec.yaml:3:10: warning: relu 'relu_1': the nll loss expects log-probabilities: end "
        "with logsoftmax"
    ]


def test_auto_names_skip_explicit_ones() -> None:
    yaml = """
    name: t
    input: [4]
    layers:
      - relu:
        name: relu_2
      - relu
      - relu
    """
    checked = check(yaml)
    assert checked.graph is not None
    assert [n.name for n in checked.graph.layers()] == ["relu_2", "relu_3", "relu_4"]
