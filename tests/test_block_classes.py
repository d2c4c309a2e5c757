"""A block becomes one class when every use gets the same modules from it: sizes derived inside
the block are traced through the layer kinds' own shape rules as expressions of the class's
constructor arguments (``n * 2``), and a size that differs between uses and is no such
expression is refused with both values named."""

from __future__ import annotations

import pytest
from helpers import check
from test_codegen_names import assert_runs_like_build

import netspec
from netspec.backends.codegen import CompileError

HEAD = """
name: two
input: [3, 8, 8]
blocks:
  head:
    params: {{n: null}}
    layers:
      - conv2d: {{out_channels: n, kernel_size: 3, padding: 1}}
{pool}      - flatten
      - linear: n * 2
      - linear: 4
layers:
  - conv2d: {{out_channels: 3, kernel_size: 1}}
    name: a
  - head: 5
    name: h1
  - maxpool2d: 2
    from: a
  - head: 6
  - concat:
    from: [h1, head_2]
"""


def test_sizes_derived_in_a_block_are_expressions_of_its_parameters() -> None:
    checked = check(HEAD.format(pool="      - adaptiveavgpool2d: 1\n"))
    assert checked.ok, checked.errors
    source = assert_runs_like_build(checked)
    assert "        self.linear_1 = nn.Linear(n, n * 2)\n" in source
    assert "        self.linear_2 = nn.Linear(n * 2, 4)\n" in source
    assert "        x = self.conv2d_1(input)  # (N, n, ·, ·)\n" in source
    assert "        x = self.adaptiveavgpool2d_1(x)  # (N, n, 1, 1)\n" in source
    assert "        self.head_2 = Head(3, n=6)\n" in source


def test_a_size_that_differs_between_uses_cannot_be_one_class() -> None:
    checked = check(HEAD.format(pool=""))
    assert checked.ok, checked.errors
    with pytest.raises(CompileError) as error:
        netspec.compile_source(checked)
    assert str(error.value) == (
        "block head cannot be one class: its layer 'linear_1' is nn.Linear(n * 8 * 8, n * 2) "
        "in 'h1' but nn.Linear(n * 4 * 4, n * 2) in 'head_2'; write the sizes that differ as "
        "expressions of the block's parameters"
    )
    model = netspec.build(checked)  # building (and training) takes each use as it is
    assert sum(p.numel() for p in model.parameters()) == checked.graph.total_params


def test_a_nested_block_reads_the_outer_parameters() -> None:
    yaml = """
    name: nested
    input: [2, 6, 6]
    blocks:
      unit:
        params: {width: null}
        layers:
          - conv2d: {out_channels: width, kernel_size: 1}
          - relu
      pair:
        params: {c: null}
        layers:
          - unit: c * 2
          - unit: {width: c * 2 + 1}
          - concat:
            from: [unit_1, unit_2]
    layers:
      - pair: 3
      - pair: 4
    """
    checked = check(yaml)
    assert checked.ok, checked.errors
    source = assert_runs_like_build(checked)
    assert "        self.unit_1 = Unit(in_channels, width=c * 2)\n" in source
    assert "        self.unit_2 = Unit(c * 2, width=c * 2 + 1)\n" in source
    assert "        # concat_1: (N, c * 2 + (c * 2 + 1), 6, 6)\n" in source
