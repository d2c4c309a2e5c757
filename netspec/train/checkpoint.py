"""Checkpoints: everything needed to resume a run exactly, written atomically, checked on load.

A checkpoint is a dict of tensors and plain values saved with ``torch.save``. It carries a
sha256 checksum of everything else in it, so a flipped byte is found rather than trained on,
and ``load`` checks every field's structure and type before the runner uses any of them: a
damaged or hand-edited checkpoint is refused with ``PATH: what is wrong``, never half-loaded.
What only the network can tell (weight names and shapes, the optimizer's state) the runner
checks when it restores one.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import signal
import stat
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from netspec.files import write_atomically
from netspec.layers.args import describe_value
from netspec.train.catalog import DATASETS
from netspec.train.config import parse_run_config

FORMAT = "netspec-checkpoint"
# 1: the first format. 2: a sha256 checksum of the contents; `config.save_every`. 3: epochs
# are judged on a validation split (val_loss, val_accuracy), the test set only at the end.
VERSION = 4
FIELDS = (
    "format", "version", "checksum", "config", "dataset", "classes", "normalization", "model",
    "optimizer", "scheduler", "scaler", "position", "history", "best_accuracy", "rng",
    "netspec_version", "torch_version",
)  # fmt: skip
METRIC_FIELDS = (
    "epoch", "steps", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
    "images_per_second", "seconds",
)  # fmt: skip


class CheckpointError(Exception):
    pass


@dataclass
class Position:
    """Where a run is: the epoch in progress (0-based), the next step in it, and the epoch's
    running sums so far. A checkpoint stores it, so a resumed run goes on from there."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


# --- the checksum ------------------------------------------------------------------------------


def checksum(state: Mapping[str, Any]) -> str:
    """sha256 of every field but ``checksum`` itself: tensors by dtype, shape and bytes, plain
    values by type and repr, walked in the order they are stored (which loading keeps)."""
    digest = hashlib.sha256()

    def feed(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous().reshape(-1)
            digest.update(f"tensor {tensor.dtype} {tuple(value.shape)}\n".encode())
            digest.update(tensor.view(torch.uint8).numpy().data)  # no copy
        elif isinstance(value, Mapping):
            digest.update(f"{type(value).__name__} {len(value)}\n".encode())
            for key, item in value.items():
                digest.update(f"{type(key).__name__} {key!r}\n".encode())
                feed(item)
        elif isinstance(value, list | tuple):
            digest.update(f"{type(value).__name__} {len(value)}\n".encode())
            for item in value:
                feed(item)
        else:
            digest.update(f"{type(value).__name__} {value!r}\n".encode())

    for key, value in state.items():
        if key != "checksum":
            digest.update(f"{key}\n".encode())
            feed(value)
    return digest.hexdigest()


# --- saving and loading ------------------------------------------------------------------------


def save(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically; a Ctrl-C during the write is ignored, so the file is
    always whole. A failed write (a full disk) leaves the previous file as it was."""
    contents = {"format": FORMAT, "version": VERSION, **state}
    contents["checksum"] = checksum(contents)
    buffer = io.BytesIO()
    torch.save(contents, buffer)
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread, where signals are not delivered anyway
        previous = None
    try:
        write_atomically(path, buffer.getvalue())
    except OSError as error:
        raise CheckpointError(f"{path}: cannot write: {error.strerror or error}") from error
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def load(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by ``save`` (tensors and plain values only: safe to load),
    with its checksum and every field checked."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as error:
        raise CheckpointError(f"{path}: no such checkpoint") from error
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read: {error.strerror or error}") from error
    if not stat.S_ISREG(mode):  # a pipe or a device would block, or never end
        raise CheckpointError(f"{path} is not a checkpoint: not a regular file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean "unreadable"
        raise CheckpointError(
            f"{path} is not a readable checkpoint: {unreadable_reason(error)}"
        ) from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a netspec checkpoint")
    version = state.get("version")
    if version != VERSION:
        age = "an older" if type(version) is int and version < VERSION else "another"
        raise CheckpointError(
            f"{path}: a version {describe_value(version)} checkpoint, written by {age} "
            f"netspec; this netspec reads version {VERSION}: train again to get one"
        )
    stored = state.get("checksum")
    if not isinstance(stored, str):
        raise CheckpointError(f"{path}: has no checksum")
    if checksum(state) != stored:
        raise CheckpointError(
            f"{path}: its contents do not match its checksum: the file is damaged or was "
            "edited; use another checkpoint"
        )
    try:
        validate(state)
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from error
    return state


def unreadable_reason(error: Exception) -> str:
    """Why torch could not load a file, in one line (never its advice to load unsafely)."""
    text = str(error)
    if "Unsupported global" in text or "unsupported GLOBAL" in text:
        return "it holds objects other than tensors and plain values, which netspec never loads"
    if "Weights only load failed" in text:
        return "not a file torch.save wrote, or a damaged one"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# --- what a checkpoint must hold ---------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _expect(condition: bool, field: str, expected: str, value: Any) -> None:
    if not condition:
        raise ValueError(f"{field}: expected {expected}, got {describe(value)}")


def describe(value: Any) -> str:
    """A value as a message shows it; tensors by dtype and shape, not contents."""
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {list(value.shape)}"
    if isinstance(value, list | tuple) and not value:
        return "an empty list"
    if isinstance(value, Mapping):
        keys = ", ".join(map(str, list(value)[:8])) + (", …" if len(value) > 8 else "")
        return f"a mapping of {keys}" if value else "an empty mapping"
    return describe_value(value)


def finite_tensor_problem(tensor: torch.Tensor) -> str:
    """Why a floating-point tensor cannot be used, or ''."""
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        return "holds NaN or infinite values"
    return ""


def validate(state: dict[str, Any]) -> None:
    """Every field's structure and type (what can be checked without the network).

    Raises ValueError naming the field: ``position.epoch: expected a whole number ≥ 0, …``.
    """
    if missing := [name for name in FIELDS if name not in state]:
        raise ValueError(f"missing field '{missing[0]}'")
    if extra := [str(key) for key in state if key not in FIELDS]:
        raise ValueError(f"unexpected field '{extra[0]}'")
    try:
        config = parse_run_config(state["config"])
    except ValueError as error:
        raise ValueError(f"config: {error}") from error
    settings = config.settings

    name = state["dataset"]
    if name != config.data:
        shown = repr(name) if isinstance(name, str) else describe(name)
        raise ValueError(f"dataset is {shown} but config.data is '{config.data}'")
    classes = state["classes"]
    if name in DATASETS:
        expected = list(DATASETS[name].classes)
        _expect(classes == expected, "classes", f"the {name} classes", classes)
    else:
        _expect(
            isinstance(classes, list)
            and len(classes) > 1
            and all(isinstance(c, str) for c in classes),
            "classes",
            "a list of at least 2 class names",
            classes,
        )

    normalization = state["normalization"]
    _expect(
        isinstance(normalization, dict) and set(normalization) == {"mean", "std"},
        "normalization",
        "a mapping of mean and std",
        normalization,
    )
    mean = normalization["mean"]
    _expect(
        isinstance(mean, list) and len(mean) > 0 and all(_is_number(v) for v in mean),
        "normalization.mean",
        "a list of finite numbers, one per channel",
        mean,
    )
    channels = len(mean)  # the spec's input channels: checked with the network
    for key in ("mean", "std"):
        values = normalization[key]
        _expect(
            isinstance(values, list)
            and len(values) == channels
            and all(_is_number(v) for v in values),
            f"normalization.{key}",
            f"a list of {channels} finite number(s)",
            values,
        )
    for value in normalization["std"]:
        if value <= 0:
            raise ValueError(f"normalization.std: must be > 0, got {value}")

    _validate_model(state["model"])
    _validate_optimizer(state["optimizer"])
    scheduler = state["scheduler"]
    if settings.schedule == "none" and not settings.warmup:
        _expect(scheduler is None, "scheduler", "nothing (the run has no schedule)", scheduler)
    else:
        _expect(
            isinstance(scheduler, dict),
            "scheduler",
            f"the state of its {settings.schedule} schedule"
            + (" with warmup" if settings.warmup else ""),
            scheduler,
        )
    scaler = state["scaler"]
    _expect(scaler is None or isinstance(scaler, dict), "scaler", "a mapping or nothing", scaler)

    position = _validate_position(state["position"], settings.epochs)
    _validate_history(state["history"], position)
    _validate_best_accuracy(state["best_accuracy"], state["history"])
    _validate_rng(state["rng"])
    for key in ("netspec_version", "torch_version"):
        _expect(isinstance(state[key], str), key, "a string", state[key])


def _validate_model(model: Any) -> None:
    _expect(isinstance(model, dict) and len(model) > 0, "model", "a mapping of weights", model)
    for key, tensor in model.items():
        _expect(isinstance(key, str), "model", "weight names (strings)", key)
        _expect(isinstance(tensor, torch.Tensor), f"model.{key}", "a tensor", tensor)
        if problem := finite_tensor_problem(tensor):
            raise ValueError(f"model.{key}: {problem}")


def _validate_optimizer(optimizer: Any) -> None:
    _expect(
        isinstance(optimizer, dict) and set(optimizer) == {"state", "param_groups"},
        "optimizer",
        "a mapping of state and param_groups",
        optimizer,
    )
    groups = optimizer["param_groups"]
    _expect(
        isinstance(groups, list) and len(groups) > 0 and all(isinstance(g, dict) for g in groups),
        "optimizer.param_groups",
        "a list of mappings",
        groups,
    )
    state = optimizer["state"]
    _expect(isinstance(state, dict), "optimizer.state", "a mapping", state)
    for index, entry in state.items():
        _expect(_is_int(index), "optimizer.state", "parameter numbers as keys", index)
        where = f"optimizer.state.{index}"
        _expect(isinstance(entry, dict), where, "a mapping", entry)
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                if problem := finite_tensor_problem(value):
                    raise ValueError(f"{where}.{key}: {problem}")
            else:
                _expect(value is None or _is_number(value), f"{where}.{key}", "a tensor", value)


def _validate_position(position: Any, epochs: int) -> Position:
    names = [field.name for field in fields(Position)]
    _expect(
        isinstance(position, dict) and sorted(position) == sorted(names),
        "position",
        "a mapping of " + ", ".join(names),
        position,
    )
    for key in ("epoch", "step", "global_step", "correct", "seen"):
        value = position[key]
        _expect(_is_int(value) and value >= 0, f"position.{key}", "a whole number ≥ 0", value)
    for key in ("loss_sum", "seconds"):
        _expect(_is_number(position[key]), f"position.{key}", "a finite number", position[key])
    result = Position(**position)
    if result.epoch > epochs:
        raise ValueError(f"position.epoch is {result.epoch}, but the run has {epochs} epoch(s)")
    if result.step > result.global_step:
        raise ValueError(
            f"position.step is {result.step}, more than position.global_step ({result.global_step})"
        )
    if result.correct > result.seen:
        raise ValueError(
            f"position.correct is {result.correct}, more than position.seen ({result.seen})"
        )
    if result.seconds < 0:
        raise ValueError(f"position.seconds: must be ≥ 0, got {result.seconds}")
    return result


def _validate_history(history: Any, position: Position) -> None:
    _expect(isinstance(history, list), "history", "a list of epochs", history)
    if len(history) != position.epoch:
        raise ValueError(
            f"history has {len(history)} epoch(s) but position.epoch is {position.epoch}"
        )
    for index, row in enumerate(history):
        where = f"history[{index}]"
        _expect(
            isinstance(row, dict) and list(row) == list(METRIC_FIELDS),
            where,
            "a mapping of " + ", ".join(METRIC_FIELDS),
            row,
        )
        _expect(row["epoch"] == index + 1, f"{where}.epoch", str(index + 1), row["epoch"])
        _expect(
            _is_int(row["steps"]) and row["steps"] >= 0, f"{where}.steps", "a whole number",
            row["steps"],
        )  # fmt: skip
        for key in METRIC_FIELDS[2:]:
            _expect(_is_number(row[key]), f"{where}.{key}", "a finite number", row[key])
        for key in ("train_accuracy", "val_accuracy"):
            _expect(0 <= row[key] <= 1, f"{where}.{key}", "a number from 0 to 1", row[key])


def _validate_best_accuracy(best: Any, history: list[dict[str, Any]]) -> None:
    expected = max((row["val_accuracy"] for row in history), default=-1.0)
    _expect(_is_number(best), "best_accuracy", "a finite number", best)
    if best != expected:
        raise ValueError(
            f"best_accuracy is {best}, but the best validation accuracy in history is {expected}"
        )


def _validate_rng(rng: Any, where: str = "rng") -> None:
    """The generators' states: torch's (and CUDA's); with several processes, each process's
    too, under ``processes``, in rank order."""
    allowed = {"torch", "cuda", "processes"} if where == "rng" else {"torch", "cuda"}
    _expect(
        isinstance(rng, dict) and "torch" in rng and set(rng) <= allowed,
        where,
        "a mapping of torch (and cuda) generator states",
        rng,
    )
    size = torch.get_rng_state().numel()
    state = rng["torch"]
    _expect(
        isinstance(state, torch.Tensor)
        and state.dtype == torch.uint8
        and tuple(state.shape) == (size,),
        f"{where}.torch",
        f"a uint8 tensor of shape [{size}]",
        state,
    )
    if "cuda" in rng:
        states = rng["cuda"]
        _expect(
            isinstance(states, list)
            and all(
                isinstance(s, torch.Tensor) and s.dtype == torch.uint8 and s.ndim == 1
                for s in states
            ),
            f"{where}.cuda",
            "a list of uint8 tensors",
            states,
        )
    if "processes" in rng:
        each = rng["processes"]
        _expect(
            isinstance(each, list) and len(each) > 1,
            f"{where}.processes",
            "the states of 2 or more processes",
            each,
        )
        for rank, state in enumerate(each):
            _validate_rng(state, f"{where}.processes[{rank}]")
