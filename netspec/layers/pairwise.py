"""Layers that compare or combine two inputs: bilinear, cosinesimilarity, pairwisedistance."""

from collections.abc import Sequence
from math import prod
from typing import Annotated

from pydantic import Field, Strict

from netspec.layers.args import Bool, Float, Int, LayerArgs, PositiveInt
from netspec.layers.base import (
    NO_OUTPUT,
    UNKNOWN,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    resolve_dim,
    valid,
    weight_and_bias,
)
from netspec.layers.merge import broadcast
from netspec.limits import FLOAT32_MAX
from netspec.pysource import Value
from netspec.shapes import Dim, Shape

# PyTorch refuses a negative eps in cosine_similarity.
NonNegativeFloat = Annotated[float, Strict(), Field(ge=0, le=FLOAT32_MAX, allow_inf_nan=False)]


def _pair(inputs: Sequence[Shape | None]) -> tuple[Shape, Shape] | None:
    first, second = inputs
    return None if first is None or second is None else (first, second)


def _shown(shape: Shape, index: int, report: Reporter) -> str:
    names = report.input_names
    name = names[index] if index < len(names) else f"input {index + 1}"
    return f"{shape if shape.rank else 'a scalar'} ('{name}')"


def _known_product(dims: Sequence[Dim]) -> int | None:
    return None if None in dims else prod(d for d in dims if d is not None)


# --- bilinear ----------------------------------------------------------------------------------


class BilinearArgs(LayerArgs):
    in1_features: PositiveInt | None = Field(
        None, description="checked against the first input's last dim, never trusted"
    )
    in2_features: PositiveInt | None = Field(
        None, description="checked against the second input's last dim, never trusted"
    )
    out_features: PositiveInt = Field(description="output features")
    bias: Bool = Field(True, description="learn an additive bias")


class Bilinear(LayerKind[BilinearArgs]):
    name = "bilinear"
    family = "merge"
    summary = "x1ᵀ·A·x2 + b: each output feature a learned bilinear form of the two inputs"
    shape_rule = (
        "Inputs …×in1 and …×in2 with the same leading dims; output …×out_features. Params: "
        "weight out×in1×in2 and bias out. MACs: out·in1·in2 per position."
    )
    torch_class = "Bilinear"
    torch_positional = ("in1_features", "in2_features", "out_features")
    main_arg = "out_features"
    min_inputs = 2
    max_inputs = 2
    Args = BilinearArgs
    examples = (
        valid(4, (3,), (5,)),
        valid(
            {"in1_features": 3, "in2_features": 3, "out_features": 2, "bias": False},
            (6, 3),
            (6, 3),
        ),
        invalid(
            {"out_features": 4, "in2_features": 6},
            (3,),
            (5,),
            error="in2_features is 6 but the second input has 5 features",
        ),
        invalid(4, (6, 3), (2, 5), error="leading dims must match: 6×3 ('in0') and 2×5 ('in1')"),
        invalid(4, (6, 3), (5,), error="must have one rank: 6×3 ('in0') and 5 ('in1')"),
    )

    def infer(
        self, args: BilinearArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        pair = _pair(inputs)
        if pair is None:
            return UNKNOWN
        first, second = pair
        if not first.rank or not second.rank:
            report.error(
                "expects inputs with features, …×in1 and …×in2 (batch excluded), got "
                f"{_shown(first, 0, report)} and {_shown(second, 1, report)}"
            )
            return UNKNOWN
        if first.rank != second.rank:
            report.error(
                f"the inputs must have one rank: {_shown(first, 0, report)} and "
                f"{_shown(second, 1, report)}"
            )
            return UNKNOWN
        leading = []
        for a, b in zip(first.dims[:-1], second.dims[:-1], strict=True):
            if a is not None and b is not None and a != b:
                report.error(
                    "the leading dims must match: "
                    f"{_shown(first, 0, report)} and {_shown(second, 1, report)}"
                )
                return UNKNOWN
            leading.append(a if a is not None else b)
        in1 = self._features(first, args.in1_features, "in1_features", "first", report)
        in2 = self._features(second, args.in2_features, "in2_features", "second", report)
        out = args.out_features
        weights = None
        if in1 is not None and in2 is not None:
            weights = weight_and_bias((out, in1, in2), out if args.bias else None)
        macs = _known_product([*leading, in1, in2])
        return Inferred(Shape((*leading, out)), weights, None if macs is None else macs * out)

    @staticmethod
    def _features(x: Shape, written: int | None, arg: str, which: str, report: Reporter) -> Dim:
        features = x.dims[-1]
        if written is not None and features is not None and written != features:
            report.error(f"{arg} is {written} but the {which} input has {features} features", arg)
        return written if features is None else features

    def torch_values(self, args: BilinearArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {
            **args.model_dump(),
            "in1_features": inputs[0].dims[-1],
            "in2_features": inputs[1].dims[-1],
        }

    def describe(self, args: BilinearArgs, inputs: Sequence[Shape | None]) -> str:
        return f"→ {args.out_features}"


# --- cosine similarity and pairwise distance: one value per position ----------------------------


class CosineSimilarityArgs(LayerArgs):
    dim: Int = Field(1, description="dim compared along, counting the batch as dim 0")
    eps: NonNegativeFloat = Field(1e-8, description="lower bound of the norms' product")


class CosineSimilarity(LayerKind[CosineSimilarityArgs]):
    name = "cosinesimilarity"
    family = "merge"
    summary = "x1·x2 / (‖x1‖·‖x2‖) along dim"
    shape_rule = (
        "Inputs broadcast as in PyTorch (one rank, each dim equal or 1); the output drops dim "
        "(the batch is dim 0, which cannot be used). No params. MACs: the dot product, one per "
        "element of the broadcast inputs."
    )
    torch_class = "CosineSimilarity"
    main_arg = "dim"
    min_inputs = 2
    max_inputs = 2
    Args = CosineSimilarityArgs
    examples = (
        valid(None, (8,), (8,)),
        valid({"dim": -1, "eps": 1e-6}, (4, 8), (4, 8)),
        valid(None, (3, 5, 5), (3, 1, 1)),
        invalid(None, (4, 5), (4, 6), error="cannot broadcast 4×5 ('in0') with 4×6 ('in1')"),
        invalid(3, (4, 5), (4, 5), error="dim 3 is out of range for a 3-D tensor (N, 4, 5)"),
        invalid({"eps": -1.0}, (4,), (4,), error="eps: must be ≥ 0"),
    )

    def infer(
        self, args: CosineSimilarityArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        pair = _pair(inputs)
        if pair is None:
            return NO_OUTPUT
        both = broadcast(pair, report)
        if both is None:
            return NO_OUTPUT
        dim = resolve_dim(args.dim, both, report, arg="dim")
        if dim is None:
            return NO_OUTPUT
        if dim == 0:
            report.error("dim 0 is the batch; compare along a feature dim, e.g. 1", arg="dim")
            return NO_OUTPUT
        out = Shape(both.dims[: dim - 1] + both.dims[dim:])
        return Inferred(out, {}, both.numel())

    def describe(self, args: CosineSimilarityArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"


class PairwiseDistanceArgs(LayerArgs):
    p: Float = Field(2.0, description="the norm's degree")
    eps: Float = Field(1e-6, description="added to the difference, against a zero norm")
    keepdim: Bool = Field(False, description="keep the last dim with size 1")


class PairwiseDistance(LayerKind[PairwiseDistanceArgs]):
    name = "pairwisedistance"
    family = "merge"
    summary = "‖x1 − x2 + eps‖_p over the last dim"
    shape_rule = (
        "Inputs broadcast as in PyTorch (one rank, each dim equal or 1), with a feature dim; "
        "the output drops the last dim (size 1 with keepdim). No params, no MACs."
    )
    torch_class = "PairwiseDistance"
    main_arg = "p"
    min_inputs = 2
    max_inputs = 2
    Args = PairwiseDistanceArgs
    examples = (
        valid(None, (8,), (8,)),
        valid({"p": 1.0, "keepdim": True}, (4, 8), (4, 8)),
        valid({"eps": 0.0}, (3, 5), (1, 5)),
        invalid(None, (4, 5), (4, 6), error="cannot broadcast 4×5 ('in0') with 4×6 ('in1')"),
        invalid({"keepdim": "yes"}, (4,), (4,), error="keepdim: expected true or false"),
    )

    def infer(
        self, args: PairwiseDistanceArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        pair = _pair(inputs)
        if pair is None:
            return NO_OUTPUT
        both = broadcast(pair, report)
        if both is None:
            return NO_OUTPUT
        if not both.rank:  # PyTorch would take the norm over the batch
            report.error("expects inputs with a feature dim (batch excluded), got scalars")
            return NO_OUTPUT
        return Inferred(Shape(both.dims[:-1] + ((1,) if args.keepdim else ())))

    def describe(self, args: PairwiseDistanceArgs, inputs: Sequence[Shape | None]) -> str:
        return f"p = {args.p:g}"
