"""Expanding blocks and repeats into the flat list of layers the rest of netspec works on.

A block use becomes its layers, named ``<use>.<layer>`` (``layer2.conv1``); ``repeat: N`` makes
N copies named ``<name>.0`` … ``<name>.N-1``, each reading the one before. Inside a block,
``from: input`` is what the block receives and other names are the block's own layers;
arguments may be expressions of the block's parameters, evaluated here (see ``expr``). Every
problem inside a block is reported at the line in the block and names the use it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from netspec.diagnostics import Diagnostic, Position, did_you_mean
from netspec.layers.args import LayerArgs, describe_value
from netspec.layers.base import LayerKind
from netspec.limits import MAX_BLOCK_DEPTH, MAX_LAYERS
from netspec.spec import expr
from netspec.spec.blocks import BlockDef
from netspec.spec.entries import Entry, Findings, assign_names
from netspec.spec.messages import explain
from netspec.spec.model import SIBLING_KEYS, Group, LayerDecl, UseSite, use_context
from netspec.spec.source import PathKey

INPUT = "input"


@dataclass(frozen=True)
class Scope:
    """Where entries are being expanded: the top level, or one use of a block."""

    prefix: str  # "" at the top level, "layer2." inside the use named layer2
    env: dict[str, int] | None  # the block's parameters; None at the top level
    block: BlockDef | None
    input: str | None  # what `input` means here (None: unknown after an error)
    groups: tuple[str, ...] = ()
    uses: tuple[UseSite, ...] = ()


class Expander:
    def __init__(self, blocks: dict[str, BlockDef], cyclic: set[str], found: Findings) -> None:
        self.blocks = blocks
        self.cyclic = cyclic
        self.found = found
        self.decls: list[LayerDecl] = []
        self.groups: dict[str, Group] = {}
        self._too_large = False

    # --- diagnostics --------------------------------------------------------------------------

    def report(
        self,
        message: str,
        path: PathKey,
        scope: Scope,
        *,
        key: bool = False,
        layer: str | None = None,
        kind: str | None = None,
    ) -> None:
        """Report a problem, naming the block uses it comes from (``check`` lists a problem
        shared by several uses of a block once)."""
        position = self.found.at(path, key=key)
        note = use_context(scope.uses)
        self.found.add(Diagnostic(message, self.found.doc.file, position, layer, kind, note=note))

    # --- expansion ----------------------------------------------------------------------------

    def expand(self, entries: tuple[Entry, ...] | list[Entry], scope: Scope) -> str | None:
        """Expand entries in a scope; returns the qualified name of the last output."""
        names = assign_names(list(entries), self._reporter(scope), self.found.doc.file)
        outputs: dict[str, str | None] = {}
        order = {name: entry for name, entry in zip(names, entries, strict=True)}
        previous = scope.input
        for entry, local in zip(entries, names, strict=True):
            sources = self._sources(entry, local, outputs, order, previous, scope)
            qualified = scope.prefix + local
            count = self._count(entry, scope)
            if count is None:
                output = self._instance(entry, qualified, sources, scope)
            else:
                parent = scope.groups[-1] if scope.groups else None
                self.groups[qualified] = Group(
                    qualified, None, {}, count, entry.position, parent, entry.label,
                    raw_count=entry.repeat,
                )  # fmt: skip
                inner = replace(scope, groups=(*scope.groups, qualified))
                output = None
                for copy in range(count):
                    if self._too_large:  # stop at once: a count may be 10**18
                        break
                    output = self._instance(entry, f"{qualified}.{copy}", sources, inner)
                    sources = (output,) if output is not None else ()
            outputs[local] = output
            previous = output
        return previous

    def _reporter(self, scope: Scope) -> Callable[[Diagnostic], None]:
        def report(diagnostic: Diagnostic) -> None:
            name = f"{scope.prefix}{diagnostic.layer}" if diagnostic.layer else None
            self.found.add(replace(diagnostic, layer=name, note=use_context(scope.uses)))

        return report

    def _sources(
        self,
        entry: Entry,
        local: str,
        outputs: dict[str, str | None],
        order: dict[str, Entry],
        previous: str | None,
        scope: Scope,
    ) -> tuple[str, ...]:
        """What the entry reads, as qualified names; dangling references are reported."""
        if entry.sources is None:
            return () if previous is None else (previous,)
        resolved = []
        for index, source in enumerate(entry.sources):
            path = (
                (*entry.path, "from", index)
                if len(entry.sources_positions) > 1
                else (
                    *entry.path,
                    "from",
                )
            )
            problem = None
            if source == INPUT:
                target = scope.input
            elif source in outputs:
                target = outputs[source]
            else:
                target = None
                problem = self._dangling(source, local, outputs, order, scope)
            if problem:
                self.report(problem, path, scope, layer=scope.prefix + local, kind=entry.label)
            elif target is not None:
                resolved.append(target)
        return tuple(resolved)

    def _dangling(
        self,
        source: str,
        local: str,
        outputs: dict[str, str | None],
        order: dict[str, Entry],
        scope: Scope,
    ) -> str:
        if source == local:
            return f"from: '{source}' is this layer itself"
        if source in order:
            line = order[source].position.line if order[source].position else "?"
            return (
                f"from: '{source}' is defined later (line {line}); a layer can only read layers "
                "above it"
            )
        where = f"of block {scope.block.name}" if scope.block else "of this spec"
        hint = did_you_mean(source, [INPUT, *outputs])
        if "." in source:
            return (
                f"from: '{source}' is not a layer {where}: from: names a layer of the same "
                "level, not one inside a block"
            )
        return f"from: '{source}' is not a layer {where}{hint}"

    def _count(self, entry: Entry, scope: Scope) -> int | None:
        """How many copies ``repeat:`` asks for, or None without repeat (or after an error)."""
        if entry.repeat is None:
            return None
        path = (*entry.path, "repeat")
        value = self._number(entry.repeat, scope, path, "repeat")
        if value is None:
            return None
        if value < 1:
            self.report(f"repeat: must be ≥ 1, got {value}", path, scope, layer=None)
            return None
        if value > MAX_LAYERS:
            self._too_large = True
            self.report(
                f"repeat: {value:,} copies is more than the {MAX_LAYERS:,} layers a network may "
                "have",
                path,
                scope,
            )
            return None
        return value

    def _number(
        self, value: Any, scope: Scope, path: PathKey, what: str, **subject: str | None
    ) -> int | None:
        """A whole number, written as one or (in a block) as an expression of its parameters."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and scope.env is not None:
            try:
                return expr.evaluate(expr.parse(value), scope.env, value)
            except expr.ExprError as error:
                self.report(f"{what}: {error}", path, scope, **subject)
                return None
        expected = "a whole number or an expression of the block's parameters"
        if scope.env is None:
            expected = "a whole number"
        message = f"{what}: expected {expected}, got {describe_value(value)}"
        self.report(message, path, scope, **subject)
        return None

    def _instance(
        self, entry: Entry, qualified: str, sources: tuple[str, ...], scope: Scope
    ) -> str | None:
        if len(self.decls) >= MAX_LAYERS:
            if not self._too_large:
                self._too_large = True
                self.report(
                    f"the expanded network has more than {MAX_LAYERS:,} layers; check repeat:",
                    entry.path,
                    scope,
                )
            return None
        if entry.block is not None:
            output = self._block(entry, qualified, sources, scope)
            if output is None:  # keep the place, so what follows reads an unknown tensor
                return self._leaf(entry, qualified, sources, scope, None, {})
            return output
        if entry.kind is not None:
            self._check_inputs(entry, entry.kind, sources, qualified, scope)
        args, positions = self._arguments(entry, qualified, scope)
        return self._leaf(entry, qualified, sources, scope, args, positions)

    def _leaf(
        self,
        entry: Entry,
        qualified: str,
        sources: tuple[str, ...],
        scope: Scope,
        args: LayerArgs | None,
        positions: dict[str, Position],
    ) -> str:
        self.decls.append(
            LayerDecl(
                index=len(self.decls),
                name=qualified,
                kind=entry.kind,
                args=args,
                sources=sources,
                position=entry.position,
                arg_positions=positions,
                sources_positions=entry.sources_positions,
                name_position=entry.name_position,
                groups=scope.groups,
                uses=scope.uses,
                raw_args=entry.raw_args,
            )
        )
        return qualified

    def _check_inputs(
        self, entry: Entry, kind: LayerKind, sources: tuple[str, ...], qualified: str, scope: Scope
    ) -> None:
        """The number of inputs must suit the kind (checked on what was written)."""
        written = entry.sources
        if written is not None and len(sources) != len(written):
            return  # a dangling name was reported already
        count = len(sources) if written is not None else 1
        path = (*entry.path, "from", 0) if written is not None else entry.kind_path
        if kind.max_inputs == 1 and count != 1:
            message = f"takes 1 input, got {count} in from:"
        elif count < kind.min_inputs:
            message = (
                f"joins {kind.min_inputs} or more layers: list them with from: [a, b]"
                if written is None
                else f"needs at least {kind.min_inputs} inputs, got {count}"
            )
        else:
            return
        self.report(message, path, scope, key=written is None, layer=qualified, kind=kind.name)

    def _block(
        self, entry: Entry, qualified: str, sources: tuple[str, ...], scope: Scope
    ) -> str | None:
        block = self.blocks.get(entry.block)  # type: ignore[arg-type]
        if block is None:  # its definition is invalid, and reported
            return None
        if block.name in self.cyclic or len(scope.uses) >= MAX_BLOCK_DEPTH:
            if len(scope.uses) >= MAX_BLOCK_DEPTH:
                self.report(
                    f"blocks nest deeper than {MAX_BLOCK_DEPTH} levels", entry.kind_path, scope
                )
            return None
        params = self._params(entry, block, qualified, scope)
        if len(sources) > 1:
            self.report(
                f"a block reads one input, got {len(sources)} in from:",
                (*entry.path, "from"),
                scope,
                layer=qualified,
                kind=block.name,
            )
            return None
        if params is None:
            return None
        parent = scope.groups[-1] if scope.groups else None
        self.groups[qualified] = Group(
            qualified, block.name, params, 1, entry.position, parent, block.name,
            raw_args=entry.raw_args,
        )  # fmt: skip
        inner = Scope(
            prefix=qualified + ".",
            env=params,
            block=block,
            input=sources[0] if sources else None,
            groups=(*scope.groups, qualified),
            uses=(UseSite(block.name, qualified, entry.position), *scope.uses),
        )
        return self.expand(block.entries, inner)

    def _params(
        self, entry: Entry, block: BlockDef, qualified: str, scope: Scope
    ) -> dict[str, int] | None:
        raw = entry.raw_args
        report_kwargs = {"layer": qualified, "kind": block.name}
        if raw is None:
            given: dict[str, Any] = {}
        elif isinstance(raw, dict):
            given = raw
        elif block.params:
            given = {next(iter(block.params)): raw}  # a scalar sets the first parameter
        else:
            self.report(
                f"block {block.name} takes no parameters, got {describe_value(raw)}",
                entry.kind_path,
                scope,
                **report_kwargs,
            )
            return None
        values: dict[str, int] = {}
        valid = True
        for name, value in given.items():
            path = (*entry.kind_path, name) if isinstance(raw, dict) else entry.kind_path
            if name in SIBLING_KEYS:
                self.report(
                    f"'{name}' goes beside '{block.name}:', not among its parameters",
                    path,
                    scope,
                    key=True,
                    **report_kwargs,
                )
                valid = False
            elif name not in block.params:
                known = ", ".join(block.params) or "none"
                self.report(
                    f"unknown parameter '{name}'{did_you_mean(str(name), block.params)}; "
                    f"{block.name} takes: {known}",
                    path,
                    scope,
                    key=True,
                    **report_kwargs,
                )
                valid = False
            else:
                number = self._number(value, scope, path, str(name), **report_kwargs)
                if number is None:
                    valid = False
                else:
                    values[name] = number
        for name, default in block.params.items():
            if name in values:
                continue
            if default is None:
                self.report(
                    f"missing parameter '{name}' of block {block.name}",
                    entry.kind_path,
                    scope,
                    key=True,
                    **report_kwargs,
                )
                valid = False
            else:
                values[name] = default
        return values if valid else None

    def _arguments(
        self, entry: Entry, qualified: str, scope: Scope
    ) -> tuple[LayerArgs | None, dict[str, Position]]:
        kind = entry.kind
        if kind is None:
            return None, {}
        raw = entry.raw_args
        if scope.env is not None:
            raw = self._substitute(raw, scope, entry.kind_path, qualified, kind)
            if raw is _FAILED:
                return None, {}
        args, positions, problems = validate_args(kind, raw, entry.kind_path, self.found)
        for message, path, key, value in problems:
            if scope.env is not None and isinstance(value, str) and value.isidentifier():
                hint = did_you_mean(value, scope.env)
                message += f"; '{value}' is not a parameter of {scope.block.name}{hint}"  # type: ignore[union-attr]
            self.report(message, path, scope, key=key, layer=qualified, kind=kind.name)
        return args, positions

    def _substitute(
        self, raw: Any, scope: Scope, path: PathKey, qualified: str, kind: LayerKind
    ) -> Any:
        """Arguments with expressions of the block's parameters replaced by their values.

        A bare word that is no parameter stays a word: it may be an option ('same').
        """
        env = tuple((scope.env or {}).items())
        failed = False

        def walk(value: Any, where: PathKey) -> Any:
            nonlocal failed
            if isinstance(value, dict):
                return {k: walk(v, (*where, k)) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v, (*where, i)) for i, v in enumerate(value)]
            if not isinstance(value, str):
                return value
            outcome = expr.substitute(value, env)
            if outcome is None:
                return value
            if isinstance(outcome, expr.ExprError):
                argument = where[len(path)] if len(where) > len(path) else kind.main_arg
                message = f"{argument}: {outcome}"
                self.report(message, where, scope, layer=qualified, kind=kind.name)
                failed = True
                return value
            return outcome

        result = walk(raw, path)
        return _FAILED if failed else result


_FAILED = object()


def validate_args(
    kind: LayerKind, raw: Any, kind_path: PathKey, found: Findings
) -> tuple[LayerArgs | None, dict[str, Position], list[tuple[str, PathKey, bool, Any]]]:
    """A layer's arguments checked by its model: (args or None, positions, problems).

    Each problem is (message, path, whether the path's key is meant, the offending value).
    """
    fields = kind.Args.model_fields
    problems: list[tuple[str, PathKey, bool, Any]] = []
    positions: dict[str, Position] = {}
    if raw is None:
        values: dict[str, Any] = {}
    elif isinstance(raw, dict):
        values = {}
        for key, value in raw.items():
            if key in SIBLING_KEYS:
                problems.append(
                    (
                        f"'{key}' goes beside '{kind.name}:', not among its arguments",
                        (*kind_path, key),
                        True,
                        None,
                    )
                )
                continue
            if key not in fields:
                known = ", ".join(fields) or "none"
                hint = did_you_mean(str(key), fields)
                problems.append(
                    (
                        f"unknown argument '{key}'{hint}; {kind.name} takes: {known}",
                        (*kind_path, key),
                        True,
                        None,
                    )
                )
                continue
            values[key] = value
            position = found.at((*kind_path, key), key=True)
            if position is not None:
                positions[key] = position
    elif kind.main_arg is not None:
        values = {kind.main_arg: raw}
        position = found.at(kind_path)
        if position is not None:
            positions[kind.main_arg] = position
    else:
        takes = f"arguments as a mapping ({', '.join(fields)})" if fields else "no arguments"
        problems.append((f"takes {takes}, got {describe_value(raw)}", kind_path, False, None))
        return None, {}, problems

    try:
        args = kind.Args.model_validate(values)
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            loc = problem["loc"]
            arg = str(loc[0]) if loc else None
            if problem["type"] == "missing":
                example = f"`- {kind.name}: {{{arg}: …}}`"
                problems.append(
                    (f"missing required argument '{arg}', e.g. {example}", kind_path, True, None)
                )
            else:
                path = (*kind_path, arg) if isinstance(raw, dict) and arg else kind_path
                problems.append((f"{arg}: {explain(problem)}", path, False, problem["input"]))
        return None, positions, problems
    return args, positions, problems
