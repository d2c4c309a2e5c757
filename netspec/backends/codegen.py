"""PyTorch source from a checked spec: one self-contained file a person would commit.

A chain becomes an ``nn.Sequential`` built by a small factory function; a graph (or a chain with
``module=True``) becomes an ``nn.Module`` class with ``__init__`` and ``forward``. A spec with
blocks gets one class per block type, like torchvision's ``BasicBlock``: its constructor takes
the channels it receives and the block's parameters, and the sizes inside are expressions of
them (``nn.Conv2d(in_channels, channels, …)``), found by running the layer kinds' own shape
rules on traced ints (``expr.Traced``); the top-level class builds the network from them. Each
layer keeps its spec name and gets a comment with its output shape. Running the file prints the
model and checks the output shape of one forward pass.

Names never clash, by construction: each scope of the file is a ``Namespace`` holding the names
the file's own code binds and reads there (harvested from the templates below), and every name
made from the spec is claimed in it, so it gets a suffix rather than shadow another
(``print_()`` for a spec named ``print``; ``BlkA`` and ``BlkA2`` for blocks ``blk_a`` and
``blkA``). Layer names (attributes, and so state_dict keys) never change: the checker keeps
them off the names the file uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from netspec.diagnostics import Position
from netspec.ir import INPUT, Graph, Group, Layer, Node
from netspec.layers.args import LayerArgs
from netspec.layers.base import LayerKind, Learned, TorchCall, Unpacking, Unreported
from netspec.names import class_name
from netspec.pysource import (
    INDENT,
    Atom,
    Bracketed,
    Expr,
    Keyword,
    Namespace,
    Repeated,
    Terms,
    call,
    format_line,
    identifiers,
    literal,
    name,
    statement,
)
from netspec.shapes import Shape
from netspec.spec import expr
from netspec.spec.blocks import INPUT_CHANNELS, INPUT_FEATURES, channels_of_input
from netspec.version import __version__


class CompileError(Exception):
    """A valid spec that cannot be written as classes (the message says why, the position
    where)."""

    def __init__(self, message: str, position: Position | None = None) -> None:
        super().__init__(message)
        self.position = position


def _argument(size: Any) -> Expr:
    """An argument's source: a literal, or an expression of constructor arguments."""
    if expr.is_traced(size):
        return _terms(size.tree)  # names in it are validated identifiers
    if isinstance(size, tuple) and any(expr.is_traced(item) for item in size):
        items = ", ".join(_argument(item).flat() for item in size)
        return Atom(f"({items},)" if len(size) == 1 else f"({items})")
    return Atom(literal(size))


def _terms(tree: expr.Node) -> Expr:
    """A sum or difference as its terms, which a long line splits before each ``+``/``-``."""
    rest: list[tuple[str, Expr]] = []
    while isinstance(tree, expr.BinOp) and tree.operator in ("+", "-"):
        rest.insert(0, (tree.operator, Atom(expr.render(tree.right, 2))))
        tree = tree.left
    return Terms(Atom(expr.render(tree, 1)), tuple(rest)) if rest else Atom(expr.render(tree))


def learned_source(learned: Learned) -> Expr:
    """``nn.Parameter(torch.zeros(1, 768))``: a kind's own tensor, initialised in place."""
    size = ", ".join(_argument(item).flat() for item in learned.shape)
    fills = {
        "zeros": f"torch.zeros({size})",
        "ones": f"torch.ones({size})",
        "constant": f"torch.full({_argument(learned.shape).flat()}, {literal(learned.value)})",
        "normal": f"torch.empty({size}).normal_(std={literal(learned.value)})",
    }
    return call("nn.Parameter", Atom(fills[learned.fill]))


def unpacking_target(structure: Unpacking, variables: Sequence[str]) -> str:
    """``out, (h_n, c_n)``: where a call's outputs go; ``_`` for what nothing reads."""

    def text(part: Unpacking, top: bool) -> str:
        if part is None:
            return "_"
        if isinstance(part, int):
            return variables[part]
        inner = ", ".join(text(item, top=False) for item in part)
        return inner if top else f"({inner})"

    return text(structure, top=True)


def module_call(torch_call: TorchCall) -> Bracketed:
    """``nn.Conv2d(1, 6, kernel_size=5, padding=2)``."""
    return call(
        f"nn.{torch_call.module}",
        *(_argument(item) for item in torch_call.args),
        *(Keyword(key, _argument(item)) for key, item in torch_call.kwargs),
    )


# --- the file --------------------------------------------------------------------------------


SEQUENTIAL_IMPORTS = (
    "from collections import OrderedDict",
    "",
    "import torch",
    "from torch import nn",
)
MODULE_IMPORTS = ("import torch", "from torch import nn")


def _header(graph: Graph, imports: Sequence[str]) -> list[str]:
    assert graph.input_shape is not None and graph.output_shape is not None
    assert graph.total_params is not None
    return [
        f'"""{graph.name}: generated by netspec {__version__}. Edit the spec and recompile.',
        "",
        f"Input {graph.input_shape.batched()} → output {graph.output_shape.batched()}; "
        f"{graph.total_params:,} parameters.",
        '"""',
        "",
        *imports,
        "",
        *_constants(_dims(graph.input_shape), _dims(graph.output_shape)),
        "",
    ]


def _constants(input_dims: tuple[int, ...], output_dims: tuple[int, ...]) -> list[str]:
    return [
        f"INPUT_SHAPE = {literal(input_dims)}  # one sample; the batch dim comes first",
        f"OUTPUT_SHAPE = {literal(output_dims)}",
    ]


def _main_lines(constructor: str, model: str, output: str, tokens: bool = False) -> list[str]:
    dtype = ", dtype=torch.long" if tokens else ""  # token ids: zeros are valid ones
    return [
        "",
        "",
        "def main() -> None:",
        f"    {model} = {constructor}()",
        f"    print({model})",
        f"    {model}.eval()",
        "    with torch.no_grad():",
        f"        {output} = {model}(torch.zeros(2, *INPUT_SHAPE{dtype}))",
        f"    assert {output}.shape[1:] == OUTPUT_SHAPE, tuple({output}.shape)",
        f'    print(f"ok: output shape {{tuple({output}.shape)}}")',
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
    ]


# Stand-ins for the names the templates take, when harvesting what else they use.
_SLOTS = ("Constructor__", "model__", "output__")
# What main() reads besides its own variables: the builtins it calls, the imports, constants.
_MAIN_READS = identifiers("\n".join(_main_lines(*_SLOTS))) - set(_SLOTS)


def _main(constructor: str, graph: Graph) -> list[str]:
    # main's variables give way to the network's name (a spec may well be called `model`).
    scope = Namespace({constructor, *_MAIN_READS})
    tokens = graph.input_dtype == "long"
    return _main_lines(constructor, scope.claim("model"), scope.claim("output"), tokens)


# --- the names each scope holds before any from the spec ------------------------------------

INPUT_VARIABLE = "input"  # forward's argument
CHAIN_VARIABLE = "x"  # the value passed from one layer to the next
_FORWARD = f"    def forward(self, {INPUT_VARIABLE}: torch.Tensor) -> torch.Tensor:"
# forward's own names and what it reads (torch, for torch.cat and the annotations); a value's
# variable must be none of them. The checker keeps layer names off them, so none is renamed.
_FORWARD_NAMES = identifiers(f"{_FORWARD.strip()}\n    return {CHAIN_VARIABLE}")


def _init_head(cls: str, docstring: str, signature: Sequence[str]) -> list[str]:
    lines = [f"class {name(cls).text}(nn.Module):", f'    """{docstring}"""', ""]
    lines += format_line(
        INDENT, "def ", Bracketed("__init__", tuple(Atom(p) for p in ["self", *signature])),
        " -> None:",
    )  # fmt: skip
    lines.append("        super().__init__()")
    return lines


def _module_names(module: bool) -> frozenset[str]:
    """Every name the fixed parts of a file bind or read: imports, constants, main() and the
    builtins it calls, and for classes what their methods use (``super``, ``int``…). A
    module-level name made from the spec (the network's, a block class's) is none of these."""
    skeleton = [
        *(MODULE_IMPORTS if module else SEQUENTIAL_IMPORTS),
        *_constants((1,), (1,)),
        *_main_lines(*_SLOTS),
    ]
    if module:
        skeleton += _init_head(_SLOTS[0], "", [f"{INPUT_CHANNELS}: int"])
        skeleton += ["", _FORWARD, f"        return {INPUT_VARIABLE}"]
    return identifiers("\n".join(skeleton)) - set(_SLOTS)


SEQUENTIAL_FILE_NAMES = _module_names(module=False)
CLASS_FILE_NAMES = _module_names(module=True)


# --- a chain: nn.Sequential ------------------------------------------------------------------


def _sequential(graph: Graph) -> list[str]:
    function = entry_name(graph, module=False)
    lines = [
        "",
        f"def {function}() -> nn.Sequential:",
        f'    """The {graph.name} network."""',
        "    return nn.Sequential(",
        "        OrderedDict(",
    ]
    for layer in graph.layers():
        call_ = layer.torch_call()
        assert call_ is not None and layer.output is not None
        lines += statement(
            INDENT * 3,
            f"{name(layer.name).text}=",
            module_call(call_),
            layer.output.batched(),
            ",",
        )
    lines += ["        )", "    )"]
    return _header(graph, SEQUENTIAL_IMPORTS) + lines + _main(function, graph)


# --- one level of a class: __init__ and forward ---------------------------------------------


@dataclass
class Level:
    """How the nodes of one class are written: their modules, and what the comments say."""

    nodes: list[Node]
    module: Callable[[Node], Expr | None]  # the expression building a node's module
    comment: Callable[[Node, int], str]  # the shape of a node's output k, as comments show it
    sources: tuple[str, ...] = (INPUT,)  # the qualified names this level's inputs have
    returns: tuple[str, ...] = ()  # values returned after the output (a block's taps)


def _is_expression(node: Node) -> bool:
    return isinstance(node, Layer) and node.kind is not None and node.kind.torch_class is None


def _variables(level: Level, consumers: Callable[[str], list[str]]) -> dict[str, str]:
    """The variable holding each value in ``forward``: ``x`` for a value only the next node
    reads through a module (or the output); the node's own name when read later, twice, or by
    a merge (``torch.cat([branch1x1, branch3x3])`` reads better than ``[branch1x1, x]``)."""
    scope = Namespace(_FORWARD_NAMES)
    variables = {level.sources[0]: INPUT_VARIABLE}
    for index, source in enumerate(level.sources[1:], 1):  # a block given several tensors
        variables[source] = scope.claim(f"{INPUT_VARIABLE}_{index}")
    owners = {layer.name: node for node in level.nodes for layer in node.layers()}
    nodes = level.nodes
    for index, node in enumerate(nodes):
        values = node.output_names
        if len(values) > 1 or values[0] in level.returns:  # each output gets a name
            for k, value in enumerate(values):
                suffix = value[len(node.name) + 1 :].replace(".", "_") if k else ""
                variables[value] = scope.claim(f"{node.local}_{suffix}" if k else node.local)
            continue
        following = nodes[index + 1] if index + 1 < len(nodes) else None
        readers = list(
            dict.fromkeys(owners[r].output_name for r in consumers(node.output_name) if r in owners)
        )
        only_next = (
            following is not None
            and readers == [following.output_name]
            and not _is_expression(following)
            and following.inputs == (node.output_name,)
        )
        chained = only_next or following is None
        variables[node.output_name] = CHAIN_VARIABLE if chained else scope.claim(node.local)
    return variables


def _class(
    cls: str,
    docstring: str,
    signature: list[str],
    level: Level,
    consumers: Callable[[str], list[str]],
) -> list[str]:
    lines = _init_head(cls, docstring, signature)
    kept = _kept_arguments(level.nodes)
    lines += [f"{INDENT * 2}self.{attribute} = {argument}" for argument, attribute in kept.items()]
    for node in level.nodes:
        module = level.module(node)
        if module is not None:
            lines += statement(INDENT * 2, f"self.{name(node.local).text} = ", module)
    variables = _variables(level, consumers)
    arguments = [f"{variables[source]}: torch.Tensor" for source in level.sources]
    returned = ", ".join(variables[v] for v in (level.nodes[-1].output_name, *level.returns))
    lines.append("")
    result = "tuple[torch.Tensor, ...]" if level.returns else "torch.Tensor"
    lines += format_line(
        INDENT, "def ", Bracketed("forward", tuple(Atom(a) for a in ["self", *arguments])),
        f" -> {result}:",
    )  # fmt: skip
    read = {source for node in level.nodes for source in node.inputs} | set(level.returns)
    for node in level.nodes:
        operands: list[Expr] = [name(variables[source]) for source in node.inputs]
        values = node.output_names
        target = variables[node.output_name]
        structure: Unpacking = tuple(range(len(values))) if len(values) > 1 else 0
        if isinstance(node, Layer):
            assert node.kind is not None and node.args is not None
            structure = node.kind.unpacking(node.args)
        if structure != 0:  # several outputs, or a result holding more than one
            last = node is level.nodes[-1]
            used = [
                variables[v] if v in read or (last and k == 0) else "_"
                for k, v in enumerate(values)
            ]
            target = unpacking_target(structure, used)
            shown = [k for k, variable in enumerate(used) if variable != "_"]
        if isinstance(node, Layer) and _is_expression(node):
            assert node.kind is not None and node.args is not None
            # In a block's class, what the use computed from its arguments, read from self.
            attributes = {argument: f"self.{attribute}" for argument, attribute in kept.items()}
            args = node.args.model_copy(update=_renamed(node.traced, attributes))
            if node.kind.learned(args) is not None:
                operands.insert(0, name(f"self.{node.local}"))
            expression = node.kind.expression(args, operands)
            comment = f"{node.local}: {level.comment(node, 0)}"  # no submodule carries the name
        else:
            keywords: tuple[tuple[str, Any], ...] = ()
            if isinstance(node, Layer) and node.kind is not None:
                operands = node.kind.call_operands(operands)
                keywords = node.kind.forward_keywords
            extra = [Keyword(key, Atom(literal(value))) for key, value in keywords]
            expression = call(f"self.{node.local}", *operands, *extra)
            comment = level.comment(node, 0)
        if structure != 0 and shown and not _is_expression(node):  # what each name holds
            comment = ", ".join(f"{used[k]}: {level.comment(node, k)}" for k in shown)
        if node is not level.nodes[-1] and not read.intersection(values):
            # Nothing reads it, but the spec asks for it (and e.g. batch norm statistics
            # update), so it runs; `netspec check` warns about it.
            lines += statement(INDENT * 2, "", expression, f"{comment}, unused")
            continue
        lines += statement(INDENT * 2, f"{target} = ", expression, comment)
        if isinstance(node, Layer) and node.kind is not None and node.args is not None:
            for index in sorted(node.kind.batch_second(node.args)):
                variable = variables[values[index]]
                if values[index] in read:
                    lines.append(
                        f"{INDENT * 2}{variable} = {variable}.transpose(0, 1)  # batch first"
                    )
    lines.append(f"        return {returned}")
    return lines


# --- blocks as classes ------------------------------------------------------------------------


@dataclass
class _Trace:
    """One block use, run through the kinds' shape rules on traced ints: each node's module
    source and each value's shape, in terms of the block class's constructor arguments."""

    modules: dict[Node, Expr | None] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)
    output: Shape | None = None


@dataclass
class _BlockClass:
    name: str  # the block's spec name
    cls: str
    lines: list[str]
    parameters: dict[str, int | float | None] = field(default_factory=dict)


def _text(value: Any) -> str:
    return value.render() if expr.is_traced(value) else str(value)


def _rebind(shape: Shape, env: dict[str, int | float]) -> Shape:
    """A shape traced inside a block, in terms of the arguments its use was given."""
    return Shape(
        tuple(
            expr.whole(dim.tree, env) if isinstance(dim, expr.Traced) else dim for dim in shape.dims
        )
    )


class _Generator:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        # The network's class is named first, so blocks never change the name users import.
        self.cls = entry_name(graph, module=True)
        self.globals = Namespace({*CLASS_FILE_NAMES, self.cls})
        # Each block's __init__ reads the classes of the blocks it uses, so no class may take
        # the name of a parameter (those are the user's keywords; the class name gives way).
        self.globals.reserve(p for params in graph.block_params.values() for p in params)
        self.blocks: dict[str, _BlockClass] = {}
        self.traces: dict[Group, _Trace] = {}
        self.uses: dict[str, list[Group]] = {}
        for group in graph.groups.values():
            if group.block is not None:
                self.uses.setdefault(group.block, []).append(group)
        self.shapes: dict[str, Shape | None] = {INPUT: graph.input_shape}
        for layer in graph.layers():
            self.shapes |= zip(layer.output_names, layer.outputs, strict=True)

    def consumers(self, output: str) -> list[str]:
        return self.graph.consumers(output)

    def _input_sizes(self, block: str, shapes: Sequence[Shape | None]) -> dict[str, Any]:
        """What a block's class is given about its inputs: the channels of each, and the
        sizes its expressions read (``in_features``)."""
        known = [shape for shape in shapes if shape is not None]
        assert len(known) == len(shapes)  # the spec was checked
        sizes = {channels_of_input(k): shape.dims[0] for k, shape in enumerate(known)}
        if INPUT_FEATURES in self.graph.block_reads.get(block, ()):
            sizes[INPUT_FEATURES] = known[0].dims[-1]
        return sizes

    # concrete: the top-level class

    def concrete_module(self, node: Node) -> Expr | None:
        if isinstance(node, Layer):
            assert node.kind is not None and node.args is not None
            return _layer_module(node.kind, node.args, node.input_shapes)
        if node.block is not None:
            block = self.block(node.block)
            sizes = self._input_sizes(node.block, [self.shapes[i] for i in node.inputs])
            return self._block_call(block, sizes, node.parameters)
        copies = [self.concrete_module(copy) for copy in node.body]
        return call("nn.Sequential", *_modules(copies))

    def _block_call(
        self, block: _BlockClass, sizes: dict[str, Any], params: dict[str, Any]
    ) -> Expr:
        (_, in_channels), *others = sizes.items()
        keywords = [Keyword(name, _argument(size)) for name, size in others]
        keywords += [
            Keyword(key, _argument(given))
            for key, given in params.items()
            if block.parameters.get(key) is None
            or expr.is_traced(given)
            or given != block.parameters[key]
        ]
        return call(block.cls, _argument(in_channels), *keywords)

    # traced: the classes of blocks

    def block(self, block_name: str) -> _BlockClass:
        if block_name not in self.blocks:
            self.blocks[block_name] = self._block_class(block_name)
        return self.blocks[block_name]

    def trace(self, use: Group) -> _Trace:
        """The use's layers with its input's channels as ``in_channels`` and the block's
        parameters as themselves."""
        if use in self.traces:
            return self.traces[use]
        assert use.block is not None
        found = _Trace()
        given = [self.shapes[source] for source in use.inputs]
        sizes = self._input_sizes(use.block, given)
        for index, (source, shape) in enumerate(zip(use.inputs, given, strict=True)):
            assert shape is not None
            dims = list(shape.dims)
            if index == 0 and INPUT_FEATURES in sizes and len(dims) > 1:
                dims[-1] = expr.traced(sizes[INPUT_FEATURES], expr.Name(INPUT_FEATURES))
            channels = channels_of_input(index)
            dims[0] = expr.traced(sizes[channels], expr.Name(channels))
            found.shapes[source] = Shape(tuple(dims), dtype=shape.dtype)
        for node in use.body:
            self._visit(node, use.block, found)
        found.output = found.shapes[use.output_name]
        self.traces[use] = found
        return found

    def _visit(self, node: Node, block_name: str, found: _Trace) -> None:
        if isinstance(node, Layer):
            assert node.kind is not None and node.args is not None
            args = node.args.model_copy(update=node.traced)
            inputs = [found.shapes[source] for source in node.inputs]
            inferred = node.kind.infer(args, inputs, Unreported(node.inputs))
            assert inferred.shape is not None
            outputs = (inferred.shape, *inferred.more)
            named = zip(node.output_names, outputs, strict=True)
            found.shapes |= {value: shape for value, shape in named if shape is not None}
            found.modules[node] = _layer_module(node.kind, args, inputs)
            return
        if node.block is None:  # a repeat: its copies, one after the other
            for copy in node.body:
                self._visit(copy, block_name, found)
            copies = _modules([found.modules[copy] for copy in node.body])
            count = node.traced.get("repeat")
            if count is None:
                found.modules[node] = call("nn.Sequential", *copies)
                return
            # A count the class computes: the copies after the first must be one module.
            first, *rest = copies
            if not rest or any(copy.flat() != rest[0].flat() for copy in rest):
                why = (
                    "this use makes one copy, so the class cannot know the others"
                    if not rest
                    else f"the copies differ ({rest[0].flat()} and {rest[-1].flat()})"
                )
                raise CompileError(
                    f"block {block_name}: repeat: {count.render()} is an expression, so the "
                    f"copies after the first must be one module, but {why}; write the count "
                    "as a number or repeat a block",
                    node.position,
                )
            if first.flat() == rest[0].flat():
                found.modules[node] = call("nn.Sequential", Repeated(first, count.render()))
            else:
                others = Repeated(rest[0], f"{count.render()} - 1")
                found.modules[node] = call("nn.Sequential", first, others)
            return
        inner = self.block(node.block)
        sizes = self._input_sizes(node.block, [found.shapes[i] for i in node.inputs])
        params = {**node.parameters, **node.traced}
        found.modules[node] = self._block_call(inner, sizes, params)
        inner_trace = self.trace(node)
        environment = {k: v for k, v in inner.parameters.items() if v is not None}
        environment |= {**params, **sizes}
        for value in node.output_names:
            found.shapes[value] = _rebind(inner_trace.shapes[value], environment)

    def _block_class(self, block_name: str) -> _BlockClass:
        parameters = self.graph.block_params[block_name]
        uses = self.uses[block_name]
        traces = [self.trace(use) for use in uses]
        representative = uses[0]
        self._one_class(block_name, uses, traces)

        def module(node: Node) -> Expr | None:
            return traces[0].modules[node]

        def comment(node: Node, index: int) -> str:
            """``(N, channels, 56, 56)``: each dim as the class computes it where every use
            agrees, else ``·``."""
            path = _path(representative.body, node)
            shapes = [
                trace.shapes[_at(use.body, path).output_names[index]]
                for use, trace in zip(uses, traces, strict=True)
            ]
            dims = [
                texts.pop() if len(texts := {_text(s.dims[i]) for s in shapes}) == 1 else "·"
                for i in range(shapes[0].rank)
            ]
            return "(" + ", ".join(["N", *dims]) + ")"

        cls = self.globals.claim(class_name(block_name))
        representative_shapes = [self.shapes[source] for source in representative.inputs]
        required = [p for p, default in parameters.items() if default is None]
        optional = [p for p, default in parameters.items() if default is not None]
        given = representative.parameters

        def annotation(p: str) -> str:
            value = parameters[p] if parameters[p] is not None else given.get(p)
            return "float" if isinstance(value, float) else "int"

        signature = [
            *(f"{size}: int" for size in self._input_sizes(block_name, representative_shapes)),
            *(f"{p}: {annotation(p)}" for p in required),
            *(f"{p}: {annotation(p)} = {literal(parameters[p])}" for p in optional),
        ]
        described = ", ".join([*required, *(f"{p}={parameters[p]}" for p in optional)])
        level = Level(
            representative.body, module, comment, representative.inputs, representative.taps
        )
        lines = _class(
            cls, f"The block {block_name}({described}).", signature, level, self.consumers
        )
        return _BlockClass(block_name, cls, lines, dict(parameters))

    @staticmethod
    def _one_class(block_name: str, uses: list[Group], traces: list[_Trace]) -> None:
        """Every use must get the same modules from the class: a size that differs between
        uses and is no expression of the block's parameters cannot be one class."""
        first, first_trace = uses[0], traces[0]
        for use, trace in zip(uses[1:], traces[1:], strict=True):
            for mine, theirs in zip(_nodes(first.body), _nodes(use.body), strict=True):
                ours, others = first_trace.modules[mine], trace.modules[theirs]
                if (ours and ours.flat()) != (others and others.flat()):
                    raise CompileError(
                        f"block {block_name} cannot be one class: its layer '{mine.local}' is "
                        f"{ours.flat() if ours else None} in '{first.name}' but "
                        f"{others.flat() if others else None} in '{use.name}'; write the sizes "
                        "that differ as expressions of the block's parameters",
                        mine.position,
                    )


def _kept_arguments(nodes: Sequence[Node]) -> dict[str, str]:
    """The constructor arguments ``forward`` reads (an operation's size written as a block
    parameter), each kept as an attribute named like it unless a layer has that name."""
    taken = {node.local for node in nodes}
    read = sorted(
        {
            word
            for node in nodes
            if _is_expression(node)
            for value in node.traced.values()  # type: ignore[union-attr]
            for item in (value if isinstance(value, tuple) else (value,))
            if expr.is_traced(item)
            for word in expr.names(item.tree)
        }
    )
    kept = {}
    for argument in read:
        attribute = argument
        while attribute in taken:
            attribute += "_"
        kept[argument] = attribute
        taken.add(attribute)
    return kept


def _renamed(traced: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    def rename(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(rename(item) for item in value)
        if isinstance(value, expr.Traced):
            return expr.Traced(int(value), expr.renamed(value.tree, names))
        if isinstance(value, expr.TracedFloat):
            return expr.TracedFloat(float(value), expr.renamed(value.tree, names))
        return value

    return {key: rename(value) for key, value in traced.items()}


def _layer_module(
    kind: LayerKind[Any], args: LayerArgs, inputs: Sequence[Shape | None]
) -> Expr | None:
    """What ``__init__`` holds for a layer: its module, its own tensor, or nothing."""
    if kind.torch_class is not None:
        return module_call(kind.torch_call(args, [shape for shape in inputs if shape is not None]))
    learned = kind.learned(args)
    return learned_source(learned) if learned is not None else None


def _modules(expressions: list[Expr | None]) -> list[Expr]:
    """The modules of a repeat's copies (a copy is never an expression kind alone: those
    join several inputs, and a copy reads one)."""
    assert all(expression is not None for expression in expressions)
    return [expression for expression in expressions if expression is not None]


def _dims(shape: Shape) -> tuple[int, ...]:
    """The sizes of a checked shape (all known)."""
    assert shape.known
    return tuple(dim for dim in shape.dims if dim is not None)


def _nodes(body: Sequence[Node]) -> list[Node]:
    """The nodes of a body and of its repeats of a fixed count, depth first (not inside block
    uses, which their own class compares, nor repeats the class counts, one module each)."""
    found: list[Node] = []
    for node in body:
        found.append(node)
        if isinstance(node, Group) and node.block is None and "repeat" not in node.traced:
            found += _nodes(node.body)
    return found


def _path(body: Sequence[Node], target: Node) -> list[int]:
    for index, node in enumerate(body):
        if node is target:
            return [index]
        if isinstance(node, Group) and (inner := _path(node.body, target)):
            return [index, *inner]
    return []


def _at(body: Sequence[Node], path: list[int]) -> Node:
    node = body[path[0]]
    for index in path[1:]:
        assert isinstance(node, Group)
        node = node.body[index]
    return node


def _module_class(graph: Graph) -> list[str]:
    generator = _Generator(graph)

    def comment(node: Node, index: int) -> str:
        shape = generator.shapes[node.output_names[index]]
        assert shape is not None
        return shape.batched()

    level = Level(list(graph.body), generator.concrete_module, comment)
    cls = generator.cls
    top = _class(cls, f"The {graph.name} network.", [], level, generator.consumers)
    # Making the top-level class made the classes of the blocks it uses, inner ones first.
    sections = [block.lines for block in generator.blocks.values()] + [top]
    lines = _header(graph, MODULE_IMPORTS)[:-1]
    for section in sections:
        lines += ["", "", *section]
    return lines + _main(cls, graph)


def generate(graph: Graph, module: bool = False) -> str:
    """The source of one file: ``nn.Sequential`` for a chain unless ``module``, else classes."""
    lines = _sequential(graph) if _as_sequential(graph, module) else _module_class(graph)
    return "\n".join(lines) + "\n"


def entry_name(graph: Graph, module: bool = False) -> str:
    """The name the file gives the network: its factory function (``lenet``) or its class
    (``FashionCnn``); with a suffix where the spec's name would clash (``print_``)."""
    if _as_sequential(graph, module):
        return Namespace(SEQUENTIAL_FILE_NAMES).claim(graph.name)
    return Namespace(CLASS_FILE_NAMES).claim(class_name(graph.name))


def entry_point(graph: Graph, module: bool = False) -> str:
    """What the file defines for the network: ``lenet() -> nn.Sequential`` or a class."""
    if _as_sequential(graph, module):
        return f"{entry_name(graph, module)}() -> nn.Sequential"
    return f"class {entry_name(graph, module)}(nn.Module)"


def _as_sequential(graph: Graph, module: bool) -> bool:
    return graph.is_chain() and not module
