"""Presenting a checked spec: a layer table for people, JSON for tools."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netspec.check import CheckedSpec
from netspec.diagnostics import plural, printable
from netspec.ir import INPUT
from netspec.limits import MAX_TABLE_ROWS
from netspec.passes.collapse import Unit, external_inputs, unit_of, units

MACS_NOTE = "MACs: multiply–accumulates of conv and linear layers for one sample"


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


def layer_table(checked: CheckedSpec, depth: int | None = None) -> Table:
    """One row per layer (or, below ``depth``, per block): name, kind, output shape, params,
    MACs. An Inputs column names what a row reads when that is not the row above."""
    assert checked.graph is not None and checked.shapes is not None
    graph, shapes = checked.graph, checked.shapes
    shown = units(graph, shapes, depth)
    owner = unit_of(shown)
    rows: list[tuple[Unit | None, str]] = []
    previous = INPUT
    for unit in shown:
        sources = [owner.get(s, s) for s in external_inputs(unit, owner)]
        rows.append((unit, "" if sources == [previous] else ", ".join(dict.fromkeys(sources))))
        previous = unit.name
    show_inputs = any(inputs for _, inputs in rows)

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, show_footer=True)
    table.add_column("Layer", footer="Total")
    table.add_column("Kind")
    if show_inputs:
        table.add_column("Inputs")
    table.add_column("Output shape")
    table.add_column("Params", justify="right", footer=number(shapes.total_params))
    table.add_column("MACs", justify="right", footer=number(shapes.total_macs))

    input_shape = shapes.input_shape.batched() if shapes.input_shape else "?"
    first = [INPUT, ""] + ([""] if show_inputs else []) + [input_shape, "", ""]
    table.add_row(*first, style="dim")
    hidden = len(rows) - MAX_TABLE_ROWS
    if hidden > 0:  # rich takes about half a millisecond a row: show both ends
        tail = MAX_TABLE_ROWS // 5
        rows = [*rows[: MAX_TABLE_ROWS - tail], (None, ""), *rows[-tail:]]
    for unit, inputs in rows:
        if unit is None:
            table.add_row(f"… {hidden:,} more", style="dim")
            continue
        row: list[str | Text] = [
            Text(unit.name, style="bold red" if unit.failed else ""),
            unit.kind,
        ]
        if show_inputs:
            row.append(inputs)
        output = unit.output.batched() if unit.output else "?"
        row.append(Text(output, style="red" if unit.failed else ""))
        row.append("" if unit.params == 0 else number(unit.params))
        row.append("" if unit.macs == 0 else number(unit.macs))
        table.add_row(*row)
    return table


def summary_line(checked: CheckedSpec) -> str:
    """``lenet: 12 layers, 61,706 params (241.0 KiB as float32), 416.5 K MACs``."""
    if checked.shapes is None or checked.spec is None:
        return ""
    shapes = checked.shapes
    params = shapes.total_params
    size = f" ({human_bytes(4 * params)} as float32)" if params is not None else ""
    return (
        f"{checked.spec.name}: {plural(len(shapes.layers), 'layer')}, "
        f"{number(params)} params{size}, {human(shapes.total_macs)} MACs per sample"
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
    if checked.graph is None or checked.shapes is None or checked.spec is None:
        return
    title = checked.spec.name + (
        f" — {checked.spec.description}" if checked.spec.description else ""
    )
    console.print(
        Text(printable(title), style="bold"), Text(f"({printable(checked.file)})", style="dim")
    )
    table = layer_table(checked, depth)
    console.print(table)
    if table.row_count > MAX_TABLE_ROWS + 1:
        console.print(
            Text(
                "Some rows not shown: --depth N shows blocks as one row, --json every layer",
                style="dim",
            )
        )
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
    shapes = checked.shapes
    if shapes is None:
        return result
    result["input_shape"] = shapes.input_shape.to_json() if shapes.input_shape else None
    result["output_shape"] = shapes.output_shape.to_json() if shapes.output_shape else None
    result["total_params"] = shapes.total_params
    result["total_macs"] = shapes.total_macs
    result["layers"] = [
        {
            "name": r.node.name,
            "kind": r.node.kind.name if r.node.kind else None,
            "inputs": list(r.node.inputs),
            "output_shape": r.output.to_json() if r.output else None,
            "params": r.params,
            "macs": r.macs,
            "ok": not r.failed,
            "line": r.node.decl.position.line if r.node.decl.position else None,
            "groups": list(r.node.decl.groups),
        }
        for r in shapes.layers
    ]
    result["groups"] = [
        {
            "name": group.name,
            "block": group.block,
            "params": group.params,
            "repeat": group.count if group.block is None else None,
            "line": group.position.line if group.position else None,
        }
        for group in (checked.graph.groups.values() if checked.graph else [])
    ]
    return result
