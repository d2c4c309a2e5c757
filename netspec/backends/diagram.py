"""A Graphviz diagram of a checked spec: one node per layer, tensor sizes on the edges.

Works on specs with errors too: a failing layer is drawn red with its error text and the edges
whose size is unknown are dashed and marked ``?``, so a user sees where a spec breaks.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import graphviz

from netspec.check import CheckedSpec
from netspec.diagnostics import Diagnostic, plural, printable
from netspec.ir import INPUT, Node
from netspec.passes.collapse import Unit, external_inputs, unit_of, units
from netspec.passes.shapes import LayerResult
from netspec.report import human, number
from netspec.shapes import Shape
from netspec.spec.model import Group

FONT = "Helvetica"
INK = "#1e293b"  # text and outlines
MUTED = "#64748b"  # secondary text, edges
ERROR_INK = "#b91c1c"


@dataclass(frozen=True)
class Palette:
    fill: str
    border: str


# Colours by layer family: the eye finds the convolutions, the classifier, the merges.
FAMILY_COLOURS = {
    "conv": Palette("#dbeafe", "#2563eb"),
    "pool": Palette("#dcfce7", "#16a34a"),
    "norm": Palette("#fef9c3", "#ca8a04"),
    "activation": Palette("#f3e8ff", "#9333ea"),
    "linear": Palette("#ffedd5", "#ea580c"),
    "dropout": Palette("#f1f5f9", "#94a3b8"),
    "reshape": Palette("#f1f5f9", "#64748b"),
    "merge": Palette("#fce7f3", "#db2777"),
}
IO_COLOURS = Palette("#ffffff", INK)
BLOCK_COLOURS = Palette("#ecfeff", "#0891b2")
ERROR_COLOURS = Palette("#fee2e2", "#dc2626")

INPUT_NODE = "(input)"  # not a valid layer name, so it cannot collide with one
OUTPUT_NODE = "(output)"


def _text(value: str) -> str:
    """Text safe inside a Graphviz HTML label (and so inside the SVG it becomes, where control
    characters are not allowed at all)."""
    return html.escape(printable(value), quote=True)


def _html(*lines: str) -> str:
    return "<" + "<BR/>".join(lines) + ">"


def _small(text: str, colour: str = MUTED) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="{colour}">{_text(text)}</FONT>'


def edge_label(shape: Shape | None) -> str:
    """``6×28×28``: the size an edge carries, without the batch; ``?`` when unknown."""
    return "?" if shape is None else str(shape)


def _layer_label(result: LayerResult, errors: Sequence[Diagnostic]) -> str:
    node = result.node
    # inside a block's cluster the local name is enough: the cluster says whose it is
    lines = [f"<B>{_text(node.kind_name)}</B>  {_small(node.decl.local_name)}"]
    details = node.kind.describe(node.args, result.inputs) if node.kind and node.args else ""
    if details:
        lines.append(_text(details))
    if result.params:
        lines.append(_small(f"{number(result.params)} params"))
    lines += _error_lines(errors)
    return _html(*lines)


def _error_lines(errors: Sequence[Diagnostic], shown: int = 3) -> list[str]:
    """A node's errors, wrapped; the first few only (a spec may give one layer hundreds)."""
    lines = [
        _small(part, ERROR_INK)
        for error in errors[:shown]
        for part in textwrap.wrap(error.message, 44)
    ]
    if len(errors) > shown:
        lines.append(_small(f"… and {plural(len(errors) - shown, 'more error')}", ERROR_INK))
    return lines


def diagram(
    checked: CheckedSpec, rankdir: str = "TB", dpi: int = 96, depth: int | None = None
) -> graphviz.Digraph:
    """The diagram of a spec that could be read into a graph (``checked.graph`` is set).

    Blocks are clusters; below ``depth`` each is one node. ``dpi`` only matters for PNG.
    """
    assert checked.graph is not None and checked.shapes is not None
    graph, shapes = checked.graph, checked.shapes
    name = checked.spec.name if checked.spec else graph.name

    dot = graphviz.Digraph(name=name)
    dot.attr(
        "graph",
        rankdir=rankdir,
        label=_title(checked, name),
        labelloc="t",
        fontname=FONT,
        fontsize="14",
        fontcolor=INK,
        nodesep="0.3",
        ranksep="0.35",
        pad="0.3",
        bgcolor="white",
        dpi=str(dpi),
    )
    dot.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fontname=FONT,
        fontsize="11",
        fontcolor=INK,
        margin="0.14,0.06",
        penwidth="1.2",
        height="0.3",
    )
    dot.attr("edge", fontname=FONT, fontsize="9", fontcolor=MUTED, color=MUTED, arrowsize="0.6")

    by_layer: dict[str, list[Diagnostic]] = {}
    for diagnostic in checked.errors:
        if diagnostic.layer:
            by_layer.setdefault(diagnostic.layer, []).append(diagnostic)

    shown = units(graph, shapes, depth)
    owner = unit_of(shown)
    clusters = _Clusters(dot, graph.groups)
    input_shape = shapes.input_shape
    _io_node(dot, INPUT_NODE, "input", input_shape)
    outputs: dict[str, Shape | None] = {INPUT: input_shape}
    outputs |= {r.node.name: r.output for r in shapes.layers}
    for unit in shown:
        where = clusters.around(unit)
        if unit.group is None:
            _layer_node(where, unit.members[0], by_layer.get(unit.name, []))
        else:
            names = dict.fromkeys(m.node.name for m in unit.members)
            errors = [e for name in names for e in by_layer.get(name, [])]
            _block_node(where, unit, errors)
        for source in external_inputs(unit, owner):
            tail = INPUT_NODE if source == INPUT else owner[source]
            _edge(dot, tail, unit.name, outputs.get(source))
    clusters.close()
    last = shapes.layers[-1] if shapes.layers else None
    _io_node(dot, OUTPUT_NODE, "output", last.output if last else None)
    if last is not None:
        _edge(dot, owner[last.node.name], OUTPUT_NODE, last.output)
    return dot


def _layer_node(where: graphviz.Digraph, result: LayerResult, errors: list[Diagnostic]) -> None:
    node = result.node
    failed = bool(errors) or node.kind is None or node.args is None
    colours = ERROR_COLOURS if failed else FAMILY_COLOURS[_family(node)]
    where.node(
        node.name,
        label=_layer_label(result, errors),
        fillcolor=colours.fill,
        color=colours.border,
        penwidth="2" if failed else "1.2",
    )


def _block_node(where: graphviz.Digraph, unit: Unit, errors: list[Diagnostic]) -> None:
    """A block (or repeat) drawn as one node: its name, parameters and totals."""
    group = unit.group
    assert group is not None
    lines = [f"<B>{_text(unit.kind)}</B>  {_small(unit.name)}"]
    if group.params:
        lines.append(_text(", ".join(f"{k}={v}" for k, v in group.params.items())))
    lines.append(_small(f"{len(unit.members)} layers · {number(unit.params)} params"))
    lines += _error_lines(errors)
    colours = ERROR_COLOURS if errors else BLOCK_COLOURS
    where.node(
        unit.name,
        label=_html(*lines),
        fillcolor=colours.fill,
        color=colours.border,
        penwidth="2",
        peripheries="2",  # a double border: there is more inside
    )


class _Clusters:
    """A Graphviz cluster for each block use or repeat shown open, nested as they nest."""

    def __init__(self, dot: graphviz.Digraph, groups: dict[str, Group]) -> None:
        self.dot = dot
        self.groups = groups
        self.made: dict[str, graphviz.Digraph] = {}

    def around(self, unit: Unit) -> graphviz.Digraph:
        """The cluster a unit is drawn in (the whole diagram at the top level)."""
        names = unit.members[0].node.decl.groups
        if unit.group is not None:
            names = names[: names.index(unit.group.name)]
        return self._cluster(names[-1]) if names else self.dot

    def _cluster(self, name: str) -> graphviz.Digraph:
        if name not in self.made:
            group = self.groups[name]
            label = group.block if group.block is not None else f"{group.label} ×{group.count}"
            params = ", ".join(f"{k}={v}" for k, v in group.params.items())
            title = f"<B>{_text(name)}</B>  {_small(label + (f'({params})' if params else ''))}"
            cluster = graphviz.Digraph(name=f"cluster_{name}")
            cluster.attr(
                label=f"<{title}>",
                labeljust="l",
                style="rounded,dashed",
                color=MUTED,
                fontname=FONT,
                fontsize="10",
                fontcolor=INK,
            )
            self.made[name] = cluster
            if group.parent is not None:
                self._cluster(group.parent)
        return self.made[name]

    def close(self) -> None:
        """Put each cluster into its parent, innermost first."""
        for name in sorted(self.made, key=lambda n: -self.groups[n].depth):
            parent = self.groups[name].parent
            (self.made[parent] if parent is not None else self.dot).subgraph(self.made[name])


def _family(node: Node) -> str:
    assert node.kind is not None
    return node.kind.family


def _io_node(dot: graphviz.Digraph, node_id: str, title: str, shape: Shape | None) -> None:
    dot.node(
        node_id,
        label=_html(f"<B>{title}</B>", _text(shape.batched() if shape else "?")),
        shape="box",
        style="rounded",
        color=IO_COLOURS.border,
        fillcolor=IO_COLOURS.fill,
    )


def _edge(dot: graphviz.Digraph, tail: str, head: str, shape: Shape | None) -> None:
    known = shape is not None and shape.known
    attributes = {} if known else {"style": "dashed", "color": ERROR_COLOURS.border}
    dot.edge(tail, head, label=f" {_text(edge_label(shape))} ", **attributes)


def _title(checked: CheckedSpec, name: str) -> str:
    shapes = checked.shapes
    assert shapes is not None
    totals = f"{number(shapes.total_params)} params · {human(shapes.total_macs)} MACs"
    lines = [f'<FONT POINT-SIZE="16"><B>{_text(name)}</B></FONT>', _small(totals)]
    if checked.errors:
        lines.append(_small(plural(len(checked.errors), "error"), ERROR_INK))
    spec_wide = [d for d in checked.errors if not d.layer]
    for diagnostic in spec_wide:
        position = f"{diagnostic.position}: " if diagnostic.position else ""
        lines.append(_small(position + diagnostic.message, ERROR_INK))
    return _html(*lines)
