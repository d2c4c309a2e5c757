"""The training loop every spec shares: ``netspec train`` and ``netspec eval``.

A run directory holds ``config.json`` (the resolved configuration), ``metrics.csv`` and
``metrics.json`` (one row per epoch), ``last.pt`` and ``best.pt`` (checkpoints, written
atomically), ``report.json`` (final test accuracy, per class, confusion matrix) and the plots
``curves.png`` and ``confusion.png``.

A run can stop three ways besides finishing: Ctrl-C (a checkpoint of the exact position is
saved; ``--resume`` continues as if nothing happened), a loss that is no longer finite (the run
stops, the last good checkpoint stays), or ``max_steps``.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own spelling
from rich.console import Console

import netspec
from netspec.backends.plan import Plan, plan
from netspec.check import CheckedSpec, load
from netspec.diagnostics import plural
from netspec.files import write_atomically
from netspec.shapes import format_dims
from netspec.train import checkpoint, datasets
from netspec.train.batches import Batches
from netspec.train.catalog import DATASETS, Dataset
from netspec.train.config import RunConfig, resolve, resumed
from netspec.train.datasets import DataError
from netspec.train.device import Device, select
from netspec.train.evaluation import Evaluation, evaluate, print_evaluation
from netspec.train.plots import plot_confusion, plot_curves
from netspec.train.progress import EpochProgress

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "nll": F.nll_loss,
    "mse": lambda outputs, labels: F.mse_loss(
        outputs, F.one_hot(labels, outputs.shape[1]).to(outputs.dtype)
    ),
}
METRIC_FIELDS = (
    "epoch", "steps", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
    "images_per_second", "seconds",
)  # fmt: skip


class Callback(Protocol):
    """Called after every training step (e.g. to log, or to stop the run)."""

    def __call__(self, run: Run) -> None: ...


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


@dataclass
class RunResult:
    run_dir: Path
    status: Literal["finished", "interrupted", "diverged"]
    history: list[dict[str, Any]] = field(default_factory=list)
    final: Evaluation | None = None
    message: str = ""


def fits(network: Plan, dataset: Dataset) -> None:
    """The spec's input and output must be what the data set gives and asks for."""
    if network.input_shape.dims != dataset.shape:
        raise DataError(
            f"spec input is {format_dims(network.input_shape.dims)} but {dataset.name} gives "
            f"{format_dims(dataset.shape)}"
        )
    if network.output_shape.dims != (dataset.num_classes,):
        raise DataError(
            f"spec output is {format_dims(network.output_shape.dims)} but {dataset.name} has "
            f"{dataset.num_classes} classes: end with a layer of {dataset.num_classes} outputs "
            f"(e.g. `- linear: {dataset.num_classes}`)"
        )


def _convolutional(network: Plan) -> bool:
    return any(step.kind.name == "conv2d" for step in network.steps)


def _optimizer(model: torch.nn.Module, config: RunConfig, device: Device) -> torch.optim.Optimizer:
    settings = config.settings
    kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    arguments: dict[str, Any] = {"lr": settings.lr}
    if settings.weight_decay is not None:
        arguments["weight_decay"] = settings.weight_decay
    if settings.optimizer == "sgd":
        arguments["momentum"] = settings.momentum
    # Fused kernels update every parameter in one pass: on CPU a step of Adam is ~25 % faster.
    try:
        return kinds[settings.optimizer](
            model.parameters(), fused=device.type != "mps", **arguments
        )
    except (RuntimeError, TypeError, ValueError):
        return kinds[settings.optimizer](model.parameters(), **arguments)


def _scheduler(
    optimizer: torch.optim.Optimizer, config: RunConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    schedule = config.settings.schedule
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.settings.lr, total_steps=total_steps
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


class _StopOnSigint:
    """First Ctrl-C: finish the current step, save, stop. Second: stop at once."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.requested = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.console.print(
            "\nstopping after this step to save a checkpoint (Ctrl-C again to abort)"
        )

    @contextmanager
    def installed(self) -> Iterator[None]:
        try:
            previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no signals to catch
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


class Run:
    """One training run of a checked spec."""

    def __init__(
        self,
        checked: CheckedSpec,
        config: RunConfig,
        run_dir: Path,
        console: Console,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.checked = checked
        self.network = plan(checked)
        self.config = config
        self.settings = config.settings
        self.dataset = DATASETS[config.data]
        self.run_dir = run_dir
        self.console = console
        self.callbacks = list(callbacks)
        self.stop = _StopOnSigint(console)
        self.history: list[dict[str, Any]] = []
        self.best_accuracy = -1.0
        self.position = Position()
        self.last_test: Evaluation | None = None  # the latest end-of-epoch evaluation

    # --- set-up -------------------------------------------------------------------------------

    def prepare(self, download: bool = True, resume_from: dict[str, Any] | None = None) -> None:
        fits(self.network, self.dataset)
        self.device = select(self.config.device, _convolutional(self.network))
        split = datasets.load(self.config.data, self.config.data_dir, download=download)
        normalization = (
            resume_from["normalization"] if resume_from else {"mean": split.mean, "std": split.std}
        )
        self.normalization = {k: [float(v) for v in values] for k, values in normalization.items()}

        def batches(images: torch.Tensor, labels: torch.Tensor, size: int) -> Batches:
            return Batches(
                images, labels, size, self.normalization["mean"], self.normalization["std"],
                self.device.device, self.device.channels_last,
            )  # fmt: skip

        self.train_batches = batches(
            split.train_images, split.train_labels, self.settings.batch_size
        )
        self.test_batches = batches(split.test_images, split.test_labels, 1000)
        self.steps_per_epoch = len(self.train_batches)
        total = self.settings.epochs * self.steps_per_epoch
        self.total_steps = min(total, self.config.max_steps or total)

        torch.manual_seed(self.settings.seed)  # the same seed gives the same initial weights
        model = netspec.build(self.checked)
        model = model.to(self.device.device)
        if self.device.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.loss_function = LOSSES[self.settings.loss]
        self.optimizer = _optimizer(model, self.config, self.device)
        self.scheduler = _scheduler(self.optimizer, self.config, self.total_steps)
        scale = self.device.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=scale)
        if resume_from is not None:
            self._restore(resume_from)

    def _restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.position = Position(**state["position"])
        self.history = list(state["history"])
        self.best_accuracy = float(state["best_accuracy"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.device.type == "cuda" and state["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    # --- the loop -----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop after the current step and save a checkpoint, as Ctrl-C does."""
        self.stop.requested = True

    def train(self) -> RunResult:
        with self.stop.installed():
            while self.position.epoch < self.settings.epochs:
                outcome = self._epoch()
                if outcome is not None:
                    return outcome
                if self.config.max_steps and self.position.global_step >= self.config.max_steps:
                    break
        return self._finish()

    def _epoch(self) -> RunResult | None:
        position = self.position
        label = f"epoch {position.epoch + 1}/{self.settings.epochs}"
        loss_sum = torch.tensor(position.loss_sum, dtype=torch.float64, device=self.device.device)
        correct = torch.tensor(position.correct, device=self.device.device)
        seen = position.seen
        started = time.perf_counter() - position.seconds
        check_every = 1 if self.device.type == "cpu" else 20  # a finite-check syncs a GPU
        self.model.train()
        with EpochProgress(self.console, label, self.steps_per_epoch, position.step) as progress:
            for images, labels in self.train_batches(
                position.epoch, self.settings.seed, position.step
            ):
                outputs, loss = self.step(images, labels)
                loss_sum += loss.double() * len(labels)
                correct += (outputs.argmax(dim=1) == labels).sum()
                seen += len(labels)
                position.step += 1
                position.global_step += 1
                if position.step % check_every == 0 and not torch.isfinite(loss_sum):
                    return self._diverged(float(loss))
                for callback in self.callbacks:
                    callback(self)
                if progress.due(position.step):
                    elapsed = time.perf_counter() - started
                    progress.update(
                        position.step,
                        float(loss_sum) / seen,
                        int(correct) / seen,
                        seen / max(elapsed, 1e-9),
                    )
                limit = self.config.max_steps
                if self.stop.requested or (limit and position.global_step >= limit):
                    break
        if not torch.isfinite(loss_sum):
            return self._diverged(float(loss_sum))
        position.loss_sum, position.correct, position.seen = float(loss_sum), int(correct), seen
        position.seconds = time.perf_counter() - started
        if self.stop.requested:
            return self._interrupted()
        self._end_epoch()
        return None

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step on a batch; returns the (detached) outputs and loss."""
        with torch.autocast(
            self.device.type, dtype=self.device.amp_dtype, enabled=self.device.amp_dtype is not None
        ):
            outputs = self.model(images)
        loss = self.loss_function(outputs.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        return outputs.detach(), loss.detach()

    def _end_epoch(self) -> None:
        position = self.position
        ended = time.perf_counter()
        test = evaluate(
            self.model, self.test_batches, self.loss_function, self.dataset.classes,
            self.device.amp_dtype,
        )  # fmt: skip
        row = {
            "epoch": position.epoch + 1,
            "steps": position.step,
            "train_loss": position.loss_sum / max(position.seen, 1),
            "train_accuracy": position.correct / max(position.seen, 1),
            "test_loss": test.loss,
            "test_accuracy": test.accuracy,
            "lr": self.optimizer.param_groups[0]["lr"],
            # training steps only; `seconds` adds the test-set evaluation
            "images_per_second": round(position.seen / max(position.seconds, 1e-9), 1),
            "seconds": round(position.seconds + time.perf_counter() - ended, 3),
        }
        self.history.append(row)
        self.last_test = test
        self.position = Position(epoch=position.epoch + 1, global_step=position.global_step)
        self._write_metrics()
        improved = test.accuracy > self.best_accuracy
        if improved:
            self.best_accuracy = test.accuracy
        self._save(self.run_dir / "last.pt")
        if improved:
            self._save(self.run_dir / "best.pt")
        self.console.print(
            f"epoch {row['epoch']}/{self.settings.epochs}  "
            f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.2%}  "
            f"test loss {row['test_loss']:.4f} acc {row['test_accuracy']:.2%}  "
            f"lr {row['lr']:.3g}  {row['seconds']:.1f} s ({row['images_per_second']:,.0f} img/s)"
            + ("  (best)" if improved else ""),
            highlight=False,
            soft_wrap=True,  # one line per epoch, whatever the width, for logs and parsers
        )

    def _diverged(self, value: float) -> RunResult:
        position = self.position
        last = self.run_dir / "last.pt"
        kept = (
            f"The last good checkpoint is {last} (after {plural(len(self.history), 'epoch')})."
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
            f"Continue with: netspec train {self.config.spec} --resume --out {self.run_dir}"
        )
        return RunResult(self.run_dir, "interrupted", self.history, None, message)

    def _finish(self) -> RunResult:
        final = self.last_test
        if final is None:  # resumed a finished run: evaluate what it ended with
            final = evaluate(
                self.model, self.test_batches, self.loss_function, self.dataset.classes,
                self.device.amp_dtype,
            )  # fmt: skip
        report = {
            "spec": self.config.spec,
            "data": self.config.data,
            "epochs": len(self.history),
            "steps": self.position.global_step,
            "best_test_accuracy": self.best_accuracy,
            "seconds": round(sum(row["seconds"] for row in self.history), 3),
            "final": final.to_json(),
        }
        write_atomically(self.run_dir / "report.json", json.dumps(report, indent=2) + "\n")
        name = self.network.name
        if self.history:
            plot_curves(self.history, f"{name} on {self.config.data}", self.run_dir / "curves.png")
        plot_confusion(
            final.confusion, final.classes, f"{name} on {self.config.data}: test set",
            self.run_dir / "confusion.png",
        )  # fmt: skip
        print_evaluation(final, self.console, f"test set ({self.config.data})")
        message = (
            f"finished: test accuracy {final.accuracy:.2%} (best {self.best_accuracy:.2%}) "
            f"in {report['seconds']:.0f} s; run directory {self.run_dir}"
        )
        return RunResult(self.run_dir, "finished", self.history, final, message)

    # --- files --------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "config": self.config.to_json(),
            "dataset": self.config.data,
            "classes": list(self.dataset.classes),
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
        checkpoint.save(path, self._state())

    def _write_metrics(self) -> None:
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=METRIC_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        write_atomically(self.run_dir / "metrics.csv", table.getvalue())
        write_atomically(self.run_dir / "metrics.json", json.dumps(self.history, indent=2) + "\n")


# --- entry points ------------------------------------------------------------------------------


def _latest_run(name: str) -> Path | None:
    runs = sorted(Path("runs").glob(f"{name}-*/last.pt"))
    return runs[-1].parent if runs else None


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
    download: bool = True,
    console: Console | None = None,
    callbacks: Sequence[Callback] = (),
    explicit: set[str] | None = None,
) -> RunResult:
    """Train a spec. ``overrides`` holds train-section values given as flags (None: not given);
    ``explicit`` names the flags the user gave, which must agree with a resumed run.

    Raises SpecError, DataError, ConfigError, DeviceError or CheckpointError.
    """
    from netspec.train.config import ConfigError

    console = console or Console(highlight=False)
    spec_path = Path(spec_path)
    checked = load(spec_path)
    assert checked.spec is not None
    requested = resolve(
        spec_path, plan(checked).digest(), checked.spec.train, overrides or {}, device,
        data_dir, max_steps,
    )  # fmt: skip
    state = None
    if resume:
        run_dir = Path(out) if out else _latest_run(checked.spec.name)
        if run_dir is None or not (run_dir / "last.pt").exists():
            where = f"in {run_dir}" if run_dir else f"under runs/{checked.spec.name}-*"
            raise ConfigError(f"--resume: no run to resume {where} (no last.pt)")
        state = checkpoint.load(run_dir / "last.pt")
        config = resumed(RunConfig.from_json(state["config"]), requested, explicit or set())
    else:
        run_dir = Path(out) if out else new_run_dir(checked.spec.name)
        if (run_dir / "last.pt").exists():
            raise ConfigError(
                f"{run_dir} already holds a run: add --resume to continue it, or choose "
                "another --out"
            )
        config = requested

    run = Run(checked, config, run_dir, console, callbacks)
    run.prepare(download=download, resume_from=state)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(run_dir / "config.json", json.dumps(config.to_json(), indent=2) + "\n")
    settings = config.settings
    schedule = "" if settings.schedule == "none" else f", {settings.schedule} schedule"
    console.print(
        f"training {checked.spec.name} on {config.data} ({run.train_batches.samples:,} train / "
        f"{run.test_batches.samples:,} test images): {plural(settings.epochs, 'epoch')} of "
        f"{run.steps_per_epoch:,} steps, batch {settings.batch_size}, {settings.optimizer} "
        f"lr {settings.lr:g}{schedule}, on {run.device.describe()}",
        highlight=False,
        soft_wrap=True,
    )
    if state is not None:
        console.print(
            f"resuming {run_dir} at epoch {run.position.epoch + 1}, step {run.position.step}",
            highlight=False,
            soft_wrap=True,
        )
    return run.train()


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
    assert checked.spec is not None
    network = plan(checked)
    state = checkpoint.load(Path(checkpoint_path))
    name = data or state.get("dataset") or checked.spec.train.data
    if name is None:
        from netspec.train.config import ConfigError

        raise ConfigError("no data set: give --data (fashion_mnist, mnist or cifar10)")
    dataset = DATASETS[name]
    fits(network, dataset)
    chosen = select(device, _convolutional(network))
    model = netspec.build(checked).to(chosen.device)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        detail = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
        raise checkpoint.CheckpointError(
            f"{checkpoint_path} does not fit {spec_path}: {detail}"
        ) from error
    split = datasets.load(name, data_dir, download=download)
    normalization = state.get("normalization") or {"mean": split.mean, "std": split.std}
    batches = Batches(
        split.test_images, split.test_labels, 1000, normalization["mean"], normalization["std"],
        chosen.device, chosen.channels_last,
    )  # fmt: skip
    if chosen.channels_last:
        model = model.to(memory_format=torch.channels_last)
    settings = RunConfig.from_json(state["config"]).settings if "config" in state else None
    loss = LOSSES[settings.loss if settings else checked.spec.train.loss]
    return evaluate(model, batches, loss, dataset.classes, chosen.amp_dtype)
