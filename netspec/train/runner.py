"""The training loop every spec shares: ``netspec train`` and ``netspec eval``.

A run directory holds ``config.json`` (the resolved configuration), ``metrics.csv`` and
``metrics.json`` (one row per epoch), ``last.pt`` and ``best.pt`` (checkpoints, written
atomically), ``report.json`` (final test accuracy, per class, confusion matrix) and the plots
``curves.png`` and ``confusion.png``.

A run can stop three ways besides finishing: Ctrl-C (a checkpoint of the exact position is
saved; ``--resume`` continues as if nothing happened), a loss that is no longer finite (the run
stops, the last good checkpoint stays), or ``max_steps``. With ``save_every`` a checkpoint of
the exact position is also written every N steps, so even a killed run resumes from there.

A run holds the lock of its directory while it runs (``rundir.locked``); a second run of the
same directory is refused.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import shlex
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own spelling
from rich.console import Console

import netspec
from netspec.check import CheckedSpec, load
from netspec.diagnostics import plural
from netspec.files import write_atomically
from netspec.ir import Graph
from netspec.shapes import format_dims
from netspec.spec.model import TrainConfig
from netspec.train import checkpoint, sources
from netspec.train.augment import Augmenter, batch_generator
from netspec.train.batches import Batches
from netspec.train.board import Board
from netspec.train.catalog import DATASETS
from netspec.train.checkpoint import METRIC_FIELDS, CheckpointError, Position
from netspec.train.config import (
    ConfigError,
    RunConfig,
    data_argument,
    parse_run_config,
    resolve,
    resumed,
)
from netspec.train.device import (
    Device,
    ResourceError,
    available_memory,
    is_out_of_memory,
    select,
)
from netspec.train.distributed import ONE, DistributedError, Processes, join
from netspec.train.evaluation import Evaluation, evaluate, print_evaluation
from netspec.train.plots import plot_confusion, plot_curves
from netspec.train.progress import EpochProgress
from netspec.train.rundir import RunDirError, locked, remove_stale_temporaries
from netspec.train.split import DataError, Split

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "nll": F.nll_loss,
    "mse": lambda outputs, labels: F.mse_loss(
        outputs, F.one_hot(labels, outputs.shape[1]).to(outputs.dtype)
    ),
}


def _training_loss(
    name: str, label_smoothing: float
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss trained on: the named one, with cross-entropy's label smoothing when asked
    (TrainConfig allows smoothing and mixed targets with cross_entropy only)."""
    if label_smoothing:
        return partial(F.cross_entropy, label_smoothing=label_smoothing)
    return LOSSES[name]


def _check_crop_sizes(settings: TrainConfig, wanted: tuple[int, ...]) -> None:
    """A random crop of another size than the input would train on images of a size the
    validation and test images (and the spec) do not have."""
    for step in settings.augment:
        size = getattr(step, "size", None)
        if size is None:
            continue
        crop = (size, size) if isinstance(size, int) else tuple(size)
        if crop != wanted[1:]:
            raise ConfigError(
                f"train.augment: {step.name} size {format_dims(crop)} differs from the spec's "
                f"input, {format_dims(wanted[1:])}: the network would train on images of "
                "another size than it is validated and tested on (leave size out: the crop is "
                "then the input's size)"
            )


class Callback(Protocol):
    """Called after every training step (e.g. to log, or to stop the run)."""

    def __call__(self, run: Run) -> None: ...


@dataclass
class RunResult:
    run_dir: Path
    status: Literal["finished", "interrupted", "diverged"]
    history: list[dict[str, Any]] = field(default_factory=list)
    final: Evaluation | None = None
    message: str = ""


def fits_classes(network: Graph, classes: Sequence[str], data: str) -> None:
    """The spec's output must have one value per class of the data."""
    produced = network.output_shape
    assert produced is not None  # a checked network's shapes are known
    count = len(classes)
    if produced.dims != (count,):
        raise DataError(
            f"spec output is {format_dims(produced.dims)} but {sources.describe(data)} has "
            f"{count} classes: end with a layer of {count} outputs (e.g. `- linear: {count}`)"
        )


def input_dims(network: Graph) -> tuple[int, ...]:
    """The spec's input sizes, without the batch (always known: the spec states them)."""
    assert network.input_shape is not None
    return tuple(d for d in network.input_shape.dims if d is not None)


def _convolutional(network: Graph) -> bool:
    return any(layer.kind_name == "conv2d" for layer in network.layers())


def optimizer_for(
    model: torch.nn.Module, config: RunConfig, device: Device
) -> torch.optim.Optimizer:
    settings = config.settings
    kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    arguments: dict[str, Any] = {"lr": settings.lr}
    if settings.optimizer == "sgd":
        arguments["momentum"] = settings.momentum
    groups = parameter_groups(model, _weight_decay(settings.optimizer, settings.weight_decay))
    # Fused kernels update every parameter in one pass: on CPU a step of Adam is ~25 % faster.
    try:
        return kinds[settings.optimizer](groups, fused=device.type != "mps", **arguments)
    except (RuntimeError, TypeError, ValueError):
        return kinds[settings.optimizer](groups, **arguments)


def _weight_decay(optimizer: str, given: float | None) -> float:
    """The spec's weight decay, or the optimizer's own default (AdamW decays, the others not)."""
    if given is not None:
        return given
    return 0.01 if optimizer == "adamw" else 0.0


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay for the weights of convolutions and linears only: biases and the scales of
    normalisation layers (the parameters with fewer than 2 dims) are not decayed, as in
    nanoGPT and timm. One group when nothing decays."""
    if weight_decay == 0:
        return [{"params": list(model.parameters()), "weight_decay": 0.0}]
    decayed = [p for p in model.parameters() if p.dim() >= 2]
    kept = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decayed, "weight_decay": weight_decay}]
    return groups + ([{"params": kept, "weight_decay": 0.0}] if kept else [])


class WarmupThen:
    """The learning-rate factor of step ``s``: a linear rise over ``warmup`` steps, then
    constant or cosine annealing to 0 by ``total`` steps (CosineAnnealingLR's curve). A class,
    not a lambda, so that LambdaLR saves its settings with the checkpoint."""

    def __init__(self, warmup: int, total: int, cosine: bool) -> None:
        self.warmup, self.total, self.cosine = warmup, total, cosine

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if not self.cosine:
            return 1.0
        progress = (step - self.warmup) / max(self.total - self.warmup, 1)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def _scheduler(
    optimizer: torch.optim.Optimizer, config: RunConfig, total_steps: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    settings = config.settings
    schedule = settings.schedule
    warmup = min(round(settings.warmup * steps_per_epoch), total_steps)
    if schedule == "onecycle":  # warms up by itself; TrainConfig refuses warmup with it
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=settings.lr, total_steps=total_steps
        )
    if warmup > 0:
        cosine = schedule == "cosine"
        # Without a schedule the total does not matter: 0 keeps a run extensible (--epochs).
        factor = WarmupThen(warmup, total_steps if cosine else 0, cosine)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def _too_large(parameters: int) -> str:
    return (
        f"not enough memory to build the model: {parameters:,} parameters "
        f"({parameters * 4 / 2**30:,.1f} GiB as float32)"
    )


def check_memory(checked: CheckedSpec) -> None:
    """Refuse a model whose float32 weights alone exceed the memory left: the parameter count
    is known before anything is allocated, so this costs nothing."""
    parameters = checked.valid_graph().total_params
    assert parameters is not None  # a checked spec's counts are known
    available = available_memory()
    if available is not None and parameters * 4 > available:
        raise ResourceError(_too_large(parameters))


TEST_BATCH = 1000  # evaluation holds no gradients: large batches are cheap


@dataclass
class Ready:
    """What training and evaluation both start from: the device, the data, the input
    normalisation and the model on the device."""

    device: Device
    split: Split
    normalization: dict[str, list[float]]
    model: torch.nn.Module
    processes: Processes = ONE

    def batches(self, images: torch.Tensor, labels: torch.Tensor, size: int) -> Batches:
        """Batches of ``size`` images per process; this process's slice of each."""
        shard = (self.processes.rank, self.processes.world_size)
        return Batches(
            images, labels, size, self.normalization["mean"], self.normalization["std"],
            self.device.device, self.device.channels_last, shard,
        )  # fmt: skip


def set_up(
    checked: CheckedSpec,
    data: str,
    data_dir: str | None,
    device: str,
    download: bool,
    *,
    resize: bool = False,
    normalization: dict[str, Any] | None = None,
    seed: int | None = None,
    processes: Processes = ONE,
) -> Ready:
    """Check the network fits the data and the memory, choose the device, read the data and
    build the model (after seeding, when ``seed`` is given, so a seed gives the same initial
    weights). ``normalization`` is a checkpoint's, unless the data has other channels."""
    network = checked.valid_graph()
    wanted = input_dims(network)
    sources.check_input(data, wanted, resize)  # before the data is read
    if sources.is_named(data):
        fits_classes(network, DATASETS[data].classes, data)
    check_memory(checked)
    chosen = select(device, _convolutional(network), processes.local_world_size)
    split = sources.load_data(data, data_dir, download, wanted, resize)
    fits_classes(network, split.classes, data)
    if normalization is None or len(normalization["mean"]) != len(split.mean):
        normalization = {"mean": split.mean, "std": split.std}
    if seed is not None:
        torch.manual_seed(seed)
    model = build_model(checked, chosen.device)
    if chosen.channels_last:
        model = model.to(memory_format=torch.channels_last)
    values = {key: [float(v) for v in numbers] for key, numbers in normalization.items()}
    return Ready(chosen, split, values, model, processes)


def build_model(checked: CheckedSpec, device: torch.device) -> torch.nn.Module:
    """The spec's model on ``device``; a ResourceError, not a crash, when it cannot fit."""
    check_memory(checked)
    try:
        return netspec.build(checked).to(device)
    except (RuntimeError, MemoryError, TypeError, OverflowError) as error:
        if is_out_of_memory(error):
            raise ResourceError(_too_large(checked.valid_graph().total_params or 0)) from error
        raise


def _dims(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) if tensor.ndim else "a scalar"


def check_weights(saved: dict[str, torch.Tensor], model: torch.nn.Module, where: str) -> None:
    """A checkpoint's weights must be the model's: the same names, shapes and dtypes."""
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in saved:
            raise CheckpointError(f"{where}: weight '{name}' is missing")
        found = saved[name]
        if found.shape != tensor.shape:
            raise CheckpointError(
                f"{where}: weight '{name}' is {_dims(found)} in the checkpoint, "
                f"{_dims(tensor)} in the spec"
            )
        if found.dtype != tensor.dtype:
            raise CheckpointError(
                f"{where}: weight '{name}' is {found.dtype} in the checkpoint, "
                f"{tensor.dtype} in the spec"
            )
    for name in saved:
        if name not in expected:
            raise CheckpointError(f"{where}: unexpected weight '{name}'")


# The per-parameter state each optimizer keeps ('step' is a scalar, the rest weight-shaped).
OPTIMIZER_STATE = {
    "adam": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "adamw": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "sgd": {"momentum_buffer"},
}


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _check_param_groups(saved: Any, template: list[dict[str, Any]]) -> None:
    """Saved hyperparameters must have the fresh optimizer's keys and kinds of values, and
    numbers must be finite and ≥ 0 (a learning rate of NaN trains nothing)."""
    if len(saved) != len(template):
        raise ValueError(f"param_groups: expected {len(template)} group(s), got {len(saved)}")
    for index, (group, fresh) in enumerate(zip(saved, template, strict=True)):
        where = f"param_groups[{index}]"
        if missing := [key for key in fresh if key not in group]:
            raise ValueError(f"{where}: missing '{missing[0]}'")
        if extra := [str(key) for key in group if key not in fresh]:
            raise ValueError(f"{where}: unexpected '{extra[0]}'")
        for key, expected in fresh.items():
            value = group[key]
            problem = ""
            if key == "params":
                problem = "" if value == expected else f"the parameters {expected}"
            elif isinstance(expected, bool) or expected is None:
                problem = "" if value is None or isinstance(value, bool) else "true or false"
            elif isinstance(expected, int | float):
                ok = _is_number(value) and value >= 0
                problem = "" if ok else "a finite number ≥ 0"
            elif isinstance(expected, tuple | list):
                ok = (
                    isinstance(value, tuple | list)
                    and len(value) == len(expected)
                    and all(_is_number(v) and v >= 0 for v in value)
                )
                problem = "" if ok else f"{len(expected)} finite numbers ≥ 0"
            elif type(value) is not type(expected):
                problem = f"a {type(expected).__name__}"
            if problem:
                raise ValueError(
                    f"{where}.{key}: expected {problem}, got {checkpoint.describe(value)}"
                )


def _check_optimizer_state(
    saved: dict[Any, Any], parameters: list[torch.nn.Parameter], kind: str, steps: int
) -> None:
    allowed = OPTIMIZER_STATE[kind]
    if kind != "sgd" and steps > 0 and not saved:
        raise ValueError(f"state: empty, but the run has taken {steps} step(s)")
    for index, entry in saved.items():
        if not 0 <= index < len(parameters):
            raise ValueError(
                f"state: parameter {index} does not exist (the model has {len(parameters)})"
            )
        parameter = parameters[index]
        for key, value in entry.items():
            where = f"state.{index}.{key}"
            if key not in allowed:
                raise ValueError(f"{where}: not part of {kind}'s state")
            if key == "momentum_buffer" and value is None:
                continue
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise ValueError(
                    f"{where}: expected a floating-point tensor, got {checkpoint.describe(value)}"
                )
            shape = () if key == "step" else tuple(parameter.shape)
            if tuple(value.shape) != shape:
                raise ValueError(f"{where}: expected shape {list(shape)}, got {list(value.shape)}")
            if key == "step" and float(value) < 0:
                raise ValueError(f"{where}: must be ≥ 0, got {float(value):g}")


# Scheduler fields that change as it steps; the others follow from the settings.
SCHEDULER_PROGRESS = {"last_epoch", "_step_count", "_last_lr", "_is_initial",
                      "_get_lr_called_within_step"}  # fmt: skip


def _check_scheduler(saved: dict[str, Any], template: dict[str, Any], steps: int) -> None:
    if missing := [key for key in template if key not in saved]:
        raise ValueError(f"missing '{missing[0]}'")
    if extra := [str(key) for key in saved if key not in template]:
        raise ValueError(f"unexpected '{extra[0]}'")
    for key, expected in template.items():
        if key not in SCHEDULER_PROGRESS and saved[key] != expected:
            raise ValueError(
                f"{key}: expected {expected!r} (from the run's settings), got "
                f"{checkpoint.describe(saved[key])}"
            )
    for key, value in (("last_epoch", steps), ("_step_count", steps + 1)):
        if saved[key] != value or type(saved[key]) is not int:
            raise ValueError(
                f"{key}: expected {value} (the run's step count), got "
                f"{checkpoint.describe(saved[key])}"
            )
    rates = saved["_last_lr"]
    if not (
        isinstance(rates, list)
        and len(rates) == len(template["_last_lr"])
        and all(_is_number(rate) and rate >= 0 for rate in rates)
    ):
        raise ValueError(f"_last_lr: expected finite numbers ≥ 0, got {checkpoint.describe(rates)}")
    for key in ("_is_initial", "_get_lr_called_within_step"):
        if key in saved and not isinstance(saved[key], bool):
            raise ValueError(
                f"{key}: expected true or false, got {checkpoint.describe(saved[key])}"
            )


class _StopOnSignal:
    """First Ctrl-C, or a SIGTERM (a scheduler preempting the job, torchrun stopping its
    processes): finish the current step, save, stop. A second Ctrl-C: stop at once. A second
    SIGTERM is the same request again (torchrun sends one when another process has stopped):
    it never cuts a checkpoint short."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, console: Console, keep_after: bool = False) -> None:
        self.console = console
        self.requested = False
        # With several processes, a stopped process keeps ignoring SIGTERM until it exits, so
        # that torchrun's cannot cut rank 0's last words short.
        self.keep_after = keep_after

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGTERM:
            return
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        self.console.print(
            f"\n{what}: stopping after this step to save a checkpoint (Ctrl-C again to abort)"
        )

    @contextmanager
    def installed(self) -> Iterator[None]:
        try:
            previous = {signum: signal.signal(signum, self._handle) for signum in self.SIGNALS}
        except ValueError:  # not the main thread: no signals to catch
            yield
            return
        try:
            yield
        finally:
            for signum, handler in previous.items():
                ignored = self.keep_after and self.requested and signum == signal.SIGTERM
                signal.signal(signum, signal.SIG_IGN if ignored else handler)


class Run:
    """One training run of a checked spec."""

    def __init__(
        self,
        checked: CheckedSpec,
        config: RunConfig,
        run_dir: Path,
        console: Console,
        callbacks: Sequence[Callback] = (),
        processes: Processes = ONE,
    ) -> None:
        self.checked = checked
        self.processes = processes
        self.network = checked.valid_graph()
        self.config = config
        self.settings = config.settings
        self.run_dir = run_dir
        self.console = console
        self.callbacks = list(callbacks)
        self.stop = _StopOnSignal(console, keep_after=processes.several)
        self.history: list[dict[str, Any]] = []
        self.best_accuracy = -1.0
        self.position = Position()
        self.board: Board | None = None

    # --- set-up -------------------------------------------------------------------------------

    def prepare(
        self,
        download: bool = True,
        resume_from: dict[str, Any] | None = None,
        checkpoint_path: Path | None = None,
        init_from: Path | None = None,
    ) -> None:
        """Load the data, build the model, optimizer and schedule; restore ``resume_from`` (a
        checkpoint loaded from ``checkpoint_path``) if given, or start from the weights of the
        checkpoint ``init_from`` (fine-tuning)."""
        ready = set_up(
            self.checked, self.config.data, self.config.data_dir, self.config.device, download,
            resize=self.settings.resize,
            normalization=resume_from["normalization"] if resume_from else None,
            seed=self.settings.seed, processes=self.processes,
        )  # fmt: skip
        self.device, self.normalization, model = ready.device, ready.normalization, ready.model
        split = ready.split
        self.classes = split.classes
        # What was read from a user's own data (and what was skipped), said before training.
        self.data_summary = "" if sources.is_named(self.config.data) else split.source
        if split.val_images is not None and split.val_labels is not None:
            self.val_source = f"{sources.describe(self.config.data)}'s own"
            train_images, train_labels = split.train_images, split.train_labels
            val_images, val_labels = split.val_images, split.val_labels
        else:
            self.val_source = f"a seeded {self.settings.val_split:.0%} of train"
            train, held_out = validation_split(
                len(split.train_labels), self.settings.val_split, self.settings.seed
            )
            train_images, train_labels = split.train_images[train], split.train_labels[train]
            val_images, val_labels = split.train_images[held_out], split.train_labels[held_out]
        self.train_batches = ready.batches(train_images, train_labels, self.settings.batch_size)
        self.val_batches = ready.batches(val_images, val_labels, TEST_BATCH)
        self.test_batches = (
            ready.batches(split.test_images, split.test_labels, TEST_BATCH)
            if split.test_images is not None and split.test_labels is not None
            else None
        )
        self.steps_per_epoch = len(self.train_batches)
        total = self.settings.epochs * self.steps_per_epoch
        self.total_steps = min(total, self.config.max_steps or total)
        if init_from is not None:
            weights = checkpoint.load(init_from)["model"]
            check_weights(weights, model, f"{init_from} does not fit {self.config.spec}")
            model.load_state_dict(weights)
        self.model = model
        self.loss_function = LOSSES[self.settings.loss]  # what evaluation reports
        self.training_loss = _training_loss(self.settings.loss, self.settings.label_smoothing)
        _check_crop_sizes(self.settings, input_dims(self.network))
        self.augmenter = (
            Augmenter(self.settings.augment, len(self.classes)) if self.settings.augment else None
        )
        self.optimizer = optimizer_for(model, self.config, self.device)
        self.scheduler = _scheduler(
            self.optimizer, self.config, self.total_steps, self.steps_per_epoch
        )
        scale = self.device.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=scale)
        if resume_from is not None:
            self._restore(resume_from, checkpoint_path or self.run_dir / "last.pt")
        # What trains: the model itself, or, with several processes, DistributedDataParallel
        # around it (which averages the gradients over the processes in backward).
        self.trained: torch.nn.Module = model
        if self.processes.several:
            cuda = self.device.type == "cuda"
            ids = [self.processes.local_rank] if cuda else None
            self.trained = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        tensorboard = self.config.tensorboard and self.processes.main
        self.board = Board(self.run_dir) if tensorboard else None

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        """Put a checkpoint's state in place, after checking what only the network, the data
        and the settings can tell (``checkpoint.load`` checked the rest)."""
        check_weights(state["model"], self.model, f"{path} does not fit {self.config.spec}")
        position = Position(**state["position"])
        steps = self.steps_per_epoch
        if position.step > steps:
            raise CheckpointError(
                f"{path}: position.step is {position.step}, but an epoch of {self.config.data} "
                f"has {steps} steps (batches of {self.settings.batch_size})"
            )
        reached = position.epoch * steps + position.step
        if position.global_step > reached or (
            not self.config.max_steps and position.global_step != reached
        ):
            raise CheckpointError(
                f"{path}: position.global_step is {position.global_step}, but epoch "
                f"{position.epoch} of {steps} steps, step {position.step} is step {reached}: "
                "the checkpoint does not fit this data"
            )
        optimizer = state["optimizer"]
        try:
            template = self.optimizer.state_dict()["param_groups"]
            _check_param_groups(optimizer["param_groups"], template)
            parameters = [p for group in self.optimizer.param_groups for p in group["params"]]
            _check_optimizer_state(
                optimizer["state"], parameters, self.settings.optimizer, position.global_step
            )
        except ValueError as error:
            raise CheckpointError(f"{path}: optimizer.{error}") from error
        try:
            self.optimizer.load_state_dict(optimizer)
        except (ValueError, KeyError, TypeError, RuntimeError) as error:
            raise CheckpointError(f"{path}: optimizer: cannot be restored: {error}") from error
        if self.scheduler is not None:
            try:
                _check_scheduler(
                    state["scheduler"], self.scheduler.state_dict(), position.global_step
                )
            except ValueError as error:
                raise CheckpointError(f"{path}: scheduler.{error}") from error
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler.is_enabled() and state["scaler"]:
            try:
                self.scaler.load_state_dict(state["scaler"])
            except (KeyError, TypeError, ValueError, RuntimeError) as error:
                raise CheckpointError(f"{path}: scaler: not a gradient scaler's state") from error
        rng = state["rng"]
        if self.processes.several:
            saved = rng.get("processes", [rng])
            if len(saved) != self.processes.world_size:
                raise CheckpointError(
                    f"{path}: rng: the generators of {plural(len(saved), 'process', 'es')}, "
                    f"but this run has {self.processes.world_size}"
                )
            rng = saved[self.processes.rank]
        try:
            torch.set_rng_state(rng["torch"])
            if self.device.type == "cuda" and rng.get("cuda"):
                torch.cuda.set_rng_state_all(rng["cuda"])
        except (RuntimeError, ValueError, IndexError) as error:
            raise CheckpointError(
                f"{path}: rng: not a valid random number generator state ({error})"
            ) from error
        self.model.load_state_dict(state["model"])
        self.position = position
        self.history = list(state["history"])
        self.best_accuracy = float(state["best_accuracy"])

    # --- the loop -----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop after the current step and save a checkpoint, as Ctrl-C does."""
        self.stop.requested = True

    def train(self) -> RunResult:
        limit = self.config.max_steps
        try:
            with self.stop.installed():
                while self.position.epoch < self.settings.epochs:
                    if limit and self.position.global_step >= limit:
                        break  # checked first too: a resumed run that reached it trains no more
                    outcome = self._epoch()
                    if outcome is not None:
                        return outcome
                    if self._out_of_patience():
                        break
            return self._finish()
        finally:
            if self.board is not None:
                self.board.close()

    def _out_of_patience(self) -> bool:
        """Early stopping: the validation accuracy has not improved for ``patience`` epochs."""
        patience = self.settings.patience
        return patience is not None and len(self.history) - _best_epoch(self.history) >= patience

    def _epoch(self) -> RunResult | None:
        position = self.position
        label = f"epoch {position.epoch + 1}/{self.settings.epochs}"
        device = self.device.device
        # This process's loss sum and correct count, and the images it has seen. A resumed
        # epoch's saved sums are every process's: they count once, in rank 0's.
        carried = self.processes.main
        sums = torch.tensor(
            (position.loss_sum, position.correct) if carried else (0.0, 0.0),
            dtype=torch.float64,
            device=device,
        )
        seen = position.seen if carried else 0
        started = time.perf_counter() - position.seconds
        check_every = 1 if self.device.type == "cpu" else 20  # a finite-check syncs a GPU
        stopping = False
        self.model.train()
        with EpochProgress(self.console, label, self.steps_per_epoch, position.step) as progress:
            for images, labels in self.train_batches(
                position.epoch, self.settings.seed, position.step, raw=self.augmenter is not None
            ):
                images, targets = self.augmented(images, labels, position.epoch, position.step)
                # DDP averages the processes' gradients: a share weighted by its images makes
                # the average the whole batch's mean, when the last batch splits unevenly too.
                whole = self.train_batches.images_in(position.step)
                share = len(labels) * self.processes.world_size / whole
                outputs, loss = self.step(images, targets, share)
                sums[0] += loss.double() * len(labels)
                sums[1] += (outputs.argmax(dim=1) == labels).sum()
                seen += len(labels)
                position.step += 1
                position.global_step += 1
                if position.step % check_every == 0 or self._checkpoint_due():
                    # Decided together: every process stops, or saves, at the same step.
                    diverged, stopping = self.processes.flags(
                        not bool(torch.isfinite(sums[0])), self.stop.requested, device=device
                    )
                    if diverged:
                        return self._diverged(float(loss))
                if self._checkpoint_due():
                    self._keep_position(sums, seen, started)
                    self._save(self.run_dir / "last.pt")
                for callback in self.callbacks:
                    callback(self)
                if not self.processes.several:
                    stopping = self.stop.requested  # at once, when alone
                if progress.due(position.step):
                    # Rank 0's slice: its loss and accuracy; images/s of every process.
                    elapsed = time.perf_counter() - started
                    progress.update(
                        position.step,
                        float(sums[0]) / seen,
                        int(sums[1]) / seen,
                        seen * self.processes.world_size / max(elapsed, 1e-9),
                    )
                limit = self.config.max_steps
                if stopping or (limit and position.global_step >= limit):
                    break
        (diverged,) = self.processes.flags(not bool(torch.isfinite(sums[0])), device=device)
        if diverged:
            return self._diverged(float(sums[0]))
        self._keep_position(sums, seen, started)
        if stopping:
            return self._interrupted()
        self._end_epoch()
        return None

    def _keep_position(self, sums: torch.Tensor, seen: int, started: float) -> None:
        """The epoch's sums so far, over every process, into the position a checkpoint saves."""
        counted = torch.cat([sums, sums.new_tensor([seen])])
        loss_sum, correct, seen = self.processes.sum(counted).tolist()
        position = self.position
        position.loss_sum, position.correct, position.seen = loss_sum, int(correct), int(seen)
        position.seconds = time.perf_counter() - started

    def _checkpoint_due(self) -> bool:
        """Whether ``save_every`` asks for a mid-epoch checkpoint now. Not at an epoch's last
        step: the end-of-epoch checkpoint follows at once."""
        every = self.config.save_every
        position = self.position
        return (
            every is not None
            and every > 0
            and (position.global_step % every == 0 and position.step < self.steps_per_epoch)
        )

    def augmented(
        self, images: torch.Tensor, labels: torch.Tensor, epoch: int, step: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch (raw when augmenting) and its targets, augmented as the spec says
        with randomness drawn from the seed, the epoch and the step alone (a resumed run
        replays it)."""
        if self.augmenter is None:
            return images, labels
        generator = batch_generator(
            self.settings.seed, epoch, step, self.device.device, self.processes.rank
        )
        return self.augmenter(images, labels, self.train_batches.normalise, generator)

    def step(
        self, images: torch.Tensor, targets: torch.Tensor, share: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step on a batch and its targets (class indices, or probabilities
        after mixup/cutmix); returns the (detached) outputs and loss. ``share``: this
        process's part of the step's images, times the number of processes."""
        with torch.autocast(
            self.device.type, dtype=self.device.amp_dtype, enabled=self.device.amp_dtype is not None
        ):
            outputs = self.trained(images)
        loss = self.training_loss(outputs.float(), targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss * share if share != 1.0 else loss).backward()
        if self.settings.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not scaled ones
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        return outputs.detach(), loss.detach()

    def _evaluate(self, batches: Batches) -> Evaluation:
        return evaluate(
            self.model, batches, self.loss_function, self.classes, self.device.amp_dtype,
            self.processes,
        )  # fmt: skip

    def _end_epoch(self) -> None:
        position = self.position
        ended = time.perf_counter()
        self.processes.align(self.model)  # one set of batch-norm statistics, rank 0's
        held_out = self._evaluate(self.val_batches)  # what chooses; the test set waits
        row = {
            "epoch": position.epoch + 1,
            "steps": position.step,
            "train_loss": position.loss_sum / max(position.seen, 1),
            "train_accuracy": position.correct / max(position.seen, 1),
            "val_loss": held_out.loss,
            "val_accuracy": held_out.accuracy,
            "lr": self.optimizer.param_groups[0]["lr"],
            # training steps only; `seconds` adds the validation
            "images_per_second": round(position.seen / max(position.seconds, 1e-9), 1),
            "seconds": round(position.seconds + time.perf_counter() - ended, 3),
        }
        self.history.append(row)
        self.position = Position(epoch=position.epoch + 1, global_step=position.global_step)
        self._write_metrics()
        if self.board is not None:
            self.board.epoch(row)
        improved = held_out.accuracy > self.best_accuracy
        if improved:
            self.best_accuracy = held_out.accuracy
            # best.pt first: a run killed between the two writes leaves a last.pt whose best
            # accuracy is in best.pt, never one that names a best.pt not written yet.
            self._save(self.run_dir / "best.pt")
        self._save(self.run_dir / "last.pt")
        self.console.print(
            f"epoch {row['epoch']}/{self.settings.epochs}  "
            f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.2%}  "
            f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.2%}  "
            f"lr {row['lr']:.3g}  {row['seconds']:.1f} s ({row['images_per_second']:,.0f} img/s)"
            + ("  (best)" if improved else ""),
            highlight=False,
            soft_wrap=True,  # one line per epoch, whatever the width, for logs and parsers
        )

    def _diverged(self, value: float) -> RunResult:
        position = self.position
        last = self.run_dir / "last.pt"
        # With save_every the last checkpoint may be mid-epoch: name no epoch count then.
        after = "" if self.config.save_every else f" (after {plural(len(self.history), 'epoch')})"
        kept = (
            f"The last good checkpoint is {last}{after}."
            if last.exists()
            else "No checkpoint was saved: it diverged in the first epoch."
        )
        message = (
            f"the loss became {value} at epoch {position.epoch + 1}, step {position.step}: "
            f"training stopped. {kept} Try a lower learning rate (--lr, now "
            f"{self.settings.lr:g})."
        )
        return RunResult(self.run_dir, "diverged", self.history, None, message)

    def _interrupted(self) -> RunResult:
        last = self.run_dir / "last.pt"
        self._save(last)
        position = self.position
        message = (
            f"interrupted at epoch {position.epoch + 1}, step {position.step}: saved {last}. "
            f"Continue with: {self.continue_command()}"
        )
        return RunResult(self.run_dir, "interrupted", self.history, None, message)

    def continue_command(self) -> str:
        """The command that resumes this run, as a shell runs it (the run keeps its data set
        and flags; a data directory given as a flag is given again)."""
        words = ["netspec", "train", self.config.spec, "--resume", "--out", str(self.run_dir)]
        if self.config.data_dir is not None:
            words += ["--data-dir", self.config.data_dir]
        processes = self.processes
        if processes.several and processes.world_size == processes.local_world_size:
            words += ["--nproc", str(processes.world_size)]  # torchrun on this machine
        elif processes.several:
            return f"the same torchrun command, running {shlex.join(words)}"
        return shlex.join(words)

    def test_samples(self) -> str:
        return f"{self.test_batches.samples:,}" if self.test_batches is not None else "no"

    def _finish(self) -> RunResult:
        """The test set, once: best.pt's model (the epoch the validation split chose). Data
        without a test part gets best.pt's validation figures instead, said as such."""
        best = self.run_dir / "best.pt"
        if best.exists():  # every process reads it: the run directory is one they all see
            self.model.load_state_dict(checkpoint.load(best)["model"])
        tested = self.test_batches is not None
        final = self._evaluate(
            self.test_batches if self.test_batches is not None else self.val_batches
        )
        best_epoch = _best_epoch(self.history)
        report = {
            "spec": self.config.spec,
            "data": self.config.data,
            "epochs": len(self.history),
            "steps": self.position.global_step,
            "best_epoch": best_epoch,
            "best_val_accuracy": self.best_accuracy,
            "test_accuracy": final.accuracy if tested else None,
            "seconds": round(sum(row["seconds"] for row in self.history), 3),
            "final": final.to_json(),
        }
        part = "test set" if tested else "validation set"  # the data may have no test part
        if self.processes.main:
            self._write_report(report, final, part)
        data = sources.describe(self.config.data)
        print_evaluation(final, self.console, f"{part} ({data}), best.pt")
        early = (
            f"stopped early after epoch {len(self.history)} (no better validation accuracy in "
            f"{plural(self.settings.patience or 0, 'epoch')}); "
            if len(self.history) < self.settings.epochs and self._out_of_patience()
            else ""
        )
        outcome = (
            f"test accuracy {final.accuracy:.2%} with best.pt (epoch {best_epoch}, validation "
            f"accuracy {self.best_accuracy:.2%})"
            if tested
            else f"no test set: validation accuracy {final.accuracy:.2%} with best.pt (epoch "
            f"{best_epoch})"
        )
        message = (
            f"{early}finished: {outcome} in {report['seconds']:.0f} s; run directory {self.run_dir}"
        )
        return RunResult(self.run_dir, "finished", self.history, final, message)

    def _write_report(self, report: dict[str, Any], final: Evaluation, part: str) -> None:
        """report.json, TensorBoard's final figure and the plots (rank 0's work)."""
        write_file(self.run_dir / "report.json", json.dumps(report, indent=2) + "\n")
        if self.board is not None:
            tag = "accuracy/test" if part == "test set" else "accuracy/validation_best"
            self.board.final(tag, final.accuracy, len(self.history))
        title = f"{self.network.name} on {sources.describe(self.config.data)}"
        try:
            if self.history:
                plot_curves(self.history, title, self.run_dir / "curves.png")
            plot_confusion(
                final.confusion, final.classes, f"{title}: {part}", self.run_dir / "confusion.png"
            )
        except OSError as error:
            raise RunDirError(
                f"{self.run_dir}: cannot write the plots: {error.strerror or error}"
            ) from error

    # --- files --------------------------------------------------------------------------------

    def _generators(self) -> dict[str, Any]:
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return rng

    def _state(self) -> dict[str, Any]:
        """The checkpoint's contents; with several processes, every process's generators (each
        draws its own dropout), gathered: call it in every process."""
        rng = self._generators()
        if self.processes.several:
            rng["processes"] = self.processes.gather(rng)
        return {
            "config": self.config.to_json(),
            "dataset": self.config.data,
            "classes": list(self.classes),
            "normalization": self.normalization,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "position": asdict(self.position),
            "history": self.history,
            "best_accuracy": self.best_accuracy,
            "rng": rng,
            "netspec_version": netspec.__version__,
            "torch_version": str(torch.__version__),
        }

    def _save(self, path: Path) -> None:
        state = self._state()  # in every process: it gathers their generators
        if self.processes.main:
            checkpoint.save(path, state)
        self.processes.wait()  # none goes on (or exits) before the file is whole

    def _write_metrics(self) -> None:
        if not self.processes.main:
            return
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=METRIC_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        write_file(self.run_dir / "metrics.csv", table.getvalue())
        write_file(self.run_dir / "metrics.json", json.dumps(self.history, indent=2) + "\n")


def write_file(path: Path, text: str) -> None:
    """Write a run's file atomically; a failure (a full disk) is a RunDirError that leaves the
    previous file as it was."""
    try:
        write_atomically(path, text)
    except OSError as error:
        raise RunDirError(f"{path}: cannot write: {error.strerror or error}") from error


def validation_split(count: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training images to train on and of those held out to validate: a
    fraction drawn with the run's seed (the same split on every resume), at least one image
    on each side."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=generator)
    held = min(max(round(count * fraction), 1), count - 1)
    return order[held:].sort().values, order[:held].sort().values


def _best_epoch(history: Sequence[dict[str, Any]]) -> int:
    """The first epoch with the best validation accuracy (best.pt), 0 without epochs."""
    best = max(history, key=lambda row: row["val_accuracy"], default=None)
    return 0 if best is None else int(best["epoch"])


# --- entry points ------------------------------------------------------------------------------


def _latest_run(name: str) -> Path | None:
    """The run of this network whose checkpoint was written last (not the last by name: a
    run started earlier may have been resumed later)."""
    runs = [path for path in Path("runs").glob(f"{name}-*/last.pt") if path.is_file()]
    return max(runs, key=lambda path: path.stat().st_mtime).parent if runs else None


def _saved_data(run_dir: Path) -> str | None:
    """The data set a run was started with (its config.json), for resuming it without
    --data."""
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    data = saved.get("data") if isinstance(saved, dict) else None
    return data if isinstance(data, str) else None


def new_run_dir(name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = Path("runs") / f"{name}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = Path("runs") / f"{name}-{stamp}-{suffix}"
    return candidate


def train(
    spec_path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    device: str = "auto",
    data_dir: str | None = None,
    max_steps: int | None = None,
    save_every: int | None = None,
    download: bool = True,
    console: Console | None = None,
    callbacks: Sequence[Callback] = (),
    explicit: set[str] | None = None,
    init_from: str | Path | None = None,
    tensorboard: bool = False,
) -> RunResult:
    """Train a spec. ``overrides`` holds train-section values given as flags (None: not given);
    ``explicit`` names the flags the user gave, which must agree with a resumed run.
    ``save_every`` writes last.pt every N steps as well as at each epoch's end; ``init_from``
    starts a new run from a checkpoint's weights (fine-tuning).

    Raises SpecError, DataError, ConfigError, DeviceError, CheckpointError,
    RunDirError or ResourceError.
    """
    processes = join(device)
    try:
        return _train(
            processes, spec_path, dict(overrides or {}), out, resume, device, data_dir,
            max_steps, save_every, download, console, callbacks, explicit or set(), init_from,
            tensorboard,
        )  # fmt: skip
    finally:
        processes.leave()


def _train(
    processes: Processes,
    spec_path: str | Path,
    overrides: dict[str, Any],
    out: str | Path | None,
    resume: bool,
    device: str,
    data_dir: str | None,
    max_steps: int | None,
    save_every: int | None,
    download: bool,
    console: Console | None,
    callbacks: Sequence[Callback],
    explicit: set[str],
    init_from: str | Path | None,
    tensorboard: bool,
) -> RunResult:
    """``train`` in one of the run's processes (the only one, or one of torchrun's): rank 0
    prints, holds the run directory's lock and writes; every process trains."""
    if not processes.main:
        console = Console(file=io.StringIO())  # rank 0 speaks for the run
    console = console or Console(highlight=False)
    spec_path = Path(spec_path)
    checked = load(spec_path)
    assert checked.spec is not None
    if resume and init_from is not None:
        raise ConfigError(
            "--init-from starts a new run from a checkpoint's weights, --resume continues a "
            "run: give one of them"
        )
    if out:
        run_dir = Path(out)
    elif resume:
        latest = _latest_run(checked.spec.name)
        if latest is None:
            raise ConfigError(
                f"--resume: no run to resume under runs/{checked.spec.name}-* (no last.pt)"
            )
        run_dir = latest
    else:
        run_dir = new_run_dir(checked.spec.name)
    run_dir = processes.share(run_dir)  # rank 0's choice (a new run's name has the time)
    if resume and overrides.get("data") is None and checked.spec.train.data is None:
        overrides["data"] = _saved_data(run_dir)  # the run's own, as it was given by a flag
    requested = resolve(
        spec_path, checked.valid_graph().digest(), checked.spec.train, overrides, device,
        data_dir, max_steps, save_every, tensorboard, processes.world_size,
    )  # fmt: skip
    last = run_dir / "last.pt"
    if resume and not last.exists():
        raise ConfigError(f"--resume: no run to resume in {run_dir} (no last.pt)")

    # Everything below reads or writes the run directory: only with its lock held (by rank 0,
    # which alone writes there).
    with locked(run_dir) if processes.main else contextlib.nullcontext():
        removed = remove_stale_temporaries(run_dir) if processes.main else []
        if removed:
            names = ", ".join(path.name for path in removed)
            console.print(f"removed what a killed run left half-written: {names}")
        state = None
        if resume:
            state = checkpoint.load(last)
            config = resumed(parse_run_config(state["config"]), requested, explicit)
        else:
            if last.exists():
                raise ConfigError(
                    f"{run_dir} already holds a run: add --resume to continue it, or choose "
                    "another --out"
                )
            config = requested
        run = Run(checked, config, run_dir, console, callbacks, processes)
        start = Path(init_from) if init_from is not None else None
        run.prepare(download=download, resume_from=state, checkpoint_path=last, init_from=start)
        if processes.main:
            write_file(run_dir / "config.json", json.dumps(config.to_json(), indent=2) + "\n")
        settings = config.settings
        schedule = "" if settings.schedule == "none" else f", {settings.schedule} schedule"
        several = (
            f" × {processes.world_size} processes" if processes.several else ""
        )  # each takes its slice of every batch
        console.print(
            f"training {checked.spec.name} on {sources.describe(config.data)}: "
            f"{run.train_batches.samples:,} train, {run.val_batches.samples:,} validation "
            f"({run.val_source}), {run.test_samples()} test images; "
            f"{plural(settings.epochs, 'epoch')} of {run.steps_per_epoch:,} steps, batch "
            f"{settings.batch_size}{several}, {settings.optimizer} lr {settings.lr:g}{schedule}, "
            f"on {run.device.describe()}",
            highlight=False,
            soft_wrap=True,
        )
        if run.data_summary:
            console.print(f"data: {run.data_summary}", highlight=False, soft_wrap=True)
        if start is not None:
            console.print(f"starting from the weights of {start}", highlight=False, soft_wrap=True)
        if state is not None:
            console.print(
                f"resuming {run_dir} at epoch {run.position.epoch + 1}, step {run.position.step}",
                highlight=False,
                soft_wrap=True,
            )
        try:
            result = run.train()
        except (RuntimeError, MemoryError) as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
            if is_out_of_memory(error):
                raise ResourceError(
                    f"not enough memory to train {checked.spec.name} in batches of "
                    f"{settings.batch_size} on {run.device.type} ({detail}); try a smaller "
                    "--batch-size"
                ) from error
            if processes.several and isinstance(error, RuntimeError):
                # gloo's "[…/pair.cc:545] Read error …: Connection reset by peer. This is …"
                detail = re.sub(r"^\[[^\]]*\] ", "", detail).split(". ")[0]
                raise DistributedError(
                    f"process {processes.rank} of {processes.world_size} lost the others "
                    f"({detail}): another process of the run stopped or failed (its own "
                    "message says why)"
                ) from error
            raise
        if not processes.main:
            result.message = ""  # rank 0 says how the run ended
        return result


def evaluate_checkpoint(
    spec_path: str | Path,
    checkpoint_path: str | Path,
    data: str | None = None,
    *,
    data_dir: str | None = None,
    device: str = "auto",
    download: bool = True,
) -> Evaluation:
    """A saved model's accuracy, per class and as a confusion matrix, on a test set."""
    checked = load(spec_path)
    state = checkpoint.load(Path(checkpoint_path))  # every field checked
    name = data_argument(data) if data else state["dataset"]
    settings = parse_run_config(state["config"]).settings
    ready = set_up(
        checked, name, data_dir, device, download,
        resize=settings.resize, normalization=state["normalization"],
    )  # fmt: skip
    check_weights(state["model"], ready.model, f"{checkpoint_path} does not fit {spec_path}")
    ready.model.load_state_dict(state["model"])
    split = ready.split
    if split.test_images is None or split.test_labels is None:
        raise DataError(f"{name} has no test part: nothing to evaluate")
    batches = ready.batches(split.test_images, split.test_labels, TEST_BATCH)
    return evaluate(
        ready.model, batches, LOSSES[settings.loss], split.classes, ready.device.amp_dtype
    )
