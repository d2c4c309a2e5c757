"""Token ids to vectors: embedding."""

from collections.abc import Sequence

from pydantic import Field

from netspec.layers.args import Bool, Int, LayerArgs, PositiveFloat, PositiveInt
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    ParamShapes,
    Reporter,
    invalid,
    valid,
)
from netspec.shapes import Shape


class EmbeddingArgs(LayerArgs):
    num_embeddings: PositiveInt = Field(description="vocabulary size: ids are 0 … this − 1")
    embedding_dim: PositiveInt = Field(description="size of each vector")
    padding_idx: Int | None = Field(None, description="an id whose vector stays zero")
    max_norm: PositiveFloat | None = Field(None, description="renormalise longer vectors")
    scale_grad_by_freq: Bool = Field(False, description="scale gradients by id frequency")
    sparse: Bool = Field(False, description="sparse gradients")


class Embedding(LayerKind[EmbeddingArgs]):
    name = "embedding"
    family = "sequence"
    summary = "looks up a learned vector for each token id (an input with dtype: long)"
    shape_rule = (
        "Input: token ids of any shape (T for a sequence), dtype long. Output: the same shape "
        "with embedding_dim appended (T×E). Params: num_embeddings·embedding_dim."
    )
    torch_class = "Embedding"
    torch_positional = ("num_embeddings", "embedding_dim")
    input_dtypes = frozenset({"long"})
    aliases = ("Embedding",)
    Args = EmbeddingArgs
    examples = (
        valid({"num_embeddings": 100, "embedding_dim": 16}, (12,)),
        valid({"num_embeddings": 50, "embedding_dim": 8, "padding_idx": 0}, (4, 6)),
        invalid(
            {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": 10},
            (5,),
            error="padding_idx 10 is not an id: expected -10 … 9",
        ),
        invalid({"num_embeddings": 10}, (5,), error="missing required argument 'embedding_dim'"),
    )

    def infer(
        self, args: EmbeddingArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        count = args.num_embeddings
        if args.padding_idx is not None and not -count <= args.padding_idx < count:
            report.error(
                f"padding_idx {args.padding_idx} is not an id: expected {-count} … {count - 1}",
                "padding_idx",
            )
            return NO_OUTPUT
        weights: ParamShapes = {"weight": (count, args.embedding_dim)}
        if x is None:
            return Inferred(None, weights, 0)
        return Inferred(Shape((*x.dims, args.embedding_dim)), weights, 0)

    def describe(self, args: EmbeddingArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.num_embeddings:,} ids → {args.embedding_dim}"
