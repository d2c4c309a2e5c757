"""Presenting a checked spec: a layer table for people, JSON for tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from netspec.check import CheckedSpec
from netspec.diagnostics import plural, printable
from netspec.ir import INPUT
from netspec.passes.collapse import external_inputs, owners, shown_nodes

MACS_NOTE = "MACs: multiply–accumulates of conv, linear, attention and matmul layers for one sample"


def human(count: int | None) -> str:
    """``416.5 K``, ``11.7 M``, ``1.8 G``, ``3.2e+21`` (whole-number arithmetic: a count may
    be larger than a float can hold)."""
    if count is None:
        return "?"
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            if count >= 1000 * size:
                return f"{_scientific(count)} {unit}" if unit != "T" else _scientific(count)
            return f"{_tenths(count, size)} {unit}"
    return str(count)


def _tenths(count: int, size: int) -> str:
    tenths = (count * 10 + size // 2) // size
    return f"{tenths // 10}.{tenths % 10}"


def _scientific(count: int) -> str:
    """``3.2e+21``, for any whole number."""
    exponent = max(count.bit_length() * 3 // 10 - 1, 0)  # log10(2) > 0.3: from below
    while 10 ** (exponent + 1) <= count:
        exponent += 1
    return f"{_tenths(count, 10**exponent)}e+{exponent:02d}"


def number(count: int | None) -> str:
    return "?" if count is None else f"{count:,}"


def human_bytes(count: int) -> str:
    """``241.0 KiB``, ``1.5 TiB``, ``3.2e+21 B``."""
    if count < 1024:
        return f"{count} B"
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if count >= 1024**power:
            if count >= 1024 ** (power + 1):  # past TiB
                return f"{_scientific(count)} B"
            return f"{_tenths(count, 1024**power)} {unit}"
    return f"{count} B"


@dataclass(frozen=True)
class Column:
    header: str
    footer: str = ""
    right: bool = False  # right-justified (numbers)


Cell = tuple[str, str]  # text, rich style


def render_table(columns: list[Column], rows: list[tuple[list[Cell], str]]) -> Text:
    """A table laid out as rich's ``box.SIMPLE_HEAD`` (no outer edge or padding) lays it out,
    but in one pass: rich's Table measures and wraps every cell, about a millisecond a row,
    and a network may have thousands. Rows are (cells, row style); lines never wrap."""
    cells = [[text for text, _ in row] for row, _ in rows]
    texts = [[c.header for c in columns], *cells, [c.footer for c in columns]]
    widths = [max(cell_len(row[i]) for row in texts) for i in range(len(columns))]
    last = len(columns) - 1

    def line(parts: list[Cell], style: str, out: Text) -> None:
        for index, ((text, cell_style), column) in enumerate(zip(parts, columns, strict=True)):
            room = " " * (widths[index] - cell_len(text))
            left = "" if index == 0 else " "
            right = "" if index == last else "  "  # its padding, then the column gap
            if column.right:
                out.append(left + room)
                out.append(text, style=" ".join(filter(None, (style, cell_style))) or None)
                out.append(right)
            else:
                out.append(left)
                out.append(text, style=" ".join(filter(None, (style, cell_style))) or None)
                out.append(room + right)
        out.append("\n")

    table = Text(no_wrap=True, overflow="ignore")
    line([(c.header, "") for c in columns], "bold", table)
    table.append("─" * (sum(widths) + 3 * last) + "\n")
    for row, style in rows:
        line(row, style, table)
    table.append(" " * (sum(widths) + 3 * last) + "\n")
    line([(c.footer, "") for c in columns], "", table)
    table.rstrip()
    return table


def layer_table(checked: CheckedSpec, depth: int | None = None) -> Text:
    """One row per layer (or, below ``depth``, per block): name, kind, output shape, params,
    MACs. An Inputs column names what a row reads when that is not the row above."""
    assert checked.graph is not None
    graph = checked.graph
    shown = shown_nodes(graph, depth)
    owner = owners(shown)
    producer = {value: layer.name for layer in graph.layers() for value in layer.output_names}

    def shown_as(value: str) -> str:
        """The row a value comes from; ``split.1`` where it is a layer's second output."""
        row = owner.get(value, value)
        return value if producer.get(value) == row else row

    reads: list[str] = []
    previous = INPUT
    for unit in shown:
        sources = [shown_as(s) for s in external_inputs(unit, owner)]
        reads.append("" if sources == [previous] else ", ".join(dict.fromkeys(sources)))
        previous = unit.name
    show_inputs = any(reads)

    columns = [
        Column("Layer", footer="Total"),
        Column("Kind"),
        *([Column("Inputs")] if show_inputs else []),
        Column("Output shape"),
        Column("Params", footer=number(graph.total_params), right=True),
        Column("MACs", footer=number(graph.total_macs), right=True),
    ]
    input_shape = graph.input_shape.batched() if graph.input_shape else "?"
    first = [INPUT, "", *([""] if show_inputs else []), input_shape, "", ""]
    rows: list[tuple[list[Cell], str]] = [([(text, "") for text in first], "dim")]
    for unit, inputs in zip(shown, reads, strict=True):
        failed = "red" if unit.failed else ""
        row: list[Cell] = [(unit.name, "bold red" if unit.failed else ""), (unit.kind_name, "")]
        if show_inputs:
            row.append((inputs, ""))
        row.append((unit.output.batched() if unit.output else "?", failed))
        row.append(("" if unit.params == 0 else number(unit.params), ""))
        row.append(("" if unit.macs == 0 else number(unit.macs), ""))
        rows.append((row, ""))
    return render_table(columns, rows)


def summary_line(checked: CheckedSpec) -> str:
    """``lenet: 12 layers, 61,706 params (241.0 KiB as float32), 416.5 K MACs``."""
    if checked.graph is None or checked.spec is None:
        return ""
    graph = checked.graph
    params = graph.total_params
    size = f" ({human_bytes(4 * params)} as float32)" if params is not None else ""
    return (
        f"{checked.spec.name}: {plural(len(list(graph.layers())), 'layer')}, "
        f"{number(params)} params{size}, {human(graph.total_macs)} MACs per sample"
    )


def verdict(checked: CheckedSpec) -> str:
    """``specs/bad.yaml: 2 errors, 1 warning`` or ``specs/lenet.yaml: ok``."""
    parts = []
    if checked.errors:
        parts.append(plural(len(checked.errors), "error"))
    if checked.warnings:
        parts.append(plural(len(checked.warnings), "warning"))
    return f"{checked.file}: {', '.join(parts) if parts else 'ok'}"


def print_report(checked: CheckedSpec, console: Console, depth: int | None = None) -> None:
    if checked.graph is None or checked.spec is None:
        return
    title = checked.spec.name + (
        f" — {checked.spec.description}" if checked.spec.description else ""
    )
    console.print(
        Text(printable(title), style="bold"), Text(f"({printable(checked.file)})", style="dim")
    )
    console.print(layer_table(checked, depth), soft_wrap=True)
    console.print(summary_line(checked))
    console.print(Text(MACS_NOTE, style="dim"))


def to_json(checked: CheckedSpec) -> dict[str, Any]:
    """A stable, documented structure (see docs/cli.md)."""
    result: dict[str, Any] = {
        "file": checked.file,
        "ok": checked.ok,
        "name": checked.spec.name if checked.spec else None,
        "diagnostics": [d.to_json() for d in checked.diagnostics],
    }
    graph = checked.graph
    if graph is None:
        return result
    result["input_shape"] = graph.input_shape.to_json() if graph.input_shape else None
    result["input_dtype"] = graph.input_dtype
    result["output_shape"] = graph.output_shape.to_json() if graph.output_shape else None
    result["total_params"] = graph.total_params
    result["total_macs"] = graph.total_macs
    result["layers"] = [
        {
            "name": layer.name,
            "kind": layer.kind.name if layer.kind else None,
            "inputs": list(layer.inputs),
            "output_shape": layer.output.to_json() if layer.output else None,
            # every output, for a layer with several (read as name.1…): [[…], […]]
            "output_shapes": [shape.to_json() if shape else None for shape in layer.outputs],
            "params": layer.params,
            "macs": layer.macs,
            "ok": not layer.failed,
            "line": layer.position.line if layer.position else None,
            "groups": list(layer.groups),
        }
        for layer in graph.layers()
    ]
    result["groups"] = [
        {
            "name": group.name,
            "block": group.block,
            "inputs": list(group.inputs),
            "params": group.parameters,
            "repeat": group.count if group.block is None else None,
            "line": group.position.line if group.position else None,
        }
        for group in graph.groups.values()
    ]
    return result
