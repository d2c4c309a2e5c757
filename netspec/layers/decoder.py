"""The transformer's decoder layer: self-attention over the target, attention to the encoder's
memory, and a feed-forward network (batch first)."""

from collections.abc import Sequence

from pydantic import Field

from netspec.layers.args import PositiveInt
from netspec.layers.attention import (
    TransformerEncoderLayerArgs,
    _attention_macs,
    _attention_weights,
    _heads,
    _width,
)
from netspec.layers.base import (
    UNKNOWN,
    Inferred,
    LayerKind,
    Reporter,
    expect_rank,
    invalid,
    valid,
)
from netspec.pysource import Value
from netspec.shapes import Shape


class TransformerDecoderLayerArgs(TransformerEncoderLayerArgs):
    d_model: PositiveInt | None = Field(
        None, description="checked against the target's and memory's features, never trusted"
    )


class TransformerDecoderLayer(LayerKind[TransformerDecoderLayerArgs]):
    name = "transformerdecoderlayer"
    family = "sequence"
    summary = (
        "self-attention over the target, attention to the memory and a feed-forward network, "
        "each with a residual and layer norm"
    )
    shape_rule = (
        "Inputs: the target T×E and the memory S×E (the encoder's output); output T×E. Params: "
        "self-attention and memory attention (3E×E + E×E each), feed-forward (F×E + E×F), "
        "three layer norms, with biases."
    )
    torch_class = "TransformerDecoderLayer"
    torch_positional = ("d_model", "nhead")
    main_arg = "nhead"
    min_inputs = 2
    max_inputs = 2
    aliases = ("TransformerDecoderLayer", "transformer_decoder_layer")
    Args = TransformerDecoderLayerArgs
    examples = (
        valid({"nhead": 4, "dim_feedforward": 64}, (10, 32), (12, 32)),
        valid(
            {
                "nhead": 2,
                "dim_feedforward": 16,
                "norm_first": True,
                "activation": "gelu",
                "bias": False,
            },
            (5, 8),
            (5, 8),
        ),
        invalid({"nhead": 3}, (10, 32), (10, 32), error="32 features do not divide into 3 heads"),
        invalid(
            {"nhead": 2, "dim_feedforward": 16},
            (5, 8),
            (7, 6),
            error="the memory 7×6 ('in1') has 6 features, the target 8",
        ),
        invalid({"nhead": 2, "d_model": 16}, (10, 32), (10, 32), error="d_model is 16"),
        invalid({"nhead": 2}, (5, 8), (8,), error="expects a S×E input (batch excluded), got 8"),
    )

    def infer(
        self, args: TransformerDecoderLayerArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        target, memory = inputs
        if target is None or memory is None:
            return UNKNOWN
        if not expect_rank(target, {2: "T×E"}, report) or not expect_rank(
            memory, {2: "S×E"}, report
        ):
            return UNKNOWN
        width = _width(args.d_model, "d_model", [target], report)
        if width is None:
            return UNKNOWN
        features = memory.dims[-1]
        if features is not None and features != width:
            names = report.input_names
            source = f" ('{names[1]}')" if len(names) > 1 else ""
            report.error(
                f"the memory {memory}{source} has {features} features, the target {width}: "
                "both need d_model"
            )
            return UNKNOWN
        if not _heads(width, args.nhead, "nhead", report):
            return UNKNOWN
        hidden = args.dim_feedforward
        weights = _attention_weights(width, args.bias, "self_attn.")
        weights |= _attention_weights(width, args.bias, "multihead_attn.")
        weights["linear1.weight"] = (hidden, width)
        if args.bias:
            weights["linear1.bias"] = (hidden,)
        weights["linear2.weight"] = (width, hidden)
        if args.bias:
            weights["linear2.bias"] = (width,)
        for norm in ("norm1", "norm2", "norm3"):
            weights[f"{norm}.weight"] = (width,)
            if args.bias:
                weights[f"{norm}.bias"] = (width,)
        steps, sources = target.dims[0], memory.dims[0]
        macs = None
        if steps is not None and sources is not None:
            macs = (
                _attention_macs(steps, steps, width)
                + _attention_macs(steps, sources, width)
                + 2 * steps * width * hidden
            )
        return Inferred(target, weights, macs)

    def torch_values(
        self, args: TransformerDecoderLayerArgs, inputs: Sequence[Shape]
    ) -> dict[str, Value]:
        return {**args.model_dump(), "d_model": inputs[0].dims[-1], "batch_first": True}

    def describe(self, args: TransformerDecoderLayerArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.nhead} heads, ff {args.dim_feedforward}"
