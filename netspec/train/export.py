"""Exporting a trained checkpoint to run without netspec: ``netspec export``.

The exported model reads images as torchvision gives them, ``ToImage()`` then
``ToDtype(torch.float32, scale=True)``: float32 N×C×H×W in [0, 1]. It normalises them inside
with the checkpoint's mean and std and returns the model's outputs (logits), in eval mode, for
any batch size. Two formats:

- ``onnx``: ``torch.onnx.export(..., dynamo=True)``, or the TorchScript exporter where that
  fails; the class names and the normalisation go in the file's ``metadata_props``.
- ``torch-export``: ``torch.export.export`` saved with ``torch.export.save`` (a ``.pt2`` file,
  run with ``torch.export.load(path).module()``); the same metadata as ``netspec.json`` among
  its extra files.

A spec that reads token ids (input dtype long) is exported without normalisation: its input is
the int64 ids themselves.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import netspec
from netspec.shapes import format_dims
from netspec.train import sources
from netspec.train.predict import Trained, load_trained

FORMATS = {"onnx": ".onnx", "torch-export": ".pt2"}
METADATA_FILE = "netspec.json"  # the .pt2 extra file holding the metadata
# torch.export specialises a dimension that is 0 or 1 in the example: the batch must not be.
EXAMPLE_BATCH = 2
ONNX_MAX_BYTES = 2**31 - 1  # protobuf's limit on one message, so on one .onnx file
INSTALL_EXPORT = "pip install 'netspec[export]'"


class ExportError(Exception):
    """The model cannot be exported in the format asked for."""


@dataclass(frozen=True)
class Exported:
    """An exported model: the file's bytes, how it was made, what it reads and returns."""

    format: str
    data: bytes
    exporter: str  # which exporter made it, and why the preferred one did not
    metadata: dict[str, Any]
    input_name: str
    output_name: str
    seconds: float

    def summary(self, path: str | Path) -> str:
        """What was written and what the file expects, for people."""
        size = len(self.data) / 2**10
        shown = f"{size:,.0f} KiB" if size < 2**10 else f"{size / 2**10:,.1f} MiB"
        return (
            f"wrote {path} ({shown}) with {self.exporter} in {self.seconds:.1f} s\n"
            f"input  '{self.input_name}': {self.metadata['input']}\n"
            f"output '{self.output_name}': {self.metadata['output']}"
        )


def default_output(checkpoint_path: str | Path, format: str) -> Path:
    """The checkpoint's name with the format's suffix, beside it: ``best.pt`` → ``best.onnx``."""
    return Path(checkpoint_path).with_suffix(FORMATS[format])


def _metadata(trained: Trained) -> dict[str, Any]:
    """What a consumer needs besides the file: the classes, how inputs are scaled and
    normalised, where the model came from."""
    dims = format_dims(trained.input_dims)
    if trained.reads_token_ids:
        normalization = None
        expected = f"int64 token ids, N×{dims}; not normalised"
    else:
        normalization = trained.normalization
        colour = {1: " (grey)", 3: " (RGB)"}.get(trained.input_dims[0], "")
        expected = (
            f"float32 N×{dims}{colour} in [0, 1], as ToImage() + ToDtype(torch.float32, "
            f"scale=True) give; normalised inside the model (mean "
            f"{_rounded(normalization['mean'])}, std {_rounded(normalization['std'])})"
        )
    what = "probabilities" if trained.outputs_probabilities else "scores (logits)"
    count = len(trained.classes)
    shown = ", ".join(trained.classes[:4]) + (", …" if count > 4 else "")
    return {
        "classes": list(trained.classes),
        "normalization": normalization,
        "input": expected,
        "output": f"float32 N×{count}, {what} of the classes {shown}",
        "spec": trained.name,
        "dataset": sources.describe(trained.dataset),
        "netspec_version": netspec.__version__,
    }


def _rounded(values: list[float]) -> str:
    """Numbers as a message shows them (the metadata's ``normalization`` has them whole)."""
    return "[" + ", ".join(f"{value:.4g}" for value in values) + "]"


def _reason(error: BaseException) -> str:
    """An exporter's failure in one line."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _batch_dims() -> tuple[dict[int, torch.export.Dim]]:
    """The one input's dynamic dimensions: the batch, dim 0."""
    return ({0: torch.export.Dim("batch", min=1)},)


def _require_onnx() -> None:
    """onnx and onnxscript are an extra: say how to install them before any work is done."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401 - the dynamo exporter imports it
    except ImportError as error:
        raise ExportError(
            f"ONNX export needs the onnx and onnxscript packages ({error.name} is not "
            f"installed): {INSTALL_EXPORT}"
        ) from None


def _to_onnx(
    module: torch.nn.Module, example: torch.Tensor, names: tuple[str, str], metadata: dict[str, Any]
) -> tuple[bytes, str]:
    """The ONNX file's bytes, and which exporter made them."""
    import onnx

    input_name, output_name = names
    with warnings.catch_warnings():  # the summary says which exporter ran: no deprecation noise
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                module, (example,), dynamo=True, dynamic_shapes=_batch_dims(),
                input_names=[input_name], output_names=[output_name], verbose=False,
            )  # fmt: skip
            assert program is not None  # dynamo returns the program
            proto = program.model_proto
            exporter = "torch.onnx's dynamo exporter"
        except Exception as error:  # any failure of the new exporter: try the old one
            failure = _reason(error)
            with tempfile.TemporaryDirectory() as folder:  # it writes only to a path
                written = Path(folder) / "model.onnx"
                try:
                    torch.onnx.export(
                        module, (example,), written, dynamo=False,
                        input_names=[input_name], output_names=[output_name],
                        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
                    )  # fmt: skip
                except Exception as second:
                    raise ExportError(
                        f"cannot export to ONNX: the dynamo exporter failed ({failure}), and "
                        f"the TorchScript exporter too ({_reason(second)})"
                    ) from second
                proto = onnx.load(written)
            exporter = f"torch.onnx's TorchScript exporter (the dynamo exporter failed: {failure})"
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    return proto.SerializeToString(), exporter


def _to_torch_export(
    module: torch.nn.Module, example: torch.Tensor, metadata: dict[str, Any]
) -> bytes:
    """A ``.pt2`` file's bytes: the exported program and ``netspec.json``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.export.export(module, (example,), dynamic_shapes=_batch_dims())
        except Exception as error:  # torch.export's errors have no common base
            raise ExportError(f"torch.export cannot trace the model: {_reason(error)}") from error
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={METADATA_FILE: json.dumps(metadata)})
    return buffer.getvalue()


def export(spec_path: str | Path, checkpoint_path: str | Path, format: str) -> Exported:
    """Export a checkpoint's model (``format``: ``onnx`` or ``torch-export``), on the CPU.
    Raises ExportError, SpecError, CheckpointError or ResourceError."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if format == "onnx":
        _require_onnx()
    trained = load_trained(spec_path, checkpoint_path, "cpu")
    dims = trained.input_dims
    if trained.reads_token_ids:
        example = torch.zeros(EXAMPLE_BATCH, *dims, dtype=torch.long)
        names = ("tokens", "logits")
    else:
        example = torch.rand(EXAMPLE_BATCH, *dims)
        names = ("images", "probabilities" if trained.outputs_probabilities else "logits")
    module = trained.inference_module()
    metadata = _metadata(trained)
    started = time.perf_counter()
    if format == "onnx":
        weights = sum(t.numel() * t.element_size() for t in trained.model.state_dict().values())
        if weights > ONNX_MAX_BYTES:
            raise ExportError(
                f"{trained.name}'s weights take {weights / 2**30:,.1f} GiB, more than one ONNX "
                "file holds (2 GiB): use --format torch-export"
            )
        data, exporter = _to_onnx(module, example, names, metadata)
    else:
        data, exporter = _to_torch_export(module, example, metadata), "torch.export"
    seconds = time.perf_counter() - started
    return Exported(format, data, exporter, metadata, *names, seconds)
