"""Checkpoints: everything needed to resume a run exactly, written atomically."""

from __future__ import annotations

import io
import signal
from pathlib import Path
from typing import Any

import torch

from netspec.files import write_atomically

FORMAT = "netspec-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    pass


def save(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically; a Ctrl-C during the write is ignored, so the file is
    always whole."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buffer)
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread, where signals are not delivered anyway
        previous = None
    try:
        write_atomically(path, buffer.getvalue())
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def load(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by ``save`` (tensors and plain values only: safe to load)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise CheckpointError(f"{path}: no such checkpoint") from error
    except Exception as error:  # pickle, zip and torch errors all mean "unreadable"
        raise CheckpointError(f"{path} is not a readable checkpoint: {error}") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a netspec checkpoint")
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"{path} is a version {state.get('version')} checkpoint; this netspec reads {VERSION}"
        )
    return state
