"""The ``netspec`` command line: a thin layer over the library.

Exit codes: 0 clean, 1 a spec has errors (or data is missing, or training diverged, or stdout
could not be written), 2 usage error (bad flag, missing file, a special file as a spec, an output
that would replace an input), 3 internal error (a bug in netspec; the message says how to see
the traceback), 130 training interrupted by Ctrl-C or SIGTERM (a checkpoint was saved). Heavy
libraries (torch, torchvision, matplotlib) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from netspec.diagnostics import plural

if TYPE_CHECKING:
    from netspec.check import CheckedSpec

EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """A problem with how netspec was called rather than with a spec: exit code 2."""


def _console():
    from rich.console import Console

    # Piped output gets a fixed width so that tables do not wrap at 80 columns.
    width = None if sys.stdout.isatty() else 120
    return Console(file=sys.stdout, highlight=False, width=width)


def _readable_spec(path: str) -> Path:
    """A path that names a regular file (a pipe or a device could block or never end), or
    the example spec a name means (``lenet``)."""
    from netspec.examples import example_names, spec_path
    from netspec.spec.source import describe_file_type

    found = spec_path(path)
    try:
        mode = os.stat(found).st_mode
    except FileNotFoundError:
        names = example_names()
        shown = ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
        also = f", nor an example spec ({shown})" if names else ""
        raise UsageError(f"{path}: no such file{also}") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path}: is a directory, not a spec file")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path}: is {describe_file_type(mode)}, not a spec file")
    return found


def _check_spec(path: str) -> CheckedSpec:
    """Check a spec file; a path that cannot be read is a usage error."""
    from netspec.check import check_file

    try:
        return check_file(_readable_spec(path))
    except OSError as error:  # e.g. replaced by a pipe since _readable_spec looked
        raise UsageError(str(error)) from error


def _eprint(message: str) -> None:
    """A message on stderr, control characters escaped: a spec's text must not reach the
    terminal as commands (a retitled window, a cleared screen)."""
    from netspec.diagnostics import printable

    sys.stdout.flush()
    print(printable(message, newlines=True), file=sys.stderr, flush=True)


def cmd_check(args: argparse.Namespace) -> int:
    from netspec.diagnostics import printable_json
    from netspec.report import print_report, to_json, verdict

    console = _console()
    results = []
    usage_failed = False
    for path in args.specs:
        try:
            checked = _check_spec(path)
        except UsageError as error:
            _eprint(f"netspec check: error: {error}")
            usage_failed = True
            continue
        results.append(checked)
        if args.json:
            continue
        if not args.quiet:
            print_report(checked, console, args.depth)
        for diagnostic in checked.diagnostics:
            _eprint(str(diagnostic))
        if not args.quiet or not checked.ok:
            _eprint(verdict(checked))
        if not args.quiet and len(args.specs) > 1:
            console.print()
    if args.json:
        print(printable_json({"specs": [to_json(r) for r in results]}))
    if usage_failed:
        return EXIT_USAGE
    return EXIT_OK if all(r.ok for r in results) else EXIT_SPEC_ERRORS


def cmd_compile(args: argparse.Namespace) -> int:
    from netspec.backends.codegen import CompileError, entry_point, generate

    checked = _check_spec(args.spec)
    for diagnostic in checked.diagnostics:
        _eprint(str(diagnostic))
    if not checked.ok:
        _eprint(f"{checked.file}: not compiled: {plural(len(checked.errors), 'error')}")
        return EXIT_SPEC_ERRORS
    network = checked.valid_graph()
    try:
        source = generate(network, module=args.module)
    except CompileError as error:
        where = f"{checked.file}:{error.position}" if error.position else checked.file
        _eprint(f"{where}: not compiled: {error}")
        return EXIT_SPEC_ERRORS
    if args.output is None:
        sys.stdout.write(source)
        return EXIT_OK
    _write_output(Path(args.output), source, inputs=[args.spec])
    _eprint(f"wrote {args.output}: {entry_point(network, args.module)}")
    return EXIT_OK


GRAPHVIZ_INSTALL = (
    "Install Graphviz to render diagrams:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz"
)
DRAW_FORMATS = ("svg", "png", "pdf", "dot")


def _draw_target(args: argparse.Namespace) -> tuple[str, Path]:
    """The format and the output path, from --format, -o, or the spec's own name."""
    suffix = Path(args.output).suffix.lstrip(".").lower() if args.output else ""
    if args.format and args.output and suffix != args.format:
        raise UsageError(f"-o {args.output} does not end in .{args.format} (--format)")
    if args.output and not args.format and suffix not in DRAW_FORMATS:
        raise UsageError(
            f"cannot tell the format of {args.output}: use a name ending in "
            f"{', '.join('.' + f for f in DRAW_FORMATS)}, or --format"
        )
    fmt = args.format or suffix or "svg"
    return fmt, Path(args.output) if args.output else Path(args.spec).with_suffix(f".{fmt}")


def cmd_draw(args: argparse.Namespace) -> int:
    fmt, output = _draw_target(args)
    checked = _check_spec(args.spec)
    for diagnostic in checked.diagnostics:
        _eprint(str(diagnostic))
    if checked.graph is None:
        _eprint(f"{checked.file}: nothing to draw: the spec could not be read into layers")
        return EXIT_SPEC_ERRORS

    import graphviz

    from netspec.backends.diagram import diagram
    from netspec.limits import MAX_DIAGRAM_NODES
    from netspec.passes.collapse import shown_nodes

    nodes = len(shown_nodes(checked.graph, args.depth))
    if fmt != "dot" and nodes > MAX_DIAGRAM_NODES:
        _eprint(
            f"{checked.file}: not drawn: {nodes:,} nodes is more than Graphviz lays out in "
            f"reasonable time ({MAX_DIAGRAM_NODES:,}); draw blocks as one node with --depth, or "
            "write the graph with --format dot"
        )
        return EXIT_SPEC_ERRORS

    dot = diagram(checked, args.rankdir, 144 if fmt == "png" else 96, args.depth)
    status = EXIT_OK if checked.ok else EXIT_SPEC_ERRORS
    if fmt == "dot":
        _write_output(output, dot.source, inputs=[args.spec])
    else:
        try:
            rendered = dot.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            source = output.with_suffix(".dot")
            _write_output(source, dot.source, inputs=[args.spec])
            _eprint(
                f"wrote {source}, but not {output}: Graphviz's `dot` program was not found.\n"
                f"{GRAPHVIZ_INSTALL}\n"
                f"then run this command again, or: dot -T{fmt} {source} -o {output}"
            )
            return EXIT_SPEC_ERRORS
        except graphviz.CalledProcessError as error:
            stderr = error.stderr.decode(errors="replace") if error.stderr else ""
            _eprint(f"netspec draw: Graphviz failed: {stderr.strip() or error}")
            return EXIT_SPEC_ERRORS
        _write_output(output, rendered, inputs=[args.spec])
    failed = len({d.layer for d in checked.errors if d.layer})
    note = f" ({plural(failed, 'layer')} in red: see the errors above)" if failed else ""
    _eprint(f"wrote {output}{note}")
    return status


TRAIN_FLAGS = (
    "data", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "schedule", "seed", "loss",
    "val_split", "patience", "grad_clip", "momentum", "warmup", "resize", "label_smoothing",
)  # fmt: skip


def _training_command(name: str, action: Callable[[], int]) -> int:
    """Run ``train`` or ``eval``, turning their errors into messages and exit codes."""
    from netspec.diagnostics import SpecError
    from netspec.train.checkpoint import CheckpointError
    from netspec.train.config import ConfigError
    from netspec.train.datasets import DataError
    from netspec.train.device import DeviceError, ResourceError
    from netspec.train.distributed import DistributedError
    from netspec.train.rundir import RunDirError

    try:
        return action()
    except SpecError as error:
        for diagnostic in error.diagnostics:
            _eprint(str(diagnostic))
        return EXIT_SPEC_ERRORS
    except (ConfigError, DeviceError) as error:
        raise UsageError(str(error)) from error
    except (DataError, CheckpointError, RunDirError, ResourceError, DistributedError) as error:
        # Bad data, a bad checkpoint or spec value, a run directory in use or not writable,
        # not enough memory: the input or the machine, not the command line.
        _eprint(f"netspec {name}: {error}")
        return EXIT_SPEC_ERRORS


def cmd_train(args: argparse.Namespace) -> int:
    spec = _readable_spec(args.spec)
    if args.nproc is not None:  # before torch is imported: this process only waits
        return _start_processes(args.nproc, args.words)
    from netspec.train import train

    explicit = {
        flag
        for flag in (*TRAIN_FLAGS, "device", "data_dir", "max_steps", "save_every")
        if getattr(args, flag) is not None
    } | ({"tensorboard"} if args.tensorboard else set())

    def run() -> int:
        result = train(
            spec,
            {flag: getattr(args, flag) for flag in TRAIN_FLAGS},
            out=args.out,
            resume=args.resume,
            device=args.device or "auto",
            data_dir=args.data_dir,
            max_steps=args.max_steps,
            init_from=args.init_from,
            save_every=args.save_every,
            download=not args.no_download,
            console=_console(),
            explicit=explicit,
            tensorboard=args.tensorboard,
        )
        if result.message:
            _eprint(result.message)
        if result.status == "interrupted":
            return EXIT_INTERRUPTED
        return EXIT_OK if result.status == "finished" else EXIT_SPEC_ERRORS

    return _training_command("train", run)


def _start_processes(count: int, words: list[str]) -> int:
    """``netspec train … --nproc N``: the same command under torchrun, N processes on this
    machine (torchrun's own form, documented in docs/training.md, is the contract)."""
    import shlex
    import subprocess

    if os.environ.get("WORLD_SIZE"):
        raise UsageError("--nproc: already one of torchrun's processes; leave --nproc out")
    arguments = list(words)
    for index, word in enumerate(arguments):  # the command without --nproc N
        if word == "--nproc":
            del arguments[index : index + 2]
            break
        if word.startswith("--nproc="):
            del arguments[index]
            break
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={count}", "-m", "netspec", *arguments,
    ]  # fmt: skip
    shown = shlex.join(["python", *command[1:]])
    _eprint(f"netspec train: starting {count} processes on this machine: {shown}")
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # torchrun passes Ctrl-C on to its processes; they save
        return EXIT_INTERRUPTED


def cmd_eval(args: argparse.Namespace) -> int:
    from netspec.train import evaluate_checkpoint
    from netspec.train.evaluation import print_evaluation

    spec = _readable_spec(args.spec)

    def run() -> int:
        evaluation = evaluate_checkpoint(
            spec,
            args.checkpoint,
            args.data,
            data_dir=args.data_dir,
            device=args.device or "auto",
            download=not args.no_download,
        )
        if args.json:
            print(json.dumps(evaluation.to_json(), indent=2))
        else:
            print_evaluation(evaluation, _console(), f"{args.checkpoint} on the test set")
        return EXIT_OK

    return _training_command("eval", run)


def cmd_predict(args: argparse.Namespace) -> int:
    from netspec.diagnostics import printable_json
    from netspec.train.predict import ImageFileError, PredictError, predict, print_predictions

    spec = _readable_spec(args.spec)

    def run() -> int:
        try:
            predictions = predict(
                spec, args.checkpoint, args.images, top_k=args.top_k, device=args.device or "auto"
            )
        except ImageFileError as error:  # a missing or unreadable file: how it was called
            raise UsageError(str(error)) from error
        except PredictError as error:
            _eprint(f"netspec predict: {error}")
            return EXIT_SPEC_ERRORS
        for prediction in predictions:
            if prediction.image.conversion:
                _eprint(f"{prediction.image.path}: {prediction.image.conversion}")
        if args.json:
            print(printable_json([prediction.to_json() for prediction in predictions]))
        else:
            print_predictions(predictions, _console())
        return EXIT_OK

    return _training_command("predict", run)


def cmd_export(args: argparse.Namespace) -> int:
    from netspec.train.export import FORMATS, ExportError, default_output, export

    spec = _readable_spec(args.spec)
    output = Path(args.output) if args.output else default_output(args.checkpoint, args.format)
    if output.suffix.lower() != FORMATS[args.format]:
        raise UsageError(f"-o {output} does not end in {FORMATS[args.format]} (--format)")

    def run() -> int:
        try:
            exported = export(spec, args.checkpoint, args.format)
        except ExportError as error:
            _eprint(f"netspec export: {error}")
            return EXIT_SPEC_ERRORS
        _write_output(output, exported.data, inputs=[args.spec, args.checkpoint])
        _eprint(exported.summary(output))
        return EXIT_OK

    return _training_command("export", run)


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum}, got {value}")
        return value

    return parse


_depth = _whole_number(0)
_positive_int = _whole_number(1)


def _dataset_name(text: str) -> str:
    """A data set's name, or a path that exists (the user's own data)."""
    from netspec.spec.model import DATASETS

    if text not in DATASETS and not os.path.exists(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a data set ({', '.join(DATASETS)}) nor a file or folder"
        )
    return text


def _train_choices(setting: str) -> tuple[str, ...]:
    """The words a train: setting takes, read from the spec's model (one list, not two)."""
    from typing import get_args

    from netspec.spec.model import TrainConfig

    return get_args(TrainConfig.model_fields[setting].annotation)


def _add_checkpoint_arguments(command: argparse.ArgumentParser) -> None:
    """SPEC and --checkpoint: what eval, predict and export load."""
    command.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    command.add_argument("--checkpoint", required=True, metavar="PATH", help="best.pt or last.pt")


def _add_device_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--device", choices=("auto", "cpu", "cuda", "mps"), help="default: auto (cuda, mps, cpu)"
    )


def _add_data_arguments(command: argparse.ArgumentParser) -> None:
    from netspec.spec.model import DATASETS

    shown = ", ".join(DATASETS[:3])
    command.add_argument(
        "--data",
        metavar="DATA",
        help=f"a data set ({shown}, …: see `netspec data`) or the path of your own (an image "
        "folder, a .pt/.npz tensor file); default: the spec's train.data",
    )
    command.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the data set's files are (also: $NETSPEC_DATA); see docs/training.md",
    )
    _add_device_argument(command)
    command.add_argument(
        "--no-download", action="store_true", help="never download a missing data set"
    )


def cmd_data(args: argparse.Namespace) -> int:
    from netspec.train.catalog import DATASETS, find, not_found_message

    found_all = True
    for name in args.names or list(DATASETS):
        if name not in DATASETS:  # a path: the user's own data
            found_all &= _describe_own_data(Path(name))
            continue
        dataset = DATASETS[name]
        directory, tried = find(dataset, args.data_dir)
        if directory is not None:
            shape = "×".join(map(str, dataset.shape))
            print(f"{name}: {directory} ({shape}, {dataset.num_classes} classes)")
            continue
        found_all = False
        print(not_found_message(dataset, tried, data_dir=args.data_dir))
        if not (args.data_dir or os.environ.get("NETSPEC_DATA")):  # else nothing downloads
            print("(netspec train downloads it there when this machine has internet access)")
    return EXIT_OK if found_all else EXIT_SPEC_ERRORS


def _describe_own_data(path: Path) -> bool:
    """Print what a folder or tensor file holds; False (and why) when it cannot be read."""
    from netspec.train.own_data import describe_own
    from netspec.train.split import DataError

    try:
        print(describe_own(path))
    except DataError as error:
        _eprint(f"netspec data: {error}")
        return False
    return True


def cmd_schema(args: argparse.Namespace) -> int:
    from netspec.spec.schema import spec_schema

    text = json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        _write_output(Path(args.output), text)
        _eprint(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_completion(args: argparse.Namespace) -> int:
    from netspec.completion import SHELLS

    sys.stdout.write(SHELLS[args.shell](build_parser()))
    return EXIT_OK


def _write_output(path: Path, data: str | bytes, inputs: Sequence[str] = ()) -> None:
    """Write an output file atomically, never over the command's own input or over a YAML
    file (a spec, perhaps: `-o` is easily mistyped)."""
    from netspec.files import write_atomically

    for source in inputs:
        with contextlib.suppress(OSError):  # a missing path or a link loop: write says
            if os.path.samefile(path, source):
                raise UsageError(f"-o {path} is the spec being read ({source}): not replacing it")
    if path.suffix.lower() in (".yaml", ".yml") and path.exists():
        raise UsageError(
            f"-o {path}: not replacing a YAML file (perhaps a spec); choose another name, or "
            "remove it first"
        )
    try:
        write_atomically(path, data)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from error


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with EXIT_USAGE through our own handling."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    from netspec import __version__

    parser = _Parser(
        prog="netspec",
        description="Declarative neural networks for PyTorch: check, compile, draw, train.",
    )
    parser.add_argument("--version", action="version", version=f"netspec {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser(
        "check",
        help="validate specs and show every layer's output shape, params and MACs",
        description="Validate specs and infer every layer's shape without running a tensor.",
    )
    check.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML)")
    check.add_argument("--json", action="store_true", help="print machine-readable JSON")
    check.add_argument(
        "-q", "--quiet", action="store_true", help="print only problems, no layer tables"
    )
    check.add_argument(
        "--depth",
        type=_depth,
        metavar="N",
        help="show blocks nested deeper than N as one row (0: top-level entries only)",
    )
    check.set_defaults(handler=cmd_check)

    compile_ = commands.add_parser(
        "compile",
        help="write the spec as readable PyTorch source",
        description=(
            "Compile a spec into one self-contained PyTorch file: an nn.Sequential factory for "
            "a chain, an nn.Module class for a graph. Run the file to print the model and "
            "check one forward pass."
        ),
    )
    compile_.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    compile_.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    compile_.add_argument(
        "--module", action="store_true", help="an nn.Module class even for a chain"
    )
    compile_.set_defaults(handler=cmd_compile)

    draw = commands.add_parser(
        "draw",
        help="render a diagram with the tensor size on every edge (Graphviz)",
        description=(
            "Draw the network: a node per layer with its key hyperparameters and parameter "
            "count, tensor sizes on the edges. A spec with errors is drawn too, its failing "
            "layers in red (the exit status is then 1)."
        ),
    )
    draw.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    draw.add_argument(
        "-o", "--output", metavar="FILE", help="output file (default: the spec's name, .svg)"
    )
    draw.add_argument("--format", choices=DRAW_FORMATS, help="default: from -o, else svg")
    draw.add_argument(
        "--depth",
        type=_depth,
        metavar="N",
        help="draw blocks nested deeper than N as one node (0: top-level entries only)",
    )
    draw.add_argument(
        "--rankdir",
        choices=("TB", "LR"),
        default="TB",
        help="top to bottom (default) or left to right",
    )
    draw.set_defaults(handler=cmd_draw)

    train = commands.add_parser(
        "train",
        help="train the spec on a data set or on your own data",
        description=(
            "Train a spec. Its train: section gives the defaults; flags override them. The run "
            "directory gets config.json, metrics.csv/.json, last.pt, best.pt, report.json, "
            "curves.png and confusion.png. Ctrl-C saves a checkpoint; --resume continues it."
        ),
    )
    train.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    _add_data_arguments(train)
    train.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="passes over the training set (with --resume: more for a run without a schedule)",
    )
    train.add_argument(
        "--batch-size", type=_positive_int, metavar="B", help="images per training step"
    )
    train.add_argument(
        "--lr", type=float, metavar="X", help="learning rate (the peak, with onecycle)"
    )
    train.add_argument("--optimizer", choices=_train_choices("optimizer"), help="optimizer")
    train.add_argument(
        "--weight-decay",
        type=float,
        metavar="X",
        help="L2 penalty on weights (not on biases and norms; default 0, 0.01 for adamw)",
    )
    train.add_argument(
        "--schedule", choices=_train_choices("schedule"), help="learning-rate schedule"
    )
    train.add_argument("--loss", choices=_train_choices("loss"), help="loss function")
    train.add_argument(
        "--seed", type=int, metavar="S", help="seed of the weights, the shuffling and the split"
    )
    train.add_argument(
        "--init-from",
        metavar="CKPT",
        help="start from the weights of a checkpoint (fine-tuning); a new run, not --resume",
    )
    train.add_argument(
        "--momentum", type=float, metavar="M", help="SGD's momentum (0 ≤ M < 1; default 0)"
    )
    train.add_argument(
        "--warmup",
        type=float,
        metavar="E",
        help="epochs (a fraction allowed) of linear learning-rate warmup before the schedule",
    )
    train.add_argument(
        "--label-smoothing",
        type=float,
        metavar="X",
        help="cross-entropy label smoothing (0 ≤ X < 1; default 0)",
    )
    train.add_argument(
        "--resize",
        action="store_const",
        const=True,
        help="resize the images (and convert grey ↔ RGB) to the spec's input, once",
    )
    train.add_argument(
        "--nproc",
        type=_positive_int,
        metavar="N",
        help="train in N processes on this machine: runs this command under torchrun "
        "(DistributedDataParallel; batch size per process)",
    )
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log to TensorBoard in the run directory (needs the tensorboard package)",
    )
    train.add_argument(
        "--patience",
        type=_positive_int,
        metavar="N",
        help="stop early when the validation accuracy has not improved for N epochs",
    )
    train.add_argument(
        "--grad-clip",
        type=float,
        metavar="X",
        help="clip the gradients' total norm to X before each step",
    )
    train.add_argument(
        "--val-split",
        type=float,
        metavar="F",
        help="fraction of the training set held out to choose best.pt (default 0.1); the test "
        "set is evaluated once, at the end",
    )
    train.add_argument(
        "--out", metavar="DIR", help="run directory (default: runs/<spec>-<date>-<time>)"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out (default: the latest run of this spec)",
    )
    train.add_argument(
        "--max-steps", type=_positive_int, metavar="N", help="stop after N training steps"
    )
    train.add_argument(
        "--save-every",
        type=_positive_int,
        metavar="N",
        help=(
            "also write last.pt every N training steps, so a killed run resumes from there "
            "(default: only at the end of each epoch and on Ctrl-C)"
        ),
    )
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser(
        "eval",
        help="test a saved model: accuracy, per class, confusion matrix",
        description="Evaluate a checkpoint of a spec on a data set's test split.",
    )
    _add_checkpoint_arguments(evaluate)
    _add_data_arguments(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print machine-readable JSON")
    evaluate.set_defaults(handler=cmd_eval)

    predict = commands.add_parser(
        "predict",
        help="classify image files with a saved model: the most probable classes",
        description=(
            "Classify PNG, JPEG, GIF or WebP files with a checkpoint of a spec: each image is "
            "converted to the spec's input (grey or RGB, resized when its size differs), "
            "normalised as in training, and its most probable classes printed."
        ),
    )
    _add_checkpoint_arguments(predict)
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, GIF or WebP files")
    predict.add_argument(
        "--top-k",
        type=_positive_int,
        default=5,
        metavar="K",
        help="how many classes to show per image (default 5; at most every class)",
    )
    predict.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_device_argument(predict)
    predict.set_defaults(handler=cmd_predict)

    export = commands.add_parser(
        "export",
        help="write a saved model as ONNX or a torch.export program, normalisation inside",
        description=(
            "Export a checkpoint of a spec for deployment: the model with its input "
            "normalisation inside, reading float32 images N×C×H×W in [0, 1] (any batch size) "
            "and returning logits; the class names travel in the file's metadata."
        ),
    )
    _add_checkpoint_arguments(export)
    export.add_argument(
        "--format",
        required=True,
        choices=("onnx", "torch-export"),
        help="onnx (.onnx, needs netspec[export]) or torch-export (.pt2, torch.export.load)",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output file (default: the checkpoint's name with .onnx or .pt2, beside it)",
    )
    export.set_defaults(handler=cmd_export)

    data = commands.add_parser(
        "data",
        help="show where each data set is found (or how to get it), or what your own data holds",
        description="Show where netspec finds each data set, or what a folder or tensor file "
        "of your own holds; exit 1 if one is missing or cannot be read.",
    )
    data.add_argument(
        "names",
        nargs="*",
        metavar="NAME|PATH",
        type=_dataset_name,
        help="data sets, or your own data (default: all data sets)",
    )
    data.add_argument("--data-dir", metavar="DIR", help="look here first (also: $NETSPEC_DATA)")
    data.set_defaults(handler=cmd_data)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of spec files (for editors)",
        description="Print the JSON Schema of netspec specs, for yaml-language-server and others.",
    )
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    schema.set_defaults(handler=cmd_schema)

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description=(
            "Print netspec's completion script for a shell: commands, flags, spec files and "
            'the example specs by name. bash: eval "$(netspec completion bash)"; zsh: the '
            "same with zsh; fish: netspec completion fish | source."
        ),
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    completion.set_defaults(handler=cmd_completion)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        args = build_parser().parse_args(words)
        args.words = words  # as given: `train --nproc` passes them on to torchrun
        handler: Callable[[argparse.Namespace], int] = args.handler
        status = handler(args)
        sys.stdout.flush()  # here, where a failure to write is caught, not at exit
        return status
    except UsageError as error:
        _eprint(str(error) if str(error).startswith("netspec") else f"netspec: error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _eprint("netspec: interrupted")
        return 130
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from complaining
        # about the closed pipe when it flushes stdout at exit.
        _discard_stdout()
        return EXIT_OK
    except OSError as error:  # stdout on a full disk (or /dev/full), a vanished terminal
        _discard_stdout()
        _eprint(f"netspec: cannot write the output: {error.strerror or error}")
        return EXIT_SPEC_ERRORS
    except Exception as error:  # the last line of defence: never a traceback
        if os.environ.get("NETSPEC_DEBUG"):
            raise
        _eprint(
            f"netspec: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in netspec. Run again with NETSPEC_DEBUG=1 to see the traceback, "
            "and please report it."
        )
        return EXIT_INTERNAL


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit finds nothing to fail on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
