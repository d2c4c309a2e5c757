"""The resolved configuration of a run: the spec's ``train:`` section, overridden by flags."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netspec.diagnostics import plural
from netspec.layers.args import describe_value
from netspec.spec.messages import explain
from netspec.spec.model import DATASETS, TrainConfig

DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(Exception):
    """A flag or configuration value is wrong (a usage error)."""


@dataclass(frozen=True)
class RunConfig:
    spec: str
    architecture: str  # Graph.digest() of the network being trained
    data: str
    train: dict[str, Any]  # the TrainConfig fields, resolved
    device: str = "auto"
    data_dir: str | None = None
    max_steps: int | None = None
    save_every: int | None = None  # steps between mid-epoch checkpoints; None: epoch ends only
    tensorboard: bool = False  # also log to TensorBoard (run_dir/tensorboard)
    processes: int = 1  # torchrun's WORLD_SIZE: each step's batch is batch_size × processes

    @property
    def settings(self) -> TrainConfig:
        return TrainConfig.model_validate(self.train)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        return cls(**data)


# Flags that may differ when a run resumes: they do not change what is computed.
RESUMABLE_CHANGES = {"device", "data_dir", "save_every", "tensorboard"}


def parse_run_config(data: Any) -> RunConfig:
    """A RunConfig from its JSON form (config.json, a checkpoint), every field checked.

    Raises ValueError naming the first wrong field: ``train.epochs: must be ≥ 1, got -1``.
    """
    if not isinstance(data, dict):
        raise ValueError(f"expected a mapping, got {describe_value(data)}")
    names = [field.name for field in fields(RunConfig)]
    if missing := [name for name in names if name not in data]:
        raise ValueError(f"missing field '{missing[0]}'")
    if extra := [str(key) for key in data if key not in names]:
        raise ValueError(f"unexpected field '{extra[0]}'")

    def wrong(name: str, expected: str) -> ValueError:
        return ValueError(f"{name}: expected {expected}, got {describe_value(data[name])}")

    for name in ("spec", "architecture"):
        if not isinstance(data[name], str):
            raise wrong(name, "a string")
    if not isinstance(data["data"], str) or not (
        data["data"] in DATASETS or Path(data["data"]).is_absolute()
    ):
        raise wrong("data", "one of " + ", ".join(DATASETS) + ", or an absolute path")
    if data["device"] not in DEVICES:
        raise wrong("device", "one of " + ", ".join(DEVICES))
    if data["data_dir"] is not None and not isinstance(data["data_dir"], str):
        raise wrong("data_dir", "a string or nothing")
    if not isinstance(data["tensorboard"], bool):
        raise wrong("tensorboard", "true or false")
    if type(data["processes"]) is not int or data["processes"] < 1:
        raise wrong("processes", "a whole number ≥ 1")
    for name in ("max_steps", "save_every"):
        value = data[name]
        if value is not None and (type(value) is not int or value < 1):
            raise wrong(name, "a whole number ≥ 1 or nothing")
    try:
        settings = TrainConfig.model_validate(data["train"])
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in ("train", *problem["loc"]))
        raise ValueError(f"{where}: {explain(problem)}") from error
    if settings.data != data["data"]:  # the path as resolved when the run started
        got = describe_value(settings.data)
        raise ValueError(f"train.data is {got} but data is {describe_value(data['data'])}")
    return RunConfig(**{**data, "train": settings.model_dump()})


def resolve(
    spec_path: Path,
    architecture: str,
    defaults: TrainConfig,
    overrides: dict[str, Any],
    device: str = "auto",
    data_dir: str | None = None,
    max_steps: int | None = None,
    save_every: int | None = None,
    tensorboard: bool = False,
    processes: int = 1,
) -> RunConfig:
    """The spec's train section with the flags that were given laid over it. A path given as
    ``--data`` is taken from the working directory, one in the spec from the spec's folder;
    both are stored absolute, so that a run resumes from anywhere."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if "data" in given:
        given["data"] = data_argument(given["data"])
    elif defaults.data is not None and defaults.data not in DATASETS:
        given["data"] = data_argument(defaults.data, spec_path.parent, "train.data")
    try:
        settings = TrainConfig.model_validate({**defaults.model_dump(), **given})
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        flag = "--" + str(problem["loc"][0]).replace("_", "-")
        raise ConfigError(f"{flag}: {explain(problem)}") from error
    for name, value in (("--max-steps", max_steps), ("--save-every", save_every)):
        if value is not None and value < 1:
            raise ConfigError(f"{name}: must be ≥ 1, got {value}")
    if settings.data is None:
        raise ConfigError(
            "no data: give --data (a data set's name, or the path of your own data) or set "
            "train.data in the spec; the data sets: " + ", ".join(DATASETS)
        )
    return RunConfig(
        spec=str(spec_path),
        architecture=architecture,
        data=settings.data,
        train=settings.model_dump(),
        device=device,
        data_dir=data_dir,
        max_steps=max_steps,
        save_every=save_every,
        tensorboard=tensorboard,
        processes=processes,
    )


def data_argument(text: str, base: Path | None = None, where: str = "--data") -> str:
    """A data set's name as it is, or the absolute path of the user's own data (relative to
    ``base``, else the working directory). Neither: a ConfigError that suggests the name only
    when the text is a spelling of it (``fashion-mnist``)."""
    if text in DATASETS:
        return text
    path = Path(base or Path.cwd(), text).expanduser()
    if path.exists():
        return str(path.resolve())
    spelled = text.strip().lower().replace("-", "_")
    hint = f" (did you mean {spelled}?)" if spelled in DATASETS else ""
    raise ConfigError(
        f"{where} {text}: neither a data set{hint} nor a file or folder ({path} does not "
        f"exist); the data sets: {', '.join(DATASETS)}"
    )


def _more_epochs(saved: RunConfig, epochs: int) -> int:
    """``--epochs`` on a resumed run: more epochs for a run without a schedule (a finished
    one trains on); a schedule was planned for the epochs the run started with."""
    planned = saved.settings
    if planned.schedule != "none":
        raise ConfigError(
            f"--epochs {epochs}: this run's {planned.schedule} schedule was planned for "
            f"{plural(planned.epochs, 'epoch')} and cannot be stretched; start a new run (or "
            "resume without --epochs)"
        )
    if epochs < planned.epochs:
        raise ConfigError(
            f"--epochs {epochs}: the run was started for {planned.epochs}; a resumed run can "
            "only be given more epochs"
        )
    return epochs


def resumed(saved: RunConfig, requested: RunConfig, explicit: set[str]) -> RunConfig:
    """The saved configuration of a run being resumed. Flags given now must agree with it, or
    the result would not be the run that was started."""
    changes = []
    train = dict(saved.train)
    if "epochs" in explicit and requested.settings.epochs != saved.settings.epochs:
        train["epochs"] = _more_epochs(saved, requested.settings.epochs)
    for key in explicit:
        if key in RESUMABLE_CHANGES or key == "epochs":
            continue
        before = saved.train.get(key, getattr(saved, key, None))
        after = requested.train.get(key, getattr(requested, key, None))
        if before != after:
            changes.append(f"--{key.replace('_', '-')} {after} (the run has {before})")
    if changes:
        raise ConfigError(
            "cannot change a run while resuming it: "
            + "; ".join(sorted(changes))
            + ". Start a new run instead (without --resume)."
        )
    if saved.processes != requested.processes:
        raise ConfigError(
            f"this run was trained by {plural(saved.processes, 'process', 'es')} (each step "
            f"took batch_size × {saved.processes} images); resume it with as many, not "
            f"{requested.processes}"
        )
    if saved.architecture != requested.architecture:
        raise ConfigError(
            f"the network in {requested.spec} is not the one this run was started with; "
            "resume with that spec, or start a new run"
        )
    return RunConfig(
        spec=saved.spec,
        architecture=saved.architecture,
        data=saved.data,
        train=train,
        device=requested.device if "device" in explicit else saved.device,
        data_dir=requested.data_dir if "data_dir" in explicit else saved.data_dir,
        max_steps=saved.max_steps,
        save_every=requested.save_every if "save_every" in explicit else saved.save_every,
        tensorboard=requested.tensorboard if "tensorboard" in explicit else saved.tensorboard,
        processes=saved.processes,
    )
