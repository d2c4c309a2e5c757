"""The contract every layer kind fulfils, and the registry that finds them by name.

A layer kind is one class: its spec keyword, its argument model, its shape rule with the parameter
and MAC counts, how it becomes PyTorch (with the option words it may write into generated code),
how a diagram describes and colours it, and the examples the generic layer test runs against
PyTorch. A class with a ``name`` registers itself once it is complete (checked when the class is
defined), so adding a kind touches only the file that defines it.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from netspec.layers.args import SPATIAL_NAMES, LayerArgs, expand
from netspec.pysource import Expr, Value
from netspec.shapes import Dim, Shape, format_dims


@dataclass(frozen=True)
class Family:
    """A group of kinds: its section in the layer reference and its colours in diagrams."""

    title: str
    fill: str
    border: str


# The one table of families, in the reference's order. The eye finds the convolutions, the
# classifier, the merges by colour.
FAMILIES: dict[str, Family] = {
    "conv": Family("Convolution", "#dbeafe", "#2563eb"),
    "pool": Family("Pooling", "#dcfce7", "#16a34a"),
    "norm": Family("Normalisation", "#fef9c3", "#ca8a04"),
    "activation": Family("Activations", "#f3e8ff", "#9333ea"),
    "dropout": Family("Dropout", "#f1f5f9", "#94a3b8"),
    "linear": Family("Linear", "#ffedd5", "#ea580c"),
    "reshape": Family("Reshaping", "#f1f5f9", "#64748b"),
    "merge": Family("Merging branches", "#fce7f3", "#db2777"),
    "reduce": Family("Reductions", "#ccfbf1", "#0d9488"),
    "sequence": Family("Sequences and attention", "#e0e7ff", "#4f46e5"),
}

REGISTRY: dict[str, LayerKind[Any]] = {}
ArgsT = TypeVar("ArgsT", bound=LayerArgs)
OperandT = TypeVar("OperandT")  # a tensor, or the source of one


ParamShapes = dict[str, tuple[int, ...]]
# How a call's result holds a kind's outputs: an output's index, None for an element nothing
# reads (attention weights), or a tuple of these: ``(0, (1, 2))`` is LSTM's out, (h_n, c_n).
Unpacking = int | None | tuple["Unpacking", ...]


@dataclass(frozen=True)
class Inferred:
    """What a layer produces: its output shape, its parameter tensors (named as PyTorch names
    them, e.g. ``weight`` → (6, 1, 5, 5)) and its multiply-accumulates for one sample.

    ``None`` means unknown because of an error upstream or in this layer.
    """

    shape: Shape | None
    weights: ParamShapes | None = field(default_factory=dict)
    macs: int | None = 0
    more: tuple[Shape | None, ...] = ()  # the shapes of outputs 1, 2, … of a kind with several

    @property
    def params(self) -> int | None:
        return count_params(self.weights)


def count_params(weights: ParamShapes | None) -> int | None:
    """Total elements of the parameter tensors; None when they are unknown."""
    if weights is None:
        return None
    return sum(prod(shape) for shape in weights.values())


@dataclass(frozen=True)
class TorchCall:
    """A ``torch.nn`` module and its constructor arguments: ``nn.<module>(*args, **kwargs)``.

    The code generator writes it as source and ``netspec.build`` calls it, so a compiled file
    and a built model cannot differ.
    """

    module: str  # an attribute of torch.nn, named by a layer kind, never by a spec
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True)
class Learned:
    """A tensor a kind learns itself (a class token, a position embedding, a layer scale),
    held as an ``nn.Parameter`` of the enclosing module and initialised as torchvision does."""

    shape: tuple[int, ...]
    fill: str  # "zeros", "ones", "constant" (to ``value``) or "normal" (std ``value``)
    value: float = 0.0


@dataclass(frozen=True)
class Example:
    """A case the generic layer test (tests/test_layer_kinds.py) runs against PyTorch.

    ``args`` is what a spec writes after the kind (a mapping, a scalar or None), ``inputs`` the
    input shapes without the batch. With ``error`` None the layer must accept them and agree
    with the PyTorch module on the output shape and parameters; otherwise netspec must refuse
    them with a message containing ``error``, and so must PyTorch (or the JSON Schema).
    """

    args: Any
    inputs: tuple[tuple[int, ...], ...]
    error: str | None = None


def valid(args: Any, *inputs: tuple[int, ...]) -> Example:
    return Example(args, inputs)


def invalid(args: Any, *inputs: tuple[int, ...], error: str) -> Example:
    return Example(args, inputs, error)


_REQUIRED = object()


class Reporter(Protocol):
    """Where a shape rule reports problems; ``arg`` points the message at that argument."""

    input_names: tuple[str, ...]  # the layers feeding this one, in order

    def error(self, message: str, arg: str | None = None) -> None: ...

    def warning(self, message: str, arg: str | None = None) -> None: ...


class Unreported:
    """A reporter for running a shape rule again where its problems are reported elsewhere
    (looking ahead during expansion, tracing a block's class)."""

    def __init__(self, input_names: tuple[str, ...] = ()) -> None:
        self.input_names = input_names

    def error(self, message: str, arg: str | None = None) -> None:
        pass

    def warning(self, message: str, arg: str | None = None) -> None:
        pass


class LayerKind(Generic[ArgsT]):
    """Base class of layer kinds, typed on their argument model: ``LayerKind[LinearArgs]``.

    Subclasses set the class attributes and ``infer``; a module kind names its ``torch_class``,
    an expression kind (``add``) implements ``expression`` and ``evaluate`` instead.
    """

    name: ClassVar[str]
    family: ClassVar[str]  # a key of FAMILIES
    summary: ClassVar[str]  # one line for docs and the schema
    shape_rule: ClassVar[str]  # the rule, as the reference documents it
    Args: ClassVar[type[LayerArgs]]  # the model of ArgsT
    examples: ClassVar[tuple[Example, ...]]  # at least one valid case (see Example)
    main_arg: ClassVar[str | None] = None  # what a scalar means: ``- linear: 120``
    torch_class: ClassVar[str | None] = None  # e.g. "Conv2d" for torch.nn.Conv2d
    torch_positional: ClassVar[tuple[str, ...]] = ()  # arguments passed by position, in order
    torch_always: ClassVar[tuple[str, ...]] = ()  # passed even when equal to their default
    torch_expression: ClassVar[str] = ""  # how the docs name an expression kind's PyTorch form
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    aliases: ClassVar[tuple[str, ...]] = ()  # other tools' names, only for "did you mean"
    # Keywords of the module's forward call: ``self.attention(x, x, x, need_weights=False)``.
    forward_keywords: ClassVar[tuple[tuple[str, Value], ...]] = ()
    # Dtypes its inputs may have; the others need a float tensor (an embedding comes first).
    input_dtypes: ClassVar[frozenset[str]] = frozenset({"float32"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return  # a base shared by several kinds
        where = f"layer kind {cls.name!r} ({cls.__module__}.{cls.__qualname__})"
        missing = [
            attribute
            for attribute in ("family", "summary", "shape_rule", "Args", "examples")
            if not hasattr(cls, attribute)
        ]
        if missing:
            raise TypeError(f"{where} does not set {', '.join(missing)}")
        if cls.family not in FAMILIES:
            raise TypeError(
                f"{where}: family {cls.family!r} is not one of {', '.join(FAMILIES)}; add it "
                "to FAMILIES in netspec/layers/base.py with its title and colours"
            )
        is_expression = cls.expression is not LayerKind.expression
        if (cls.torch_class is None) != is_expression:
            raise TypeError(
                f"{where} must either name a torch_class or implement expression and evaluate"
            )
        if not any(example.error is None for example in cls.examples):
            raise TypeError(f"{where} needs at least one valid example")
        if cls.name in REGISTRY:
            raise TypeError(f"layer kind {cls.name!r} is defined twice")
        for other in REGISTRY.values():
            if shared := set(cls.aliases) & {other.name, *other.aliases}:
                raise TypeError(f"{where}: alias {shared.pop()!r} is already {other.name}'s")
        REGISTRY[cls.name] = cls()

    def takes(self, count: int) -> bool:
        """Whether it reads this many inputs."""
        return self.min_inputs <= count <= (self.max_inputs or count)

    def infer(self, args: ArgsT, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        """Output shape, params and MACs for these inputs; problems go to ``report``."""
        raise NotImplementedError

    @property
    def torch_name(self) -> str:
        """``nn.Conv2d``, or an expression kind's form (``torch.cat``)."""
        return f"nn.{self.torch_class}" if self.torch_class else self.torch_expression

    def accepts_bare(self) -> bool:
        """Whether ``- kind`` alone is complete (every argument has a default)."""
        return all(not f.is_required() for f in self.Args.model_fields.values())

    def describe(self, args: ArgsT, inputs: Sequence[Shape | None]) -> str:
        """Its key hyperparameters in a few words, for diagrams: ``5×5 → 6 ch, pad 2``."""
        return ""

    # --- several outputs ------------------------------------------------------------------------

    def learned(self, args: ArgsT) -> Learned | None:
        """The tensor an expression kind learns itself, if any: its ``expression`` and
        ``evaluate`` then get that tensor before their inputs."""
        return None

    def output_count(self, args: ArgsT) -> int:
        """How many tensors it produces; a spec reads output k of layer ``a`` as ``a.k``."""
        return 1

    def unpacking(self, args: ArgsT) -> Unpacking:
        """Where its outputs are in what its call returns (see ``Unpacking``)."""
        count = self.output_count(args)
        return 0 if count == 1 else tuple(range(count))

    def batch_second(self, args: ArgsT) -> frozenset[int]:
        """Outputs whose batch is dim 1 in what the call returns (an RNN's final states are
        (layers, N, H)); netspec moves it first, so every value it passes on is batch-first."""
        return frozenset()

    def call_operands(self, operands: Sequence[OperandT]) -> list[OperandT]:
        """What its call receives for these inputs (self-attention reads one three times)."""
        return list(operands)

    def chainable(self, args: ArgsT) -> bool:
        """Whether it can be a step of an ``nn.Sequential``: a module reading one tensor and
        returning one."""
        return (
            self.torch_class is not None
            and self.max_inputs == 1
            and self.min_inputs == 1
            and self.output_count(args) == 1
            and not self.forward_keywords
            and self.call_operands([0]) == [0]
        )

    # --- PyTorch --------------------------------------------------------------------------------

    @property
    def option_words(self) -> frozenset[str]:
        """The strings its PyTorch call may carry: the words its argument model allows
        (``Literal["zeros", "reflect"]``). Nothing else is written into generated code."""
        return _literal_words(self.Args)

    def torch_values(self, args: ArgsT, inputs: Sequence[Shape]) -> dict[str, Value]:
        """The module's constructor arguments by name: the spec's, with any size the spec may
        leave out (in_channels…) filled in from the inferred input shapes."""
        return args.model_dump()

    def torch_call(self, args: ArgsT, inputs: Sequence[Shape]) -> TorchCall:
        """The module call for a checked layer: positional arguments first, then the keywords
        that differ from PyTorch's defaults (which the argument models share)."""
        if self.torch_class is None:
            raise TypeError(f"{self.name} is an expression, not a module")
        values = self.torch_values(args, inputs)
        fields = self.Args.model_fields
        words = self.option_words
        for key, item in values.items():
            if isinstance(item, str) and item not in words:
                raise ValueError(f"{self.name}: {key}={item!r} is not one of its option words")

        def default(key: str) -> object:
            field = fields.get(key)
            return _REQUIRED if field is None or field.is_required() else field.default

        keywords = tuple(
            (key, value)
            for key, value in values.items()
            if key not in self.torch_positional
            and (key in self.torch_always or not _same(value, default(key)))
        )
        positional = tuple(values[key] for key in self.torch_positional)
        return TorchCall(self.torch_class, positional, keywords)

    def expression(self, args: ArgsT, operands: Sequence[Expr]) -> Expr:
        """Source of an expression kind's output, from its inputs' variables."""
        raise NotImplementedError(f"{self.name} is a module, not an expression")

    def evaluate(self, args: ArgsT, tensors: Sequence[Any]) -> Any:
        """The same expression on tensors (used by netspec.build)."""
        raise NotImplementedError(f"{self.name} is a module, not an expression")


def unpack(structure: Unpacking, result: Any) -> dict[int, Any]:
    """A call's result as its outputs by index (``unpacking`` says where each one is)."""
    found: dict[int, Any] = {}

    def visit(part: Unpacking, value: Any) -> None:
        if isinstance(part, int):
            found[part] = value
        elif isinstance(part, tuple):
            for inner, item in zip(part, value, strict=True):
                visit(inner, item)

    visit(structure, result)
    return found


def _same(value: object, default: object) -> bool:
    """Equal and of the same type: a size computed from a block's parameters (an int that
    remembers its expression) is written out even where it equals the default."""
    if isinstance(value, tuple) and isinstance(default, tuple):
        return len(value) == len(default) and all(
            _same(a, b) for a, b in zip(value, default, strict=True)
        )
    return type(value) is type(default) and value == default


@functools.cache
def _literal_words(model: type[LayerArgs]) -> frozenset[str]:
    words: set[str] = set()

    def visit(annotation: Any) -> None:
        origin = typing.get_origin(annotation)
        if origin is typing.Literal:
            words.update(a for a in typing.get_args(annotation) if isinstance(a, str))
        elif origin is not None or isinstance(annotation, types.UnionType):
            for argument in typing.get_args(annotation):
                visit(argument)

    for field_info in model.model_fields.values():
        visit(field_info.annotation)
    return frozenset(words)


def expect_rank(shape: Shape, layouts: dict[int, str], report: Reporter) -> bool:
    """Report and return False unless ``shape`` has one of the ranks ``layouts`` names.

    ``layouts`` maps a rank to its layout, e.g. ``{3: "C×H×W"}``.
    """
    if shape.rank in layouts:
        return True
    wanted = " or ".join(layouts.values())
    got = str(shape) if shape.rank else "a scalar"
    report.error(f"expects a {wanted} input (batch excluded), got {got}")
    return False


def channels_phrase(count: int | None, noun: str = "channel") -> str:
    if count is None:
        return f"an unknown number of {noun}s"
    return f"{count} {noun}" + ("" if count == 1 else "s")


UNKNOWN = Inferred(None, None, None)
# A layer without parameters that failed: its output is unknown, its counts are still zero.
NO_OUTPUT = Inferred(None)


def same_shape(shape: Shape | None) -> Inferred:
    """The rule of element-wise layers: output shape = input shape, nothing to learn."""
    return Inferred(shape)


def weight_and_bias(weight: tuple[int, ...], bias: int | None) -> ParamShapes:
    """PyTorch's usual pair: ``weight`` and, when present, a ``bias`` of ``bias`` elements."""
    return {"weight": weight, **({"bias": (bias,)} if bias is not None else {})}


def resolve_dim(dim: int, x: Shape, report: Reporter, arg: str) -> int | None:
    """A PyTorch dim (the batch is 0, negatives count from the end) as an index into the
    batched tensor, or None after reporting it out of range."""
    rank = x.rank + 1
    if not -rank <= dim < rank:
        report.error(
            f"{arg} {dim} is out of range for a {rank}-D tensor {x.batched()}: "
            f"expected {-rank} … {rank - 1}",
            arg=arg,
        )
        return None
    return dim % rank


class SizedWindow(Protocol):
    """A window along one dim (``shapes.Window``, a transposed convolution's)."""

    def output(self) -> Dim: ...

    def formula(self, name: str) -> str: ...


def window_outputs(
    windows: Sequence[SizedWindow], report: Reporter, arg: str | None = None
) -> list[Dim]:
    """Output sizes of a convolution's or pooling's windows; a size below 1 is reported with
    its arithmetic and becomes unknown (every spatial dim, as the layer failed)."""
    names = SPATIAL_NAMES[len(windows)]
    sizes = [w.output() for w in windows]
    too_small = [
        f"{w.formula(name)}, must be ≥ 1"
        for w, name, size in zip(windows, names, sizes, strict=True)
        if size is not None and size < 1
    ]
    if too_small:
        report.error("; ".join(too_small), arg=arg)
        return [None] * len(windows)
    return sizes


def window_text(args: Any, dims: int, stride_default: Any = 1) -> list[str]:
    """The parts of a window's description that differ from the defaults: stride, pad…

    Equal sizes print once (``pad 2``), unequal ones per dim (``pad 1×0``).
    """

    def sizes(value: Any) -> str:
        if isinstance(value, str):
            return value
        values = expand(value, dims)
        return str(values[0]) if len(set(values)) == 1 else format_dims(values)

    def given(value: Any, default: Any) -> bool:
        return value is not None and sizes(value) != sizes(default)

    parts = []
    stride = getattr(args, "stride", None)
    if given(stride, stride_default):
        parts.append(f"stride {sizes(stride)}")
    padding = getattr(args, "padding", 0)
    if padding != "valid" and given(padding, 0):
        parts.append(f"pad {sizes(padding)}")
    dilation = getattr(args, "dilation", 1)
    if given(dilation, 1):
        parts.append(f"dilation {sizes(dilation)}")
    return parts
