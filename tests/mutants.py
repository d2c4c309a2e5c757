"""Mutated specs, as a hostile-input campaign makes them: deterministic for a seed.

Every shipped spec (and the tutorial specs under tests/data) is a starting point; a mutant is
that text with one to three mutations, at the level of lines and characters (a deleted line, a
wrong indent, a control character, invalid UTF-8, a truncated file) or of values (a scalar
replaced by a hostile one: huge or negative numbers, bad tags, aliases, deep nesting, names that
generated code uses, `repeat: 1000000000`). Used by tests/test_fuzz_mutants.py (a slice in CI)
and benchmarks/fuzz_specs.py (long campaigns).
"""

from __future__ import annotations

import builtins
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "tests" / "data").glob("*.yaml"))

# Names generated code binds, Python builtins and keyword-adjacent words.
NAMES = [
    "print", "tuple", "model", "output", "torch", "nn", "self", "forward", "x", "input",
    "main", "super", "OrderedDict", "INPUT_SHAPE", "in_channels", "match", "case", "type",
    "True_", "None_", "__init__", "cls", "blk_a", "blkA", *sorted(dir(builtins))[::9],
]  # fmt: skip
HOSTILE_VALUES = [
    "0", "-1", "1.5", "-0.0", "100000000000000000000000000000", "9" * 5000, "-0x" + "f" * 300,
    "9223372036854775807", "9223372036854775808", "4294967296", "1.0e+308", "-1.0e+308",
    "1e400", ".nan", ".inf", "-.inf", '""', "''", "null", "~", "true", "no", "[]", "{}",
    "[1, 2, 3, 4]", "[0, 0]", "[-1]", "!!int abc", '!!int ""', "!!int 0x", "!!float .",
    "!!float abc", "!!bool maybe", "!foo bar", "!!binary aGk=", "*undefined", "&a [1, *a]",
    "? {a: [1]}", '"\\e]0;pwned-title\\a\\e[2J"', '"\\x00\\u202e"', "a" * 20_000, "same",
    "valid", "reflect", "c * 99999999999", "c * c * c * c", "c // 0", "(c", "2 ** 64",
    "1000000000", "-5", "{out_channels: 0, kernel_size: 0}", "[[[[[[[[[[]]]]]]]]]]",
    *NAMES,
]  # fmt: skip
INSERTED = [
    "\x00", "\x07", "\x1b", "\t", "\r", "\u202e", "\ufeff", "\x85", ":", "-", "[", "]", "{",
    "}", "&", "*", "!", "#", '"', "'", "|", ">", "%", "@", "`", ",", "?", " ", "\n",
]  # fmt: skip
_SCALAR = re.compile(r"(?<=[:\[{,-] )[^\s,\[\]{}#][^,\[\]{}#\n]*?(?=\s*(?:[,\]}]|#|$))", re.M)


def mutant(seed: int) -> tuple[str, bytes]:
    """The mutant for a seed: (the name of the spec it came from, its bytes)."""
    rng = random.Random(seed)
    source = rng.choice(SOURCES)
    text = source.read_text()
    for _ in range(rng.choice((1, 1, 2, 3))):
        text = rng.choice(_TEXT_MUTATIONS)(text, rng)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:  # bytes that are not UTF-8
        cut = rng.randrange(len(data) + 1)
        data = (
            data[:cut] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]) + data[cut:]
        )
    return source.name, data


def _lines(text: str) -> list[str]:
    return text.split("\n")


def delete_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def duplicate_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    lines.insert(index, lines[index])
    return "\n".join(lines)


def swap_lines(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def reindent(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    if rng.random() < 0.5:
        lines[index] = "  " + lines[index]
    else:
        lines[index] = lines[index][2:] if lines[index].startswith("  ") else lines[index]
    return "\n".join(lines)


def insert_character(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(INSERTED) * rng.choice((1, 1, 2, 50)) + text[at:]


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text) + 1)]


def replace_scalar(text: str, rng: random.Random) -> str:
    scalars = list(_SCALAR.finditer(text))
    if not scalars:
        return insert_character(text, rng)
    chosen = rng.choice(scalars)
    return text[: chosen.start()] + rng.choice(HOSTILE_VALUES) + text[chosen.end() :]


def insert_repeat(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    items = [i for i, line in enumerate(lines) if line.lstrip().startswith("- ")]
    if not items:
        return text
    index = rng.choice(items)
    indent = " " * (len(lines[index]) - len(lines[index].lstrip()) + 2)
    count = rng.choice(
        ["1000000000", "2", "4001", "0", "-3", "c * 1000", "n", "9223372036854775807"]
    )
    lines.insert(index + 1, f"{indent}repeat: {count}")
    return "\n".join(lines)


def rename(text: str, rng: random.Random) -> str:
    """A spec, block, layer or parameter name replaced by one that generated code uses."""
    names = list(re.finditer(r"(?<=name: )[A-Za-z_]\w*|^  ([A-Za-z_]\w*)(?=:\s*$)", text, re.M))
    if not names:
        return replace_scalar(text, rng)
    chosen = rng.choice(names)
    start, end = chosen.span(1) if chosen.group(1) else chosen.span()
    return text[:start] + rng.choice(NAMES) + text[end:]


def append_hostile_key(text: str, rng: random.Random) -> str:
    depth = rng.choice((10, 70, 1000, 100_000))
    bomb = "".join(
        f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, rng.choice((3, 8)))
    )
    extra = rng.choice(
        [
            "extra: " + "[" * depth + "]" * depth,
            "b0: &b0 [x, x, x, x, x, x, x, x, x, x]\n" + bomb,
            "? [a, b]\n: 1",
            '"\\e]0;pwned-title\\a\\e[2J": 1',
            "---\nname: second",
            "# " + "comment " * 2000,
        ]
    )
    return text.rstrip("\n") + "\n" + extra + "\n"


_TEXT_MUTATIONS: list[Callable[[str, random.Random], str]] = [
    delete_line, duplicate_line, swap_lines, reindent, insert_character, truncate,
    replace_scalar, replace_scalar, replace_scalar, insert_repeat, rename, rename,
    append_hostile_key,
]  # fmt: skip


# --- running one mutant -----------------------------------------------------------------------

COMMANDS = [
    ["check", "{spec}"],
    ["check", "--json", "{spec}"],
    ["compile", "{spec}", "-o", "{out}.py"],
    ["draw", "{spec}", "--format", "dot", "-o", "{out}.dot"],
]
MEMORY_LIMIT = 2 * 1024**3  # address space: a safety net; the peak resident size is reported


@dataclass(frozen=True)
class Outcome:
    """How one run of the CLI on a mutant ended."""

    argv: tuple[str, ...]
    exit_code: int | None  # None: killed at the time limit
    seconds: float
    peak_mib: float  # resident set high-water mark of the process (VmHWM)
    stderr: str

    def problems(self, spec: str) -> list[str]:
        """What is wrong with this outcome, by the issue's rules (empty: a clean run)."""
        found = []
        if self.exit_code is None:
            found.append("timeout")
        elif self.exit_code not in (0, 1, 2):
            found.append(f"exit {self.exit_code}")
        if "Traceback" in self.stderr:
            found.append("traceback")
        for line in self.stderr.splitlines():
            if not line.startswith((spec, "netspec", "wrote ")):
                found.append(f"unlocated message: {line[:120]}")
                break
        return found


def run_in_fork(argv: list[str], timeout: float, work: Path) -> Outcome:
    """Run ``netspec.cli.main(argv)`` in a forked child, so that nothing carries over between
    runs and a hang or a blow-up is contained: killed at ``timeout`` seconds."""
    import os
    import resource
    import signal
    import sys
    import time

    out, err, peak = work / "stdout", work / "stderr", work / "peak"
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 99
        try:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
            for target, stream in ((out, 1), (err, 2)):
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(descriptor, stream)
                os.close(descriptor)
            from netspec.cli import main

            status = main(argv)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        finally:
            with open("/proc/self/status") as proc:
                hwm = next((line.split()[1] for line in proc if line.startswith("VmHWM")), "0")
            peak.write_text(hwm)
            os._exit(status)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code: int | None = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code = None
            break
        time.sleep(0.002)
    seconds = time.perf_counter() - start
    hwm = peak.read_text() if peak.exists() else "0"
    peak.unlink(missing_ok=True)
    stderr = err.read_text(errors="replace") if err.exists() else ""
    return Outcome(tuple(argv), code, seconds, int(hwm or 0) / 1024, stderr)


def run_mutant(seed: int, work: Path, timeout: float = 10.0) -> tuple[str, Outcome]:
    """Write the seed's mutant to ``work`` and run one command on it (chosen by the seed)."""
    _, data = mutant(seed)
    spec = work / f"mutant-{seed}.yaml"
    spec.write_bytes(data)
    command = COMMANDS[seed % len(COMMANDS)]
    argv = [part.format(spec=spec, out=work / f"out-{seed}") for part in command]
    outcome = run_in_fork(argv, timeout, work)
    spec.unlink()
    for leftover in work.glob(f"out-{seed}.*"):
        leftover.unlink()
    return str(spec), outcome
