"""Forward+backward time of a compiled spec against the same network written by hand.

    python benchmarks/compiled_vs_handwritten.py [--rounds 7] [--batch 32 256]

For `specs/fashion_cnn.yaml` (a chain, compiled to nn.Sequential) and `specs/residual_cnn.yaml`
(a graph, compiled to an nn.Module class) the script compiles the spec with `netspec compile`'s
code generator, imports the file, and times one training step's forward and backward pass
against a hand-written module in the tutorials' style (F.relu, x.view). Each round times both
(alternating which goes first); the ratio compiled / hand-written is taken per round, so slow
drift of the machine cancels, and the table gives its median and middle half.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - the tutorials' spelling
from torch import nn
from torch.utils import benchmark

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netspec  # noqa: E402
from netspec.names import class_name  # noqa: E402


class FashionCNN(nn.Module):
    """fashion_cnn as the Fashion-MNIST tutorial writes it (with the correct 32·2·2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 16, 3)
        self.conv3 = nn.Conv2d(16, 32, 5)
        self.conv4 = nn.Conv2d(32, 32, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 2 * 2, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv2(F.relu(self.conv1(x)))))
        x = self.pool(F.relu(self.conv4(F.relu(self.conv3(x)))))
        x = x.view(-1, 32 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class ResidualCNN(nn.Module):
    """residual_cnn written by hand, torchvision style."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(16)
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.branch1x1 = nn.Conv2d(16, 16, 1)
        self.branch3x3 = nn.Conv2d(16, 16, 3, padding=1)
        self.classifier = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = F.relu(self.bn0(self.stem(x)))
        out = F.relu(self.bn1(self.conv1(identity)))
        out = self.bn2(self.conv2(out))
        out = self.pool(F.relu(out + identity))
        out = F.relu(torch.cat([self.branch1x1(out), self.branch3x3(out)], dim=1))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.classifier(out)


HANDWRITTEN = {"fashion_cnn": FashionCNN, "residual_cnn": ResidualCNN}


def compiled(spec: str, directory: Path) -> nn.Module:
    checked = netspec.load(ROOT / "specs" / f"{spec}.yaml")
    path = directory / f"{spec}_compiled.py"
    path.write_text(netspec.compile_source(checked))
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    assert checked.graph is not None and checked.spec is not None
    if checked.graph.is_chain():
        return getattr(module, checked.spec.name)()
    return getattr(module, class_name(checked.spec.name))()


def step_timer(model: nn.Module, batch: torch.Tensor) -> benchmark.Timer:
    model.train()
    return benchmark.Timer(
        stmt="model.zero_grad(set_to_none=True); model(x).sum().backward()",
        globals={"model": model, "x": batch},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 256])
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(
        "| network | batch | compiled (ms) | hand-written (ms) | compiled / hand-written "
        "(median of rounds) | middle half of the rounds' ratios |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for spec, hand_written in HANDWRITTEN.items():
            ours, theirs = compiled(spec, Path(tmp)), hand_written()
            assert sum(p.numel() for p in ours.parameters()) == sum(
                p.numel() for p in theirs.parameters()
            )
            for size in args.batch:
                batch = torch.randn(size, 1, 28, 28)
                timers = [step_timer(ours, batch), step_timer(theirs, batch)]
                for timer in timers:
                    timer.blocked_autorange(min_run_time=0.5)  # warm up
                times: list[list[float]] = [[], []]
                ratios = []
                for round_ in range(args.rounds):
                    order = (0, 1) if round_ % 2 == 0 else (1, 0)  # alternate who goes first
                    for i in order:
                        times[i].append(timers[i].blocked_autorange(min_run_time=0.3).median)
                    ratios.append(times[0][-1] / times[1][-1])
                a, b = (statistics.median(t) * 1e3 for t in times)
                low, _, high = statistics.quantiles(ratios, n=4)
                print(
                    f"| {spec} | {size} | {a:.2f} | {b:.2f} | {statistics.median(ratios):.3f} "
                    f"| {low:.3f} – {high:.3f} |"
                )


if __name__ == "__main__":
    main()
