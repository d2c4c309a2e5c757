"""The resolved configuration of a run: the spec's ``train:`` section, overridden by flags."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netspec.spec.messages import explain
from netspec.spec.model import TrainConfig


class ConfigError(Exception):
    """A flag or configuration value is wrong (a usage error)."""


@dataclass(frozen=True)
class RunConfig:
    spec: str
    architecture: str  # Plan.digest() of the network being trained
    data: str
    train: dict[str, Any]  # the TrainConfig fields, resolved
    device: str = "auto"
    data_dir: str | None = None
    max_steps: int | None = None

    @property
    def settings(self) -> TrainConfig:
        return TrainConfig.model_validate(self.train)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        return cls(**data)


# Flags that may differ when a run resumes: they do not change what is computed.
RESUMABLE_CHANGES = {"device", "data_dir"}


def resolve(
    spec_path: Path,
    architecture: str,
    defaults: TrainConfig,
    overrides: dict[str, Any],
    device: str = "auto",
    data_dir: str | None = None,
    max_steps: int | None = None,
) -> RunConfig:
    """The spec's train section with the flags that were given laid over it."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        settings = TrainConfig.model_validate({**defaults.model_dump(), **given})
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        flag = "--" + str(problem["loc"][0]).replace("_", "-")
        raise ConfigError(f"{flag}: {explain(problem)}") from error
    if settings.data is None:
        raise ConfigError(
            "no data set: give --data (fashion_mnist, mnist or cifar10) or set train.data in "
            "the spec"
        )
    return RunConfig(
        spec=str(spec_path),
        architecture=architecture,
        data=settings.data,
        train=settings.model_dump(),
        device=device,
        data_dir=data_dir,
        max_steps=max_steps,
    )


def resumed(saved: RunConfig, requested: RunConfig, explicit: set[str]) -> RunConfig:
    """The saved configuration of a run being resumed. Flags given now must agree with it, or
    the result would not be the run that was started."""
    changes = []
    for key in explicit:
        if key in RESUMABLE_CHANGES:
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
    if saved.architecture != requested.architecture:
        raise ConfigError(
            f"the network in {requested.spec} is not the one this run was started with; "
            "resume with that spec, or start a new run"
        )
    return RunConfig(
        spec=saved.spec,
        architecture=saved.architecture,
        data=saved.data,
        train=saved.train,
        device=requested.device if "device" in explicit else saved.device,
        data_dir=requested.data_dir if "data_dir" in explicit else saved.data_dir,
        max_steps=saved.max_steps,
    )
