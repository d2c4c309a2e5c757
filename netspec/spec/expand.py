"""Expanding the spec's entries into the IR: a nested graph of layers and groups.

A block use becomes a ``Group`` holding its layers, named ``<use>.<layer>`` (``layer2.conv1``);
``repeat: N`` makes a group of N copies named ``<name>.0`` … ``<name>.N-1``, each reading the one
before. Inside a block, ``from: input`` is what the block receives and other names are the
block's own layers; arguments may be expressions of the block's parameters, evaluated here (see
``expr``) and kept as traced ints for the block's generated class. Every problem inside a block
is reported at the line in the block and names the use it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from netspec.diagnostics import Diagnostic, Position, did_you_mean
from netspec.ir import INPUT, Group, Layer, Node, UseSite, output_value, use_context
from netspec.layers.args import LayerArgs, describe_value
from netspec.layers.base import LayerKind, Unreported
from netspec.limits import MAX_BLOCK_DEPTH, MAX_LAYERS
from netspec.shapes import Shape
from netspec.spec import expr
from netspec.spec.blocks import INPUT_FEATURES, BlockDef, channels_of_input
from netspec.spec.entries import Entry, Findings, assign_names
from netspec.spec.messages import explain
from netspec.spec.model import SIBLING_KEYS
from netspec.spec.source import PathKey


@dataclass(frozen=True)
class Scope:
    """Where entries are being expanded: the top level, or one use of a block."""

    prefix: str  # "" at the top level, "layer2." inside the use named layer2
    env: dict[str, int | float] | None  # the block's parameters; None at the top level
    block: BlockDef | None
    # What `input`, `input.1`… mean here (None: unknown after an error).
    inputs: tuple[str | None, ...] = (INPUT,)
    groups: tuple[str, ...] = ()
    uses: tuple[UseSite, ...] = ()
    traced_env: tuple[tuple[str, int | float], ...] = ()  # whole ones as traced ints


class Expander:
    def __init__(
        self,
        blocks: dict[str, BlockDef],
        cyclic: set[str],
        found: Findings,
        input_shape: Shape | None = None,
    ) -> None:
        self.blocks = blocks
        self.cyclic = cyclic
        self.found = found
        self.layer_count = 0
        self._too_large = False
        # Shapes of the values made so far, worked out only when a block reads its input's
        # sizes (``in_channels``): the layers in order, and how far they have been inferred.
        self._made: list[Layer] = []
        self._inferred = 0
        self._shapes: dict[str, Shape | None] = {INPUT: input_shape}

    def shape_of(self, value: str) -> Shape | None:
        """The shape of a value made so far (None when unknown, after an error)."""
        while value not in self._shapes and self._inferred < len(self._made):
            layer = self._made[self._inferred]
            self._inferred += 1
            inputs = tuple(self._shapes.get(source) for source in layer.inputs)
            outputs: tuple[Shape | None, ...] = ()
            kind, args = layer.kind, layer.args
            if kind is not None and args is not None and kind.takes(len(inputs)):
                inferred = kind.infer(args, inputs, Unreported(layer.inputs))
                outputs = (inferred.shape, *inferred.more)
            outputs += (None,) * (layer.output_count - len(outputs))
            self._shapes |= zip(layer.output_names, outputs, strict=False)
        return self._shapes.get(value)

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

    def expand(self, entries: tuple[Entry, ...] | list[Entry], scope: Scope) -> list[Node]:
        """The nodes of entries in a scope, in order."""
        names = assign_names(list(entries), self._reporter(scope), self.found.doc.file)
        outputs: dict[str, str | None] = {}
        counts: dict[str, int] = {}  # how many outputs each name has (a split's chunks)
        uses: dict[str, Group] = {}  # the block uses so far, whose layers `from:` may read
        order = {name: entry for name, entry in zip(names, entries, strict=True)}
        previous = scope.inputs[0]
        body: list[Node] = []
        for entry, local in zip(entries, names, strict=True):
            sources = self._sources(entry, local, outputs, counts, uses, order, previous, scope)
            qualified = scope.prefix + local
            count = self._count(entry, scope)
            node = (
                self._instance(entry, qualified, sources, scope)
                if count is None
                else self._repeat(entry, qualified, sources, scope, count)
            )
            output = node.output_name if node is not None else None
            if node is not None:
                body.append(node)
            outputs[local] = output
            counts[local] = node.output_count if isinstance(node, Layer) else 1
            if isinstance(node, Group) and node.block is not None:
                uses[local] = node
            previous = output
        return body

    def _repeat(
        self, entry: Entry, qualified: str, sources: tuple[str, ...], scope: Scope, count: int
    ) -> Group | None:
        inner = replace(scope, groups=(*scope.groups, qualified))
        copies: list[Node] = []
        for copy in range(count):
            if self._too_large:  # stop at once: a count may be 10**18
                break
            node = self._instance(entry, f"{qualified}.{copy}", sources, inner)
            if node is None:
                break
            if isinstance(node, Layer) and node.args is not None and not node.chainable:
                self.report(
                    f"repeat: copies of '{entry.label}' cannot be chained as modules (it is an "
                    "operation, or takes or gives several tensors); write the copies out or put "
                    "it in a block",
                    (*entry.path, "repeat"),
                    scope,
                    layer=qualified,
                    kind=entry.label,
                )
                return None
            copies.append(node)
            sources = (node.output_name,)
        if not copies:
            return None
        traced = self._traced_number(entry.repeat, scope)
        return Group(
            qualified,
            block=None,
            label=entry.label,
            inputs=copies[0].inputs or (INPUT,),
            body=copies,
            position=entry.position,
            count=count,
            traced={"repeat": traced} if traced is not None else {},
            parent=scope.groups[-1] if scope.groups else None,
        )

    @staticmethod
    def _traced_number(written: Any, scope: Scope) -> int | None:
        """A number written as an expression of the block's parameters, as a traced int."""
        if not isinstance(written, str) or scope.env is None:
            return None
        outcome = expr.substitute(written, scope.traced_env)
        return outcome if isinstance(outcome, expr.Traced) else None  # a count: whole

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
        counts: dict[str, int],
        uses: dict[str, Group],
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
            owner, dot, number = source.rpartition(".") if "." in source else (source, "", "")
            if source == INPUT:
                target = scope.inputs[0]
            elif owner == INPUT and number.isdigit() and scope.block is not None:
                target, problem = self._block_input(int(number), scope)
            elif source in outputs:
                target = outputs[source]
            elif dot and owner in outputs and number.isdigit() and str(int(number)) == number:
                target, problem = self._output_of(owner, int(number), outputs, counts)
            elif dot and source.split(".")[0] in uses:
                target, problem = self._inside(source, uses[source.split(".")[0]])
            else:
                target = None
                problem = self._dangling(source, local, outputs, order, scope)
            if problem:
                self.report(problem, path, scope, layer=scope.prefix + local, kind=entry.label)
            elif target is not None:
                resolved.append(target)
        return tuple(resolved)

    @staticmethod
    def _inside(source: str, use: Group) -> tuple[str | None, str | None]:
        """``from: enc1.conv2``: a layer of an earlier block use (an encoder's skip), or
        ``enc1.halves.1``, one of its outputs."""
        _, wanted, *rest = source.split(".")
        layers = {node.local: node for node in use.body if isinstance(node, Layer)}
        found = layers.get(wanted)
        if found is None:
            inner = next((n for n in use.body if n.local == wanted), None)
            why = (
                f"'{wanted}' in it is a block use or repeat: read a layer directly in '{use.local}'"
                if inner is not None
                else f"it has no layer '{wanted}'{did_you_mean(wanted, layers)}"
            )
            return None, f"from: '{source}': '{use.local}' is a use of block {use.block}; {why}"
        if not rest:
            return found.name, None
        index = rest[0]
        if len(rest) > 1 or not index.isdigit() or int(index) >= found.output_count:
            outputs = ", ".join(found.output_names)
            return None, f"from: '{source}': the outputs of '{found.name}' are {outputs}"
        return output_value(found.name, int(index)), None

    @staticmethod
    def _block_input(index: int, scope: Scope) -> tuple[str | None, str | None]:
        """``from: input.1`` in a block: the second tensor its use gives it."""
        if index < len(scope.inputs):
            return scope.inputs[index], None
        assert scope.block is not None
        return None, (
            f"from: 'input.{index}': block {scope.block.name} is given {len(scope.inputs)} "
            "input" + ("s" if len(scope.inputs) > 1 else "")
        )

    @staticmethod
    def _output_of(
        owner: str, index: int, outputs: dict[str, str | None], counts: dict[str, int]
    ) -> tuple[str | None, str | None]:
        """``from: a.1``: output 1 of layer ``a`` (output 0 is ``a`` itself)."""
        value = outputs[owner]
        count = counts[owner]
        if index < count:
            return (None if value is None else output_value(value, index)), None
        if count == 1:
            return None, f"from: '{owner}.{index}': '{owner}' has one output; read it as '{owner}'"
        listed = ", ".join(f"{owner}.{k}" for k in range(count))
        return None, f"from: '{owner}.{index}': '{owner}' has {count} outputs: {listed}"

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
            position = order[source].position
            line = position.line if position else "?"
            return (
                f"from: '{source}' is defined later (line {line}); a layer can only read layers "
                "above it"
            )
        where = f"of block {scope.block.name}" if scope.block else "of this spec"
        hint = did_you_mean(source, [INPUT, *outputs])
        if "." in source:
            owner = source.rpartition(".")[0]
            if owner not in outputs:
                hint = did_you_mean(owner, [INPUT, *outputs])
                return f"from: '{source}': '{owner}' is not a layer {where}{hint}"
            return (
                f"from: '{source}' is not a layer {where}: from: names a layer of the same "
                "level or one of its outputs (name.1), not one inside a block"
            )
        return f"from: '{source}' is not a layer {where}{hint}"

    def _count(self, entry: Entry, scope: Scope) -> int | None:
        """How many copies ``repeat:`` asks for, or None without repeat (or after an error)."""
        if entry.repeat is None:
            return None
        path = (*entry.path, "repeat")
        value = self._number(entry.repeat, scope, path, "repeat")
        if not isinstance(value, int):  # None after an error (whole numbers only here)
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
        self,
        value: Any,
        scope: Scope,
        path: PathKey,
        what: str,
        layer: str | None = None,
        kind: str | None = None,
        decimals: bool = False,
    ) -> int | float | None:
        """A whole number (or with ``decimals`` any number), written as one or (in a block) as
        an expression of its parameters."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            if decimals or isinstance(value, int):
                return value
        elif isinstance(value, str) and scope.env is not None:
            try:
                tree = expr.parse(value)
                if decimals:
                    return expr.evaluate(tree, scope.env, value)
                return expr.whole(tree, scope.env, value)
            except expr.ExprError as error:
                self.report(f"{what}: {error}", path, scope, layer=layer, kind=kind)
                return None
        noun = "a number" if decimals else "a whole number"
        expected = f"{noun} or an expression of the block's parameters"
        if scope.env is None:
            expected = noun
        message = f"{what}: expected {expected}, got {describe_value(value)}"
        self.report(message, path, scope, layer=layer, kind=kind)
        return None

    def _instance(
        self, entry: Entry, qualified: str, sources: tuple[str, ...], scope: Scope
    ) -> Node | None:
        if self.layer_count >= MAX_LAYERS:
            if not self._too_large:
                self._too_large = True
                self.report(
                    f"the expanded network has more than {MAX_LAYERS:,} layers; check repeat:",
                    entry.path,
                    scope,
                )
            return None
        if entry.block is not None:
            group = self._block(entry, qualified, sources, scope)
            if group is None:  # keep the place, so what follows reads an unknown tensor
                return self._layer(entry, qualified, sources, scope, None, {}, {})
            return group
        if entry.kind is not None:
            self._check_inputs(entry, entry.kind, sources, qualified, scope)
        args, positions, traced = self._arguments(entry, qualified, scope)
        return self._layer(entry, qualified, sources, scope, args, positions, traced)

    def _layer(
        self,
        entry: Entry,
        qualified: str,
        sources: tuple[str, ...],
        scope: Scope,
        args: LayerArgs | None,
        positions: dict[str, Position],
        traced: dict[str, Any],
    ) -> Layer:
        self.layer_count += 1
        count = entry.kind.output_count(args) if entry.kind is not None and args else 1
        layer = Layer(
            qualified,
            entry.kind,
            args,
            sources,
            entry.position,
            arg_positions=positions,
            traced=traced,
            groups=scope.groups,
            uses=scope.uses,
            output_count=count,
            written_kind=entry.written_kind,
        )
        self._made.append(layer)
        return layer

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
        elif kind.max_inputs is not None and count > kind.max_inputs:
            fewest = "" if kind.min_inputs == kind.max_inputs else f"{kind.min_inputs} to "
            message = f"takes {fewest}{kind.max_inputs} inputs, got {count} in from:"
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
    ) -> Group | None:
        block = self.blocks.get(entry.block)  # type: ignore[arg-type]
        if block is None:  # its definition is invalid, and reported
            return None
        if block.name in self.cyclic or len(scope.uses) >= MAX_BLOCK_DEPTH:
            if len(scope.uses) >= MAX_BLOCK_DEPTH:
                self.report(
                    f"blocks nest deeper than {MAX_BLOCK_DEPTH} levels", entry.kind_path, scope
                )
            return None
        found = self._params(entry, block, qualified, scope)
        written = entry.sources
        if written is not None and len(sources) != len(written):
            return None  # a dangling name, reported already
        if len(written or (None,)) != block.inputs:
            names = ", ".join(["input", *(f"input.{k}" for k in range(1, block.inputs))])
            count = len(written or (None,))
            self.report(
                f"block {block.name} reads {block.inputs} input"
                + ("s" if block.inputs > 1 else "")
                + f" ({names}), got {count}"
                + (" in from:" if written is not None else "; list them with from: [a, b]"),
                (*entry.path, "from") if written is not None else entry.kind_path,
                scope,
                key=written is None,
                layer=qualified,
                kind=block.name,
            )
            return None
        if found is None:
            return None
        params, traced = found
        sizes = self._input_sizes(block, sources)
        if sizes is None:
            return None
        env = params | sizes
        inner = Scope(
            prefix=qualified + ".",
            env=env,
            traced_env=tuple(
                (name, expr.traced_value(value, expr.Name(name))) for name, value in env.items()
            ),
            block=block,
            inputs=sources or (None,),
            groups=(*scope.groups, qualified),
            uses=(UseSite(block.name, qualified, entry.position), *scope.uses),
        )
        body = self.expand(block.entries, inner)
        if not body:
            return None
        return Group(
            qualified,
            block=block.name,
            label=block.name,
            inputs=sources or (INPUT,),
            body=body,
            position=entry.position,
            parameters=params,
            traced=traced,
            parent=scope.groups[-1] if scope.groups else None,
        )

    def _input_sizes(self, block: BlockDef, sources: tuple[str, ...]) -> dict[str, int] | None:
        """The sizes of its inputs a block reads (``in_channels``, ``in_channels_1``,
        ``in_features``); None when they are unknown after an error above, which the shape
        pass reports."""
        if not block.reads:
            return {}
        shapes = [self.shape_of(source) for source in sources]
        dims = [shape.dims for shape in shapes if shape is not None and shape.rank]
        if not dims or len(dims) < len(shapes):
            return None
        sizes = {INPUT_FEATURES: dims[0][-1]}
        sizes |= {channels_of_input(index): each[0] for index, each in enumerate(dims)}
        found: dict[str, int] = {}
        for name in block.reads & sizes.keys():
            size = sizes[name]
            if size is None:
                return None
            found[name] = size
        return found

    def _params(
        self, entry: Entry, block: BlockDef, qualified: str, scope: Scope
    ) -> tuple[dict[str, int | float], dict[str, int]] | None:
        """The use's parameter values, and those written as expressions as traced ints."""
        raw = entry.raw_args
        report_kwargs: dict[str, Any] = {"layer": qualified, "kind": block.name}
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
        values: dict[str, int | float] = {}
        traced: dict[str, int] = {}
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
                number = self._number(value, scope, path, str(name), **report_kwargs, decimals=True)
                if number is None:
                    valid = False
                else:
                    values[name] = number
                    written = self._traced_number(value, scope)
                    if written is not None:
                        traced[name] = written
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
        return (values, traced) if valid else None

    def _arguments(
        self, entry: Entry, qualified: str, scope: Scope
    ) -> tuple[LayerArgs | None, dict[str, Position], dict[str, Any]]:
        kind = entry.kind
        if kind is None:
            return None, {}, {}
        raw = entry.raw_args
        traced: dict[str, Any] = {}
        if scope.env is not None:
            raw = self._substitute(raw, scope, entry.kind_path, qualified, kind)
            if raw is _FAILED:
                return None, {}, {}
            traced = _traced_arguments(raw, kind)
            raw = _plain(raw)
        args, positions, problems = validate_args(kind, raw, entry.kind_path, self.found)
        for message, path, key, value in problems:
            if scope.env is not None and isinstance(value, float):
                message += "; an expression gave a decimal here: round it with round(…) or int(…)"
            if scope.env is not None and isinstance(value, str) and value.isidentifier():
                hint = did_you_mean(value, scope.env)
                message += f"; '{value}' is not a parameter of {scope.block.name}{hint}"  # type: ignore[union-attr]
            self.report(message, path, scope, key=key, layer=qualified, kind=kind.name)
        return args, positions, traced if args is not None else {}

    def _substitute(
        self, raw: Any, scope: Scope, path: PathKey, qualified: str, kind: LayerKind
    ) -> Any:
        """Arguments with expressions of the block's parameters replaced by their values.

        A bare word that is no parameter stays a word: it may be an option ('same').
        """
        env = scope.traced_env
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


def _traced_arguments(raw: Any, kind: LayerKind[Any]) -> dict[str, Any]:
    """The arguments written as expressions (traced ints, or lists holding some), by name."""
    written = raw if isinstance(raw, dict) else {kind.main_arg: raw} if kind.main_arg else {}
    traced = {}
    for key, value in written.items():
        if expr.is_traced(value) or (
            isinstance(value, list) and any(expr.is_traced(v) for v in value)
        ):
            traced[key] = tuple(value) if isinstance(value, list) else value
    return traced


def _plain(value: Any) -> Any:
    """Arguments as pydantic validates them: traced ints as plain ints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return expr.plain(value)


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
