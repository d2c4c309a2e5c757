"""The front half of the compiler, in one call: read → validate → build the graph → infer shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netspec.diagnostics import Diagnostic, Position, SpecError
from netspec.examples import spec_path
from netspec.ir import Graph
from netspec.passes.lint import lint
from netspec.passes.shapes import infer_shapes
from netspec.spec.model import Spec
from netspec.spec.parse import parse_spec
from netspec.spec.source import SourceDoc, parse_yaml, read_yaml


@dataclass
class CheckedSpec:
    """Everything known about a spec after checking it; ``ok`` when it has no errors."""

    file: str
    spec: Spec | None = None
    graph: Graph | None = None  # its layers carry their inferred shapes
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def valid_graph(self) -> Graph:
        """The network of a spec without errors; raises ``SpecError`` otherwise."""
        if not self.ok or self.graph is None:
            raise SpecError(self.errors)
        return self.graph


def _check_document(doc: SourceDoc | None, problems: list[Diagnostic], file: str) -> CheckedSpec:
    result = CheckedSpec(file, diagnostics=list(problems))
    if doc is None:
        return result
    result.spec, found = parse_spec(doc)
    result.diagnostics += found
    if result.spec is not None:
        result.graph = result.spec.graph
        result.diagnostics += infer_shapes(result.graph)
        result.diagnostics += lint(result.graph, result.spec.train)
    # File order, the way a compiler lists them; spec-wide problems first. A problem in a
    # block's body, or in repeated copies, is listed once.
    result.diagnostics = _once_each(result.diagnostics)
    result.diagnostics.sort(key=lambda d: d.position or Position(0, 0))
    return result


def _once_each(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen, kept = set(), []
    for diagnostic in diagnostics:
        signature = (diagnostic.severity, diagnostic.position, diagnostic.kind, diagnostic.message)
        if diagnostic.position is None or signature not in seen:
            seen.add(signature)
            kept.append(diagnostic)
    return kept


def check_file(path: str | Path) -> CheckedSpec:
    """Check a spec file, or an example spec by name (``lenet``; a path that exists wins).
    Raises OSError if it cannot be read; spec problems are diagnostics."""
    path = spec_path(path)
    doc, problems = read_yaml(path)
    return _check_document(doc, problems, str(path))


def check_text(text: str, file: str = "<string>") -> CheckedSpec:
    """Check spec source held in a string (``file`` names it in diagnostics)."""
    doc, problems = parse_yaml(text, file)
    return _check_document(doc, problems, file)


def load(path: str | Path) -> CheckedSpec:
    """A checked spec with every layer's shape; raises ``SpecError`` listing all errors."""
    checked = check_file(path)
    if not checked.ok:
        raise SpecError(checked.errors)
    return checked
