"""netspec's runner against the tutorials' hand-written training loop, on real Fashion-MNIST.

    python benchmarks/runner_vs_loop.py [--rounds 6] [--max-epochs 20]

Both train the fashion_cnn network (specs/fashion_cnn.yaml; the loop uses the same network
written by hand, FashionCNN in compiled_vs_handwritten.py). The loop is the Fashion-MNIST
tutorial's: torchvision's FashionMNIST with ToTensor, DataLoader(batch_size=32, shuffle=True),
Adam at lr 1e-3, a test-set evaluation after every epoch (batch 1000, generous to it).

1. Throughput at the same batch size, 32. In one process, rounds alternate between 300 steps of
   the loop and 300 steps of the runner (its own batches and its own `Run.step`, with the
   tutorial's optimizer settings), so both see the same machine; the speed-up is the median of
   the rounds' ratios. Goal: runner ≥ 1.3× the loop.
2. Wall time to a test accuracy, each with its own settings: the loop as above, the runner as
   `netspec train specs/fashion_cnn.yaml --data fashion_mnist` (the spec's defaults). Each runs
   in its own process, timed from its start (imports and data loading count). Goal: runner ≤
   half the loop's time to 91 %.

Needs the data in /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist) or
$NETSPEC_DATA.
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGETS = (0.90, 0.91)


def prepare_torchvision_root(directory: Path) -> str:
    """torchvision wants the unpacked IDX files in <root>/FashionMNIST/raw/."""
    from netspec.train.catalog import DATASETS, IDX_FILES, find, idx_path

    source, _ = find(DATASETS["fashion_mnist"], None)
    if source is None:
        sys.exit(
            "Fashion-MNIST not found: apt-get install dataset-fashion-mnist, or set NETSPEC_DATA"
        )
    raw = directory / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in IDX_FILES:
        path = idx_path(source, stem)
        assert path is not None
        if path.suffix == ".gz":
            (raw / stem).write_bytes(gzip.decompress(path.read_bytes()))
        else:
            shutil.copy(path, raw / stem)
    return str(directory)


# --augment: the same augmentation both ways, as a tutorial writes it (torchvision transforms
# per image in the DataLoader) and as a spec declares it (the runner's batched steps).
AUGMENT_SPEC = [{"randomcrop": {"padding": 2}}, "randomhorizontalflip", "randomerasing"]


def tutorial_transform(augment: bool) -> object:
    import torchvision.transforms as T  # noqa: N812 - the tutorials' spelling

    if not augment:
        return T.ToTensor()
    return T.Compose(
        [T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.ToTensor(), T.RandomErasing()]
    )


def tutorial_loop(
    data_root: str, augment: bool = False
) -> tuple[Callable[[], Iterator[float]], object]:
    """The tutorial's loop as a generator of per-step timings, and its test set."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - the tutorials' spelling
    import torchvision
    from compiled_vs_handwritten import FashionCNN
    from torch.utils.data import DataLoader

    transform = tutorial_transform(augment)
    train_set = torchvision.datasets.FashionMNIST(data_root, train=True, transform=transform)
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    model = FashionCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def steps() -> Iterator[float]:
        while True:
            for images, labels in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(images), labels)
                loss.backward()
                optimizer.step()
                yield len(labels)

    return steps, model


def runner_steps(data_root: str, augment: bool = False) -> Callable[[], Iterator[float]]:
    """The runner's own batches and step, with the tutorial's optimizer settings."""
    del data_root
    from rich.console import Console

    from netspec.check import load
    from netspec.train.config import resolve
    from netspec.train.runner import Run

    spec = ROOT / "specs" / "fashion_cnn.yaml"
    checked = load(spec)
    assert checked.spec is not None
    tutorial: dict[str, Any] = {
        "batch_size": 32,
        "lr": 0.001,
        "schedule": "none",
        "optimizer": "adam",
    }
    if augment:
        tutorial["augment"] = AUGMENT_SPEC
    config = resolve(spec, checked.valid_graph().digest(), checked.spec.train, tutorial, "cpu")
    run = Run(checked, config, Path(tempfile.mkdtemp()), Console())
    run.prepare(download=False)
    run.model.train()

    def steps() -> Iterator[float]:
        epoch = 0
        while True:
            raw = run.augmenter is not None
            for step, (images, labels) in enumerate(run.train_batches(epoch, seed=0, raw=raw)):
                run.step(*run.augmented(images, labels, epoch, step))
                yield len(labels)
            epoch += 1

    return steps


def throughput(
    data_root: str, rounds: int, steps_per_round: int = 300, augment: bool = False
) -> list[tuple[float, float]]:
    """(loop, runner) images/s per round, alternating which goes first."""
    loop_steps, _ = tutorial_loop(data_root, augment)
    ours, theirs = runner_steps(data_root, augment)(), loop_steps()

    def timed(stream: Iterator[float]) -> float:
        started, images = time.perf_counter(), 0.0
        for _ in range(steps_per_round):
            images += next(stream)
        return images / (time.perf_counter() - started)

    timed(ours), timed(theirs)  # warm-up
    results = []
    for index in range(rounds):
        if index % 2 == 0:
            runner_rate, loop_rate = timed(ours), timed(theirs)
        else:
            loop_rate, runner_rate = timed(theirs), timed(ours)
        results.append((loop_rate, runner_rate))
    return results


def augmented_throughput(rounds: int, steps_per_round: int = 300) -> None:
    """The runner augmenting against the tutorial loop without augmentation and with the same
    augmentation, three streams timed in turn, the order rotating each round."""
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        root = prepare_torchvision_root(Path(tmp) / "data")
        streams = {
            "loop": tutorial_loop(root)[0](),
            "loop augmenting": tutorial_loop(root, augment=True)[0](),
            "runner augmenting": runner_steps(root, augment=True)(),
        }

        def timed(stream: Iterator[float]) -> float:
            started, images = time.perf_counter(), 0.0
            for _ in range(steps_per_round):
                images += next(stream)
            return images / (time.perf_counter() - started)

        for stream in streams.values():
            timed(stream)  # warm-up
        names = list(streams)
        rates: dict[str, list[float]] = {name: [] for name in names}
        for index in range(rounds):
            for name in names[index % 3 :] + names[: index % 3]:
                rates[name].append(timed(streams[name]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 32")
    print(f"the loop augments with {tutorial_transform(True)}")
    print(f"the runner with augment: {AUGMENT_SPEC}")
    print("images/s per round:", *names, sep="  |  ")
    for index in range(rounds):
        print("  " + "  ".join(f"{rates[name][index]:8,.0f}" for name in names))
    runner = rates["runner augmenting"]
    for other in ("loop", "loop augmenting"):
        ratios = [ours / theirs for ours, theirs in zip(runner, rates[other], strict=True)]
        print(
            f"runner augmenting ÷ {other}: median ×{statistics.median(ratios):.2f} (rounds "
            f"{min(ratios):.2f}–{max(ratios):.2f})"
        )


def loop_epochs(data_root: str, max_epochs: int) -> None:
    """The child process of the time-to-accuracy race: the loop, a line per epoch."""
    import torch
    import torchvision
    from torch.utils.data import DataLoader

    torch.manual_seed(0)
    steps, model = tutorial_loop(data_root)
    stream = steps()
    test_set = torchvision.datasets.FashionMNIST(
        data_root, train=False, transform=torchvision.transforms.ToTensor()
    )
    test_loader = DataLoader(test_set, batch_size=1000)
    for epoch in range(1, max_epochs + 1):
        model.train()  # type: ignore[attr-defined]
        for _ in range(60_000 // 32):
            next(stream)
        model.eval()  # type: ignore[attr-defined]
        correct = 0
        with torch.no_grad():
            for images, labels in test_loader:
                correct += (model(images).argmax(1) == labels).sum().item()  # type: ignore[operator]
        print(f"epoch {epoch} test acc {100 * correct / len(test_set):.2f}%", flush=True)


EPOCH_LINES = (
    re.compile(r"^epoch (\d+)/\d+  train .* val loss [\d.]+ acc ([\d.]+)%"),  # netspec train
    re.compile(r"^epoch (\d+) test acc ([\d.]+)%"),  # the loop above
)


def race(command: list[str], max_epochs: int) -> list[tuple[int, float, float]]:
    """(epoch, test accuracy, seconds since start) per epoch, until every target is reached."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        match = next((m for p in EPOCH_LINES if (m := p.match(line))), None)
        if match is None:
            continue
        seen.append((int(match[1]), float(match[2]) / 100, time.perf_counter() - started))
        if seen[-1][1] >= max(TARGETS) or seen[-1][0] >= max_epochs:
            break
    process.terminate()
    process.wait()
    return seen


def first_reaching(seen: list[tuple[int, float, float]], target: float) -> tuple[float | None, str]:
    """Seconds until the target accuracy, and how to print it."""
    for epoch, accuracy, seconds in seen:
        if accuracy >= target:
            return seconds, f"{seconds:.0f} s (epoch {epoch})"
    best = max((accuracy for _, accuracy, _ in seen), default=0.0)
    return None, f"not in {len(seen)} epochs (best {best:.2%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--loop", metavar="ROOT", help=argparse.SUPPRESS)  # the child process
    parser.add_argument(
        "--augment",
        action="store_true",
        help="only the throughput of the runner augmenting (random crop, flip, erasing) against "
        "the loop without and with the same augmentation",
    )
    args = parser.parse_args()
    if args.loop:
        loop_epochs(args.loop, args.max_epochs)
        return

    import torch

    if args.augment:
        augmented_throughput(args.rounds)
        return

    with tempfile.TemporaryDirectory() as tmp:
        root = prepare_torchvision_root(Path(tmp) / "data")
        rates = throughput(root, args.rounds)
        netspec = str(Path(sys.executable).parent / "netspec")
        runner = race(
            [netspec, "train", "specs/fashion_cnn.yaml", "--data", "fashion_mnist",
             "--out", str(Path(tmp) / "run")],
            args.max_epochs,
        )  # fmt: skip
        loop = race(
            [sys.executable, __file__, "--loop", root, "--max-epochs", str(args.max_epochs)],
            args.max_epochs,
        )

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("\nthroughput at batch 32, images/s per round (loop, runner):")
    for loop_rate, runner_rate in rates:
        print(f"  {loop_rate:8,.0f} {runner_rate:8,.0f}  ×{runner_rate / loop_rate:.2f}")
    speedups = [runner / loop for loop, runner in rates]
    print("\nrunner:", *(f"epoch {e}: {a:.2%} at {s:.0f} s" for e, a, s in runner), sep="\n  ")
    print("loop:", *(f"epoch {e}: {a:.2%} at {s:.0f} s" for e, a, s in loop), sep="\n  ")
    print("\n| | hand-written loop | netspec runner | runner vs loop |")
    print("|---|---|---|---|")
    loop_median = statistics.median(r[0] for r in rates)
    runner_median = statistics.median(r[1] for r in rates)
    print(
        f"| training images/s at batch 32 (median of {len(rates)} rounds) | {loop_median:,.0f} | "
        f"{runner_median:,.0f} | {statistics.median(speedups):.2f}× "
        f"(rounds {min(speedups):.2f}–{max(speedups):.2f}) |"
    )
    for target in TARGETS:
        (loop_time, loop_text), (runner_time, runner_text) = (
            first_reaching(loop, target),
            first_reaching(runner, target),
        )
        ratio = f"{runner_time / loop_time:.2f} of the time" if loop_time and runner_time else "—"
        print(
            f"| wall time to {target:.0%} test accuracy | {loop_text} | {runner_text} | {ratio} |"
        )


if __name__ == "__main__":
    main()
