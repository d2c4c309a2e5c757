"""Attention over a sequence: multiheadattention, transformerencoderlayer (batch first)."""

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from netspec.layers.args import Bool, LayerArgs, PositiveFloat, PositiveInt, Probability
from netspec.layers.base import (
    UNKNOWN,
    Inferred,
    LayerKind,
    OperandT,
    ParamShapes,
    Reporter,
    Unpacking,
    expect_rank,
    invalid,
    valid,
)
from netspec.pysource import Value
from netspec.shapes import Shape


def _width(written: int | None, name: str, shapes: Sequence[Shape], report: Reporter) -> int | None:
    """The model width: every input's last dim, and ``written`` where the spec gives it."""
    widths = {shape.dims[-1] for shape in shapes} - {None}
    if len(widths) > 1:
        listed = ", ".join(
            f"{shape} ('{source}')"
            for shape, source in zip(shapes, report.input_names, strict=True)
        )
        report.error(f"query, key and value must have one feature size, got {listed}")
        return None
    width = widths.pop() if widths else written
    if written is not None and width is not None and written != width:
        report.error(f"{name} is {written} but the input has {width} features", name)
        return None
    return width


def _heads(width: int, heads: int, name: str, report: Reporter) -> bool:
    if width % heads:
        report.error(f"{width} features do not divide into {heads} heads", name)
        return False
    return True


def _attention_weights(width: int, bias: bool, prefix: str = "") -> ParamShapes:
    weights: ParamShapes = {f"{prefix}in_proj_weight": (3 * width, width)}
    if bias:
        weights[f"{prefix}in_proj_bias"] = (3 * width,)
    weights[f"{prefix}out_proj.weight"] = (width, width)
    if bias:
        weights[f"{prefix}out_proj.bias"] = (width,)
    return weights


def _attention_macs(queries: int, keys: int, width: int) -> int:
    """Projections of queries, keys, values and the output, scores and the weighted sum."""
    return 2 * queries * width * width + 2 * keys * width * width + 2 * queries * keys * width


class MultiheadAttentionArgs(LayerArgs):
    embed_dim: PositiveInt | None = Field(
        None, description="checked against the inputs' features, never trusted"
    )
    num_heads: PositiveInt = Field(description="parallel heads; must divide embed_dim")
    dropout: Probability = Field(0.0, description="dropout on the attention weights")
    bias: Bool = Field(True, description="learn biases in the projections")


class MultiheadAttention(LayerKind[MultiheadAttentionArgs]):
    name = "multiheadattention"
    family = "sequence"
    summary = "multi-head attention: self-attention from one input, or query, key, value"
    shape_rule = (
        "Inputs T×E: one (self-attention: query = key = value), two (query; key = value) or "
        "three (query, key, value); key and value share their length. Output: the query's "
        "T×E (the attention weights are not returned). Params: in_proj 3E×E, out_proj E×E, "
        "with biases."
    )
    torch_class = "MultiheadAttention"
    torch_positional = ("embed_dim", "num_heads")
    forward_keywords = (("need_weights", False),)
    main_arg = "num_heads"
    min_inputs = 1
    max_inputs = 3
    aliases = ("MultiheadAttention", "MultiHeadAttention", "multi_head_attention")
    Args = MultiheadAttentionArgs
    examples = (
        valid(4, (10, 32)),
        valid({"num_heads": 2, "bias": False}, (5, 8), (7, 8), (7, 8)),
        valid(2, (5, 8), (9, 8)),
        invalid(3, (10, 32), error="32 features do not divide into 3 heads"),
        invalid(2, (5, 8), (7, 8), (6, 8), error="key and value must have one length"),
        invalid(2, (5, 8), (7, 6), error="must have one feature size"),
    )

    def call_operands(self, operands: Sequence[OperandT]) -> list[OperandT]:
        query, *rest = operands
        key, value = rest if len(rest) == 2 else (rest or [query]) * 2
        return [query, key, value]

    def unpacking(self, args: MultiheadAttentionArgs) -> Unpacking:
        return (0, None)  # need_weights=False: the weights are None

    def infer(
        self, args: MultiheadAttentionArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        if any(x is None for x in inputs):
            return UNKNOWN
        shapes: list[Shape] = list(inputs)  # type: ignore[arg-type]
        if not all(expect_rank(x, {2: "T×E"}, report) for x in shapes):
            return UNKNOWN
        query, key, value = self.call_operands(shapes)
        if key.dims[0] != value.dims[0]:
            report.error(
                f"key and value must have one length, got {key} and {value} "
                f"('{report.input_names[1]}', '{report.input_names[2]}')"
            )
            return UNKNOWN
        width = _width(args.embed_dim, "embed_dim", shapes, report)
        if width is None or not _heads(width, args.num_heads, "num_heads", report):
            return UNKNOWN
        queries, keys = query.dims[0], key.dims[0]
        macs = None if None in (queries, keys) else _attention_macs(queries, keys, width)  # type: ignore[arg-type]
        return Inferred(query, _attention_weights(width, args.bias), macs)

    def torch_values(
        self, args: MultiheadAttentionArgs, inputs: Sequence[Shape]
    ) -> dict[str, Value]:
        return {**args.model_dump(), "embed_dim": inputs[0].dims[-1], "batch_first": True}

    def describe(self, args: MultiheadAttentionArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.num_heads} heads"


class TransformerEncoderLayerArgs(LayerArgs):
    d_model: PositiveInt | None = Field(
        None, description="checked against the input's features, never trusted"
    )
    nhead: PositiveInt = Field(description="attention heads; must divide d_model")
    dim_feedforward: PositiveInt = Field(2048, description="width of the feed-forward layer")
    dropout: Probability = Field(0.1, description="dropout after attention and feed-forward")
    activation: Literal["relu", "gelu"] = Field("relu", description="feed-forward activation")
    layer_norm_eps: PositiveFloat = Field(1e-5, description="layer norm's epsilon")
    norm_first: Bool = Field(False, description="normalise before attention (pre-norm)")
    bias: Bool = Field(True, description="learn biases in linear layers and norms")


class TransformerEncoderLayer(LayerKind[TransformerEncoderLayerArgs]):
    name = "transformerencoderlayer"
    family = "sequence"
    summary = "self-attention and a feed-forward network, each with a residual and layer norm"
    shape_rule = (
        "Input T×E; output T×E. Params: attention (3E×E + E×E), feed-forward (F×E + E×F), two "
        "layer norms, with biases."
    )
    torch_class = "TransformerEncoderLayer"
    torch_positional = ("d_model", "nhead")
    main_arg = "nhead"
    aliases = ("TransformerEncoderLayer", "transformer_encoder_layer")
    Args = TransformerEncoderLayerArgs
    examples = (
        valid({"nhead": 4, "dim_feedforward": 64}, (10, 32)),
        valid(
            {"nhead": 2, "dim_feedforward": 16, "norm_first": True, "activation": "gelu"}, (5, 8)
        ),
        invalid({"nhead": 3}, (10, 32), error="32 features do not divide into 3 heads"),
        invalid({"nhead": 2, "d_model": 16}, (10, 32), error="d_model is 16"),
    )

    def infer(
        self, args: TransformerEncoderLayerArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not expect_rank(x, {2: "T×E"}, report):
            return UNKNOWN
        width = _width(args.d_model, "d_model", [x], report)
        if width is None or not _heads(width, args.nhead, "nhead", report):
            return UNKNOWN
        hidden = args.dim_feedforward
        weights = _attention_weights(width, args.bias, "self_attn.")
        weights["linear1.weight"] = (hidden, width)
        if args.bias:
            weights["linear1.bias"] = (hidden,)
        weights["linear2.weight"] = (width, hidden)
        if args.bias:
            weights["linear2.bias"] = (width,)
        for norm in ("norm1", "norm2"):
            weights[f"{norm}.weight"] = (width,)
            if args.bias:
                weights[f"{norm}.bias"] = (width,)
        steps = x.dims[0]
        macs = None
        if steps is not None:
            macs = _attention_macs(steps, steps, width) + 2 * steps * width * hidden
        return Inferred(x, weights, macs)

    def torch_values(
        self, args: TransformerEncoderLayerArgs, inputs: Sequence[Shape]
    ) -> dict[str, Value]:
        return {**args.model_dump(), "d_model": inputs[0].dims[-1], "batch_first": True}

    def describe(self, args: TransformerEncoderLayerArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.nhead} heads, ff {args.dim_feedforward}"
