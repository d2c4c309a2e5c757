"""The layer contract is checked when a kind is defined: a forgotten part fails at import with a
message naming the kind and what to do, never later in `draw` or the docs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from netspec.layers.args import NoArgs
from netspec.layers.base import REGISTRY, Inferred, LayerKind, Reporter, same_shape, valid
from netspec.shapes import Shape


class _Complete(LayerKind[NoArgs]):
    family = "activation"
    summary = "a test kind"
    shape_rule = "Output shape = input shape."
    torch_class = "Identity"
    Args = NoArgs
    examples = (valid(None, (3,)),)

    def infer(self, args: NoArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        return same_shape(inputs[0])


def test_an_unknown_family_fails_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError) as error:

        class Attention(_Complete):
            name = "test_attention"
            family = "attention"

    assert str(error.value) == (
        "layer kind 'test_attention' (test_layer_contract.test_an_unknown_family_fails_when_"
        "the_class_is_defined.<locals>.Attention): family 'attention' is not one of conv, pool, "
        "norm, activation, dropout, linear, reshape, merge, reduce, sequence; add it to "
        "FAMILIES in netspec/layers/base.py with its title and colours"
    )
    assert "test_attention" not in REGISTRY


def test_an_alias_belongs_to_one_kind() -> None:
    with pytest.raises(TypeError, match=r"'test_dense' .*: alias 'dense' is already linear's"):

        class Dense(_Complete):
            name = "test_dense"
            aliases = ("dense",)

    assert "test_dense" not in REGISTRY


def test_a_kind_without_a_valid_example_is_refused() -> None:
    with pytest.raises(TypeError, match=r"'test_untested' .* needs at least one valid example"):

        class Untested(_Complete):
            name = "test_untested"
            examples = ()

    assert "test_untested" not in REGISTRY


def test_a_kind_is_a_module_or_an_expression() -> None:
    with pytest.raises(TypeError, match="must either name a torch_class or implement expression"):

        class Neither(_Complete):
            name = "test_neither"
            torch_class = None


def test_a_missing_summary_is_named() -> None:
    with pytest.raises(TypeError, match=r"'test_bare' \(.*\) does not set summary, shape_rule"):

        class Bare(LayerKind[NoArgs]):
            name = "test_bare"
            family = "activation"
            Args = NoArgs
            examples = (valid(None, (3,)),)


def test_option_words_come_from_the_argument_model() -> None:
    assert REGISTRY["conv2d"].option_words == {
        "valid", "same", "zeros", "reflect", "replicate", "circular",
    }  # fmt: skip
    assert REGISTRY["gelu"].option_words == {"none", "tanh"}
    assert REGISTRY["linear"].option_words == frozenset()
