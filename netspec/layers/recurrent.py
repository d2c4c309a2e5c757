"""Recurrent layers over a sequence: rnn, lstm, gru (batch first, as every netspec value is).

Output 0 is the sequence of the last layer's states (T×D·H); output 1 the final hidden state of
every layer and direction, ``name.1`` (D·layers × H, batch first: PyTorch's h_n transposed);
an LSTM's output 2 is its final cell state.
"""

from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field

from netspec.layers.args import Bool, LayerArgs, NonNegativeInt, PositiveInt, Probability
from netspec.layers.base import (
    UNKNOWN,
    ArgsT,
    Inferred,
    LayerKind,
    ParamShapes,
    Reporter,
    Unpacking,
    expect_rank,
    invalid,
    valid,
)
from netspec.pysource import Value
from netspec.shapes import Shape


class RecurrentArgs(LayerArgs):
    input_size: PositiveInt | None = Field(
        None, description="checked against the input's features, never trusted"
    )
    hidden_size: PositiveInt = Field(description="features of the hidden state")
    num_layers: PositiveInt = Field(1, description="stacked layers")
    bias: Bool = Field(True, description="learn biases")
    dropout: Probability = Field(0.0, description="dropout between stacked layers")
    bidirectional: Bool = Field(False, description="also run the sequence backwards")


class RNNArgs(RecurrentArgs):
    nonlinearity: Literal["tanh", "relu"] = Field("tanh", description="the cell's activation")


class LSTMArgs(RecurrentArgs):
    proj_size: NonNegativeInt = Field(0, description="project the hidden state to this size")


class _Recurrent(LayerKind[ArgsT]):
    family = "sequence"
    main_arg = "hidden_size"
    torch_positional = ("input_size", "hidden_size")
    gates: ClassVar[int]  # weight rows per hidden feature: 1 (rnn), 3 (gru), 4 (lstm)
    shape_rule = (
        "Input T×C (batch first). Output 0: T×D·H (D = 2 when bidirectional; H = proj_size "
        "when an LSTM projects). Output 1 (`name.1`): the final hidden states, D·num_layers×H, "
        "batch first (PyTorch's h_n transposed); an LSTM's output 2: the final cell states. "
        "Params per layer and direction: weight_ih (G·hidden × input), weight_hh, two biases; "
        "G = 1 (rnn), 3 (gru), 4 (lstm)."
    )

    def projected(self, args: ArgsT) -> int:
        return getattr(args, "proj_size", 0) or args.hidden_size  # type: ignore[attr-defined]

    def output_count(self, args: ArgsT) -> int:
        return 2

    def unpacking(self, args: ArgsT) -> Unpacking:
        return (0, 1)

    def batch_second(self, args: ArgsT) -> frozenset[int]:
        return frozenset(range(1, self.output_count(args)))

    def infer(self, args: ArgsT, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        a: RecurrentArgs = args  # type: ignore[assignment]
        proj = getattr(a, "proj_size", 0)
        if proj >= a.hidden_size:
            report.error(
                f"proj_size {proj} must be smaller than hidden_size {a.hidden_size}", "proj_size"
            )
            return UNKNOWN
        if a.dropout and a.num_layers == 1:
            report.warning("dropout acts between stacked layers: with num_layers 1 it does nothing")
        if x is None or not expect_rank(x, {2: "T×C"}, report):
            return UNKNOWN
        steps, features = x.dims
        if a.input_size is not None and features is not None and a.input_size != features:
            report.error(
                f"input_size is {a.input_size} but the input has {features} features",
                "input_size",
            )
        features = features or a.input_size
        if features is None:
            return UNKNOWN
        directions = 2 if a.bidirectional else 1
        out = self.projected(args)
        weights, macs = self._weights(a, features, directions, out)
        layers = directions * a.num_layers
        more = [Shape((layers, out))]  # h_n
        if self.output_count(args) == 3:
            more.append(Shape((layers, a.hidden_size)))  # c_n
        sequence = Shape((steps, directions * out))
        return Inferred(sequence, weights, None if steps is None else macs * steps, tuple(more))

    def _weights(
        self, a: RecurrentArgs, features: int, directions: int, out: int
    ) -> tuple[ParamShapes, int]:
        rows = self.gates * a.hidden_size
        proj = getattr(a, "proj_size", 0)
        weights: ParamShapes = {}
        macs = 0  # per time step
        for layer in range(a.num_layers):
            width = features if layer == 0 else directions * out
            for suffix in ("", "_reverse")[:directions]:
                tag = f"l{layer}{suffix}"
                weights[f"weight_ih_{tag}"] = (rows, width)
                weights[f"weight_hh_{tag}"] = (rows, out)
                if a.bias:
                    weights[f"bias_ih_{tag}"] = (rows,)
                    weights[f"bias_hh_{tag}"] = (rows,)
                if proj:
                    weights[f"weight_hr_{tag}"] = (proj, a.hidden_size)
                macs += rows * (width + out) + proj * a.hidden_size
        return weights, macs

    def torch_values(self, args: ArgsT, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "input_size": inputs[0].dims[1], "batch_first": True}

    def describe(self, args: ArgsT, inputs: Sequence[Shape | None]) -> str:
        a: RecurrentArgs = args  # type: ignore[assignment]
        parts = [f"{a.hidden_size} hidden"]
        if a.num_layers > 1:
            parts.append(f"{a.num_layers} layers")
        if a.bidirectional:
            parts.append("bidirectional")
        return ", ".join(parts)


class RNN(_Recurrent[RNNArgs]):
    name = "rnn"
    summary = "Elman recurrent layer (tanh or relu), over a T×C sequence"
    torch_class = "RNN"
    gates = 1
    Args = RNNArgs
    examples = (
        valid(16, (10, 8)),
        valid({"hidden_size": 4, "num_layers": 2, "nonlinearity": "relu"}, (5, 3)),
        invalid(8, (3, 4, 5), error="expects a T×C input"),
        invalid({"hidden_size": 8, "nonlinearity": "gelu"}, (3, 4), error="nonlinearity:"),
    )


class GRU(_Recurrent[RecurrentArgs]):
    name = "gru"
    summary = "gated recurrent unit layer, over a T×C sequence"
    torch_class = "GRU"
    gates = 3
    Args = RecurrentArgs
    examples = (
        valid(32, (12, 16)),
        valid({"hidden_size": 8, "bidirectional": True, "num_layers": 2}, (7, 5)),
        invalid({"hidden_size": 8, "input_size": 4}, (7, 5), error="input_size is 4"),
    )


class LSTM(_Recurrent[LSTMArgs]):
    name = "lstm"
    summary = "long short-term memory layer, over a T×C sequence; outputs seq, h_n, c_n"
    torch_class = "LSTM"
    gates = 4
    Args = LSTMArgs
    examples = (
        valid(64, (20, 32)),
        valid({"hidden_size": 8, "bidirectional": True, "num_layers": 2}, (6, 4)),
        valid({"hidden_size": 8, "proj_size": 3, "num_layers": 2}, (6, 4)),
        invalid({"hidden_size": 8, "proj_size": 8}, (6, 4), error="proj_size 8 must be smaller"),
        invalid(16, (50,), error="expects a T×C input (batch excluded), got 50"),
    )

    def output_count(self, args: LSTMArgs) -> int:
        return 3

    def unpacking(self, args: LSTMArgs) -> Unpacking:
        return (0, (1, 2))
