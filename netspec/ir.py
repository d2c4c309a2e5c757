"""The intermediate representation: a network as a nested graph of layers and groups.

Expansion (``spec.expand``) produces it; every pass and backend reads it. A ``Layer`` is one
layer kind with checked arguments; a ``Group`` is a block use or the copies of a ``repeat:``,
holding its own body, as torch.fx keeps submodules. Within a body nodes come in an order where
what a node reads comes first; ``inputs`` are qualified layer names (``layer2.0.conv1``) or
``INPUT``. The shape pass fills in each layer's ``inferred`` result in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from netspec.diagnostics import Position
from netspec.layers.args import LayerArgs
from netspec.layers.base import Inferred, LayerKind, TorchCall
from netspec.shapes import Shape

INPUT = "input"  # how `from:` names the network's input (and, in a block, the block's)


@dataclass(frozen=True)
class UseSite:
    """A use of a block that contains a layer: messages about the layer name it."""

    block: str
    name: str  # qualified name of the block's instance
    position: Position | None


def output_value(layer: str, index: int) -> str:
    """The value holding output ``index`` of a layer: its name for 0, ``name.k`` after."""
    return layer if index == 0 else f"{layer}.{index}"


def use_context(uses: tuple[UseSite, ...]) -> str | None:
    """``in basic_block 'layer2.0', used at line 31`` for a layer inside blocks, else None."""
    if not uses:
        return None
    parts = []
    for use in uses:
        where = f", used at line {use.position.line}" if use.position else ""
        parts.append(f"in {use.block} '{use.name}'{where}")
    return "; ".join(parts)


@dataclass(eq=False)
class Layer:
    """One layer. ``kind`` or ``args`` is None when the spec had an error there: the layer
    stays, so what reads it resolves and checking goes on."""

    name: str  # qualified: layer2.0.conv1
    kind: LayerKind[Any] | None
    args: LayerArgs | None
    inputs: tuple[str, ...]
    position: Position | None
    arg_positions: dict[str, Position] = field(default_factory=dict)
    # Arguments written as expressions of the enclosing block's parameters: ints that remember
    # their expression (``expr.Traced``), for the block's generated class.
    traced: dict[str, Any] = field(default_factory=dict)
    groups: tuple[str, ...] = ()  # qualified names of the enclosing groups, outermost first
    uses: tuple[UseSite, ...] = ()  # the block uses it comes from, innermost first
    output_count: int = 1  # a split's chunks, an LSTM's output and final states
    written_kind: str | None = None  # the kind as the spec wrote it (shown where unknown)
    # Filled in by the shape pass:
    input_shapes: tuple[Shape | None, ...] = ()
    inferred: Inferred | None = None  # None: not inferred (an invalid kind, arguments or inputs)
    failed: bool = False  # the layer's own rule reported an error

    @property
    def local(self) -> str:
        """Its name in its body: conv1 for layer2.0.conv1."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def kind_name(self) -> str:
        return self.kind.name if self.kind else self.written_kind or "?"

    @property
    def output_name(self) -> str:
        return self.name

    @property
    def output_names(self) -> tuple[str, ...]:
        """Its values: output 0 is the layer's name, output k (k ≥ 1) is ``name.k``."""
        return (self.name, *(output_value(self.name, k) for k in range(1, self.output_count)))

    @property
    def output(self) -> Shape | None:
        return self.inferred.shape if self.inferred else None

    @property
    def outputs(self) -> tuple[Shape | None, ...]:
        """The shapes of all its outputs, in order."""
        if self.inferred is None:
            return (None,) * self.output_count
        more = self.inferred.more or (None,) * (self.output_count - 1)
        return (self.inferred.shape, *more)

    @property
    def chainable(self) -> bool:
        """Whether it can be a step of an ``nn.Sequential`` (a module, one tensor in and out)."""
        return self.kind is not None and self.args is not None and self.kind.chainable(self.args)

    @property
    def weights(self) -> dict[str, tuple[int, ...]] | None:
        return self.inferred.weights if self.inferred else None

    @property
    def params(self) -> int | None:
        return self.inferred.params if self.inferred else None

    @property
    def macs(self) -> int | None:
        return self.inferred.macs if self.inferred else None

    def context(self) -> str | None:
        return use_context(self.uses)

    def layers(self) -> Iterator[Layer]:
        yield self

    def torch_call(self) -> TorchCall | None:
        """A checked layer's module call; None for an expression kind (add, concat)."""
        assert self.kind is not None and self.args is not None
        if self.kind.torch_class is None:
            return None
        return self.kind.torch_call(self.args, _known(self.input_shapes))


@dataclass(eq=False)
class Group:
    """A block use (``block`` names the block) or the copies of a ``repeat:`` (``block`` None),
    with the nodes it holds."""

    name: str  # qualified
    block: str | None
    label: str  # what is repeated (a kind or a block), or the block's name
    inputs: tuple[str, ...]  # what it reads: a block's inputs (``input``, ``input.1``…)
    body: list[Node]
    position: Position | None
    parameters: dict[str, int | float] = field(default_factory=dict)  # a block use's
    count: int = 1  # a repeat's copies
    # A block use's parameters and a repeat's count where written as expressions of the
    # enclosing block's parameters (``expr.Traced``), for the enclosing block's class.
    traced: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    # Values of layers in a block use that layers outside it read (``from: enc1.conv2``), as
    # every use of that block gives them (see ``Graph``): the block returns them after its
    # output.
    taps: tuple[str, ...] = ()

    @property
    def local(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def output_names(self) -> tuple[str, ...]:
        """Its output, then the values inside it read from outside."""
        return (self.output_name, *self.taps)

    @property
    def kind_name(self) -> str:
        """The block's name, or ``basic_block ×2`` for a repeat."""
        return self.block if self.block is not None else f"{self.label} ×{self.count}"

    @property
    def depth(self) -> int:
        return self.name.count(".") + 1

    @property
    def input(self) -> str:
        """Its first input."""
        return self.inputs[0]

    @property
    def output_name(self) -> str:
        """The qualified name of the layer whose output is the group's."""
        return self.body[-1].output_name

    @property
    def output(self) -> Shape | None:
        return self.body[-1].output

    @property
    def params(self) -> int | None:
        return _total(layer.params for layer in self.layers())

    @property
    def macs(self) -> int | None:
        return _total(layer.macs for layer in self.layers())

    @property
    def failed(self) -> bool:
        return any(layer.failed for layer in self.layers())

    def layers(self) -> Iterator[Layer]:
        for node in self.body:
            yield from node.layers()


Node = Layer | Group


def _total(counts: Iterator[int | None]) -> int | None:
    values = list(counts)
    return None if None in values else sum(values)  # type: ignore[arg-type]


@dataclass(eq=False)
class Graph:
    """A whole network: its body of nodes, and what every generated block class needs."""

    name: str
    input_size: tuple[int, ...] | None
    body: list[Node]
    file: str = "<spec>"
    # Each block's parameters and their defaults (None: a use must give it).
    block_params: dict[str, dict[str, int | float | None]] = field(default_factory=dict)
    input_dtype: str = "float32"
    # The sizes of its input each block reads in expressions (``in_features``): its class
    # takes them as constructor arguments.
    block_reads: dict[str, frozenset[str]] = field(default_factory=dict)
    _consumers: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _groups: dict[str, Group] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        consumers: dict[str, list[str]] = {INPUT: []}
        for layer in self.layers():
            for value in layer.output_names:
                consumers.setdefault(value, [])
            for source in layer.inputs:
                consumers.setdefault(source, []).append(layer.name)
        self._consumers = consumers
        self._groups = {group.name: group for group in _groups_in(self.body)}
        self._tap_blocks()

    def _tap_blocks(self) -> None:
        """Each block's values read from outside one of its uses (by local name), in body
        order; every use of the block returns them, so one class serves every use."""
        taps: dict[str, list[str]] = {}
        uses = [group for group in self._groups.values() if group.block is not None]
        for group in uses:
            prefix = group.name + "."
            found = taps.setdefault(group.block, [])  # type: ignore[arg-type]
            for node in group.body:
                if not isinstance(node, Layer):
                    continue
                for value in node.output_names:
                    outside = [
                        r for r in self._consumers.get(value, []) if not r.startswith(prefix)
                    ]
                    local = value[len(prefix) :]
                    if outside and value != group.output_name and local not in found:
                        found.append(local)
        for group in uses:
            order = {node.local: index for index, node in enumerate(group.body)}
            locals_ = sorted(
                taps[group.block],  # type: ignore[index]
                key=lambda local: (order.get(local.split(".")[0], 0), local),
            )
            group.taps = tuple(f"{group.name}.{local}" for local in locals_)

    def layers(self) -> Iterator[Layer]:
        """Every layer, in order, depth first."""
        for node in self.body:
            yield from node.layers()

    @property
    def groups(self) -> dict[str, Group]:
        """Every block use and repeat by qualified name, outer ones first."""
        return self._groups

    def consumers(self, name: str) -> list[str]:
        return self._consumers.get(name, [])

    def is_chain(self) -> bool:
        """True when every node is a layer reading the one before it (an ``nn.Sequential``)."""
        previous = INPUT
        for node in self.body:
            if not isinstance(node, Layer) or node.inputs != (previous,) or not node.chainable:
                return False
            previous = node.name
        return True

    # --- what the shape pass found ----------------------------------------------------------

    @property
    def input_shape(self) -> Shape | None:
        return Shape(self.input_size, dtype=self.input_dtype) if self.input_size else None

    @property
    def output_shape(self) -> Shape | None:
        return self.body[-1].output if self.body else None

    @property
    def total_params(self) -> int | None:
        return _total(layer.params for layer in self.layers())

    @property
    def total_macs(self) -> int | None:
        return _total(layer.macs for layer in self.layers())

    def digest(self) -> str:
        """A fingerprint of the network itself: layers, their PyTorch calls and wiring (not
        the spec's comments or layout, nor its train: section)."""
        parts = [repr(self.input_size)]
        for layer in self.layers():
            assert layer.kind is not None
            call = layer.torch_call()
            parts.append(repr((layer.name, layer.kind.name, layer.inputs, call, layer.args)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _known(shapes: Sequence[Shape | None]) -> tuple[Shape, ...]:
    return tuple(shape for shape in shapes if shape is not None)


def _groups_in(body: Sequence[Node]) -> Iterator[Group]:
    for node in body:
        if isinstance(node, Group):
            yield node
            yield from _groups_in(node.body)


def last_uses(body: Sequence[Node]) -> dict[int, list[str]]:
    """For each node of a body, the values no later node of that body reads."""
    last: dict[str, int] = {}
    for index, node in enumerate(body):
        for source in node.inputs:
            last[source] = index
    freed: dict[int, list[str]] = {}
    for value, index in last.items():
        freed.setdefault(index, []).append(value)
    return freed
