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
from netspec.diagnostics import Diagnostic, plural
from netspec.ir import INPUT, Node
from netspec.passes.shapes import LayerResult
from netspec.report import human, number
from netspec.shapes import Shape

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
ERROR_COLOURS = Palette("#fee2e2", "#dc2626")

INPUT_NODE = "(input)"  # not a valid layer name, so it cannot collide with one
OUTPUT_NODE = "(output)"


def _text(value: str) -> str:
    """Text safe inside a Graphviz HTML label (and so inside the SVG it becomes)."""
    return html.escape(value, quote=True)


def _html(*lines: str) -> str:
    return "<" + "<BR/>".join(lines) + ">"


def _small(text: str, colour: str = MUTED) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="{colour}">{_text(text)}</FONT>'


def edge_label(shape: Shape | None) -> str:
    """``6×28×28``: the size an edge carries, without the batch; ``?`` when unknown."""
    return "?" if shape is None else str(shape)


def _layer_label(result: LayerResult, errors: Sequence[Diagnostic]) -> str:
    node = result.node
    lines = [f"<B>{_text(node.kind_name)}</B>  {_small(node.name)}"]
    details = node.kind.describe(node.args, result.inputs) if node.kind and node.args else ""
    if details:
        lines.append(_text(details))
    if result.params:
        lines.append(_small(f"{number(result.params)} params"))
    for error in errors:
        for part in textwrap.wrap(error.message, 44):
            lines.append(_small(part, ERROR_INK))
    return _html(*lines)


def diagram(checked: CheckedSpec, rankdir: str = "TB", dpi: int = 96) -> graphviz.Digraph:
    """The diagram of a spec that could be read into a graph (``checked.graph`` is set).

    ``dpi`` only matters for bitmaps (PNG).
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

    input_shape = shapes.input_shape
    _io_node(dot, INPUT_NODE, "input", input_shape)
    outputs: dict[str, Shape | None] = {INPUT: input_shape}
    for result in shapes.layers:
        node = result.node
        errors = by_layer.get(node.name, [])
        failed = bool(errors) or node.kind is None or node.args is None
        colours = ERROR_COLOURS if failed else FAMILY_COLOURS[_family(node)]
        dot.node(
            node.name,
            label=_layer_label(result, errors),
            fillcolor=colours.fill,
            color=colours.border,
            penwidth="2" if failed else "1.2",
        )
        for source in node.inputs:
            _edge(dot, INPUT_NODE if source == INPUT else source, node.name, outputs.get(source))
        outputs[node.name] = result.output
    last = shapes.layers[-1] if shapes.layers else None
    _io_node(dot, OUTPUT_NODE, "output", last.output if last else None)
    if last is not None:
        _edge(dot, last.node.name, OUTPUT_NODE, last.output)
    return dot


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
