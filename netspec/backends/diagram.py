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
from netspec.ir import INPUT, Group, Layer, Node
from netspec.layers.base import FAMILIES
from netspec.passes.collapse import external_inputs, owners, shown_nodes
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


# Layer families bring their own colours (netspec.layers.base.FAMILIES).
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


def _layer_label(layer: Layer, errors: Sequence[Diagnostic]) -> str:
    # inside a block's cluster the local name is enough: the cluster says whose it is
    lines = [f"<B>{_text(layer.kind_name)}</B>  {_small(layer.local)}"]
    details = (
        layer.kind.describe(layer.args, layer.input_shapes) if layer.kind and layer.args else ""
    )
    if details:
        lines.append(_text(details))
    if layer.params:
        lines.append(_small(f"{number(layer.params)} params"))
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
    assert checked.graph is not None
    graph = checked.graph
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

    owner = owners(shown_nodes(graph, depth))
    _io_node(dot, INPUT_NODE, "input", graph.input_shape)
    outputs: dict[str, Shape | None] = {INPUT: graph.input_shape}
    which: dict[str, int] = {}  # the output a value is, for layers with several
    for layer in graph.layers():
        outputs |= zip(layer.output_names, layer.outputs, strict=True)
        if layer.output_count > 1:
            which |= {value: k for k, value in enumerate(layer.output_names)}

    def draw(body: Sequence[Node], where: graphviz.Digraph, level: int) -> None:
        for node in body:
            if isinstance(node, Group) and (depth is None or level < depth):
                cluster = _cluster(node)
                draw(node.body, cluster, level + 1)
                where.subgraph(cluster)
                continue
            if isinstance(node, Layer):
                _layer_node(where, node, by_layer.get(node.name, []))
            else:
                names = [layer.name for layer in node.layers()]
                _block_node(where, node, [e for n in names for e in by_layer.get(n, [])])
            for source in external_inputs(node, owner):
                tail = INPUT_NODE if source == INPUT else owner[source]
                _edge(dot, tail, node.name, outputs.get(source), which.get(source))

    draw(graph.body, dot, 0)
    last = graph.body[-1] if graph.body else None
    _io_node(dot, OUTPUT_NODE, "output", last.output if last else None)
    if last is not None:
        _edge(dot, owner[last.output_name], OUTPUT_NODE, last.output)
    return dot


def _layer_node(where: graphviz.Digraph, layer: Layer, errors: list[Diagnostic]) -> None:
    failed = bool(errors) or layer.kind is None or layer.args is None
    colours = ERROR_COLOURS if failed or layer.kind is None else FAMILIES[layer.kind.family]
    where.node(
        layer.name,
        label=_layer_label(layer, errors),
        fillcolor=colours.fill,
        color=colours.border,
        penwidth="2" if failed else "1.2",
    )


def _block_node(where: graphviz.Digraph, group: Group, errors: list[Diagnostic]) -> None:
    """A block (or repeat) drawn as one node: its name, parameters and totals."""
    lines = [f"<B>{_text(group.kind_name)}</B>  {_small(group.name)}"]
    if group.parameters:
        lines.append(_text(", ".join(f"{k}={v}" for k, v in group.parameters.items())))
    layers = len(list(group.layers()))
    lines.append(_small(f"{plural(layers, 'layer')} · {number(group.params)} params"))
    lines += _error_lines(errors)
    colours = ERROR_COLOURS if errors else BLOCK_COLOURS
    where.node(
        group.name,
        label=_html(*lines),
        fillcolor=colours.fill,
        color=colours.border,
        penwidth="2",
        peripheries="2",  # a double border: there is more inside
    )


def _cluster(group: Group) -> graphviz.Digraph:
    """The Graphviz cluster of a block use or repeat shown open."""
    label = group.kind_name
    params = ", ".join(f"{k}={v}" for k, v in group.parameters.items())
    title = f"<B>{_text(group.name)}</B>  {_small(label + (f'({params})' if params else ''))}"
    cluster = graphviz.Digraph(name=f"cluster_{group.name}")
    cluster.attr(
        label=f"<{title}>",
        labeljust="l",
        style="rounded,dashed",
        color=MUTED,
        fontname=FONT,
        fontsize="10",
        fontcolor=INK,
    )
    return cluster


def _io_node(dot: graphviz.Digraph, node_id: str, title: str, shape: Shape | None) -> None:
    dot.node(
        node_id,
        label=_html(f"<B>{title}</B>", _text(shape.batched() if shape else "?")),
        shape="box",
        style="rounded",
        color=IO_COLOURS.border,
        fillcolor=IO_COLOURS.fill,
    )


def _edge(
    dot: graphviz.Digraph, tail: str, head: str, shape: Shape | None, output: int | None = None
) -> None:
    """An edge labelled with the size it carries (and which output, from a split)."""
    known = shape is not None and shape.known
    attributes = {} if known else {"style": "dashed", "color": ERROR_COLOURS.border}
    label = edge_label(shape) if output is None else f"[{output}] {edge_label(shape)}"
    dot.edge(tail, head, label=f" {_text(label)} ", **attributes)


def _title(checked: CheckedSpec, name: str) -> str:
    graph = checked.graph
    assert graph is not None
    totals = f"{number(graph.total_params)} params · {human(graph.total_macs)} MACs"
    lines = [f'<FONT POINT-SIZE="16"><B>{_text(name)}</B></FONT>', _small(totals)]
    if checked.errors:
        lines.append(_small(plural(len(checked.errors), "error"), ERROR_INK))
    spec_wide = [d for d in checked.errors if not d.layer]
    for diagnostic in spec_wide:
        position = f"{diagnostic.position}: " if diagnostic.position else ""
        lines.append(_small(position + diagnostic.message, ERROR_INK))
    return _html(*lines)
