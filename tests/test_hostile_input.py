"""Hostile and broken input (issue 9): every case a clean message and exit 0, 1 or 2, at once.

Each test is a case a fault campaign reproduced through the real CLI: hangs and memory
blow-ups, internal errors on input a user can type, outputs that replaced their input, and
control characters that reached the terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, error_lines

from netspec.cli import main
from netspec.limits import MAX_SPEC_BYTES
from netspec.report import human, human_bytes

INT64_MAX = "9,223,372,036,854,775,807"
OUT_OF_RANGE = f"integer out of range: sizes and counts are 64-bit (at most {INT64_MAX})"


def run(tmp_path: Path, text: str | bytes, *command: str) -> tuple[int, str, str, float]:
    """Write a spec and run ``netspec COMMAND spec`` in this process: (exit, out, err, s)."""
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(text.encode() if isinstance(text, str) else text)
    return run_main(*(arg.replace("SPEC", str(spec)) for arg in command))


def run_main(*argv: str) -> tuple[int, str, str, float]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - start


def errors_of(tmp_path: Path, text: str | bytes) -> list[str]:
    code, _, err, seconds = run(tmp_path, text, "check", "-q", "SPEC")
    assert code == 1
    assert seconds < 5, "far past the 1 s the fuzzing campaign holds every spec to"
    prefix = str(tmp_path / "spec.yaml")
    lines = err.splitlines()
    assert lines[-1].startswith(f"{prefix}: ")
    return [line.replace(prefix, "spec.yaml") for line in lines[:-1]]


# --- 1. hangs and memory blow-ups ---------------------------------------------------------------

REPEAT = "name: r\ninput: [4]\nlayers:\n  - relu:\n    repeat: {}\n"


@pytest.mark.parametrize("count", ["1000000000", "9223372036854775807"])
def test_a_huge_repeat_is_refused_at_once(tmp_path: Path, count: str) -> None:
    assert errors_of(tmp_path, REPEAT.format(count)) == [
        f"spec.yaml:5:13: repeat: {int(count):,} copies is more than the 2,000 layers a "
        "network may have"
    ]


def test_a_repeat_past_int64_is_out_of_range(tmp_path: Path) -> None:
    assert errors_of(tmp_path, REPEAT.format(2**63)) == [
        f"spec.yaml:5:13: invalid YAML: {OUT_OF_RANGE}, got 9223372036854775808"
    ]


def test_a_repeat_expression_is_bounded_too(tmp_path: Path) -> None:
    text = (
        "name: r\ninput: [4]\nblocks:\n  b:\n    params: {n: 10}\n    layers:\n"
        "      - relu:\n        repeat: n * 1000000000\nlayers:\n  - b\n"
    )
    assert errors_of(tmp_path, text) == [
        "spec.yaml:8:17: repeat: 10,000,000,000 copies is more than the 2,000 layers a network "
        "may have (in b 'b_1', used at line 10)"
    ]


ALIAS_BOMB = "".join(
    [
        "name: bomb\ninput: [4]\nlayers: [relu]\n",
        "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8)),
    ]
)


def test_an_alias_bomb_is_counted_not_expanded(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB) < 600
    assert errors_of(tmp_path, ALIAS_BOMB) == [
        "spec.yaml:8:15: invalid YAML: the spec holds more than 30,000 values (aliases "
        "counted at their expanded size), more than any network needs"
    ]


def test_aliases_are_shared_values(tmp_path: Path) -> None:
    text = "name: a\ninput: [4]\nlayers:\n  - &fc {linear: 8}\n  - *fc\n  - *fc\n"
    code, out, _, _ = run(tmp_path, text, "check", "SPEC")
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines() if "linear_" in line] == [
        ["linear_1", "linear"],
        ["linear_2", "linear"],
        ["linear_3", "linear"],
    ]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["check", "compile", "draw"])
def test_devices_are_refused_unread(device: str, command: str) -> None:
    code, _, err, seconds = run_main(command, device)
    prefix = "netspec check" if command == "check" else "netspec"
    assert (code, err) == (
        2,
        f"{prefix}: error: {device}: is a character device, not a spec file\n",
    )
    assert seconds < 1


def test_a_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    code, _, err, seconds = run_main("check", str(fifo))
    assert (code, err) == (2, f"netspec check: error: {fifo}: is a pipe (FIFO), not a spec file\n")
    assert seconds < 1


def test_output_to_a_pipe_no_one_reads_is_refused(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "lenet.yaml"
    fifo = tmp_path / "model.py"
    os.mkfifo(fifo)
    code, _, err, seconds = run_main("compile", str(spec), "-o", str(fifo))
    assert (code, err) == (
        2,
        f"netspec: error: cannot write {fifo}: a pipe that no process is reading\n",
    )
    assert seconds < 2


def test_a_spec_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    text = "name: big\ninput: [4]\nlayers:\n" + "  - relu\n" * (MAX_SPEC_BYTES // 9 + 1)
    assert errors_of(tmp_path, text) == [
        "spec.yaml:1:1: the file is larger than 1 MiB, the most netspec reads of a spec"
    ]


def test_a_spec_just_under_the_limit_is_read_in_bounded_time(tmp_path: Path) -> None:
    # ~116,000 layers written out: refused by the value count while reading, not after
    text = "name: big\ninput: [4]\nlayers:\n" + "  - relu\n" * (MAX_SPEC_BYTES // 9 - 10)
    [error] = errors_of(tmp_path, text)
    assert error.endswith(
        "the spec holds more than 30,000 values (aliases counted at their "
        "expanded size), more than any network needs"
    )


def test_megabytes_of_comments_are_read_quickly(tmp_path: Path) -> None:
    comment = "# " + "x" * 97 + "\n"
    text = "name: c\ninput: [4]\nlayers: [relu]\n" + comment * (MAX_SPEC_BYTES // 100 - 1)
    code, _, _, seconds = run(tmp_path, text, "check", "-q", "SPEC")
    assert code == 0
    assert seconds < 5


def test_the_worst_spec_under_the_limit_stays_within_time_and_memory(tmp_path: Path) -> None:
    """The issue's bound, in a fresh process: a spec under 1 MB in 1 s and 200 MB (here with
    room for a loaded machine: 4 s; the fuzz campaign reports the real figures)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: w\ninput: [4]\nlayers:\n" + "  - relu\n" * 1_999)
    # The child reports its own peak (VmHWM): rusage would count the pages it shared with
    # this test process (torch loaded) between fork and exec.
    probe = (
        "import sys\nfrom netspec.cli import main\ncode = main(sys.argv[1:])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(peak.split()[1], file=sys.stderr)\nsys.exit(code)\n"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", probe, "check", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    *messages, peak_kib = result.stderr.splitlines()
    assert (result.returncode, messages) == (0, [f"{spec}: ok"])
    assert "relu_1999   relu   (N, 4)" in result.stdout
    assert seconds < 4
    assert int(peak_kib) < 200 * 1024


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    text = "name: n\ninput: [4]\nlayers: [relu]\ntrain: " + "[" * 100_000 + "]" * 100_000
    assert errors_of(tmp_path, text) == [
        "spec.yaml:4:71: invalid YAML: nested deeper than 64 levels of mappings and lists"
    ]


# --- 2. exit 3 on input a user can type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "!!int: 'abc' is not an integer"),
        ('!!int ""', "!!int: '' is not an integer"),
        ("!!int 0x", "!!int: '0x' is not an integer"),
        ("!!float abc", "!!float: 'abc' is not a number"),
        ("!!float .", "!!float: '.' is not a number"),
        ("!!bool maybe", "!!bool: 'maybe' is not true or false"),
        ("!foo bar", "unknown tag '!foo'"),
        ("!!binary aGk=", "unknown tag 'tag:yaml.org,2002:binary'"),
        ("1" * 5000, f"{OUT_OF_RANGE}, got a number written with 5,000 characters"),
        ("-0x" + "f" * 5000, f"{OUT_OF_RANGE}, got a number written with 5,003 characters"),
        ("100000000000000000000", f"{OUT_OF_RANGE}, got 100000000000000000000"),
    ],
)
def test_tags_and_numbers_that_cannot_be_read(tmp_path: Path, value: str, message: str) -> None:
    text = f"name: t\ninput: [4]\nlayers:\n  - linear: {value}\n"
    assert errors_of(tmp_path, text) == [f"spec.yaml:4:13: invalid YAML: {message}"]


def test_a_complex_key_holding_a_list(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "? {a: [1]}\n: 3\nname: t\n") == [
        "spec.yaml:1:3: invalid YAML: a key must be a word or a number, not a mapping"
    ]


def test_several_yaml_problems_are_reported_together(tmp_path: Path) -> None:
    text = "name: t\nname: u\ninput: [!!int x, *nowhere]\nlayers: [relu]\n"
    assert errors_of(tmp_path, text) == [
        "spec.yaml:2:1: invalid YAML: duplicate key 'name' (first at line 1)",
        "spec.yaml:3:9: invalid YAML: !!int: 'x' is not an integer",
        "spec.yaml:3:18: invalid YAML: alias *nowhere names no anchor above it",
    ]


@pytest.mark.parametrize("command", [["check", "-q"], ["check", "--json"], ["compile"], ["draw"]])
def test_huge_numbers_in_every_command(tmp_path: Path, command: list[str]) -> None:
    text = f"name: t\ninput: [4]\nlayers:\n  - linear: {'9' * 5000}\n"
    code, out, err, _ = run(tmp_path, text, *command, "SPEC")
    assert code == 1
    assert "internal error" not in err
    assert "got a number written with 5,000 characters" in (out + err)


def test_a_size_derived_past_int64(tmp_path: Path) -> None:
    text = "name: t\ninput: [3, 3037000500, 3037000500]\nlayers:\n  - flatten\n  - linear: 2\n"
    assert errors_of(tmp_path, text) == [
        "spec.yaml:2:8: input: [3, 3037000500, 3037000500] has about 2^64 elements per sample, "
        f"more than a tensor can hold (at most {INT64_MAX})"
    ]
    text = "name: t\ninput: [4000000000]\nlayers:\n  - linear: 4000000000\n"
    assert errors_of(tmp_path, text) == [
        "spec.yaml:4:5: linear 'linear_1': the parameter 'weight' (4000000000×4000000000) has "
        f"about 2^63 elements, more than a tensor can hold (at most {INT64_MAX})"
    ]


def test_a_block_expression_past_int64(tmp_path: Path) -> None:
    text = (
        "name: t\ninput: [4]\nblocks:\n  b:\n    params: {c: 4294967296}\n    layers:\n"
        "      - linear: c * c * c\nlayers:\n  - b\n"
    )
    assert errors_of(tmp_path, text) == [
        "spec.yaml:7:17: linear 'b_1.linear_1': out_features: c * c = 18446744073709551616 is "
        f"out of range in 'c * c * c': sizes and counts are 64-bit (at most {INT64_MAX}) (in b "
        "'b_1', used at line 9)"
    ]


def test_totals_past_a_float_print() -> None:
    assert human(10**400) == "1.0e+400"
    assert human_bytes(4 * 10**400) == "4.0e+400 B"
    assert (human(416_520), human(1_814_073_344), human_bytes(246_824)) == (
        "416.5 K",
        "1.8 G",
        "241.0 KiB",
    )


def test_a_block_that_uses_an_invalid_block(tmp_path: Path) -> None:
    text = (
        "name: t\ninput: [4]\nblocks:\n  bad:\n    layers: 5\n  good:\n    layers:\n"
        "      - bad\nlayers:\n  - good\n  - bad\n"
    )
    assert errors_of(tmp_path, text) == [
        "spec.yaml:5:13: block 'bad': expected a non-empty list of layers, got 5"
    ]


def test_a_float_argument_must_be_a_float32(tmp_path: Path) -> None:
    text = "name: t\ninput: [4]\nlayers:\n  - leakyrelu: 1.0e+308\n"
    assert errors_of(tmp_path, text) == [
        "spec.yaml:4:16: leakyrelu 'leakyrelu_1': negative_slope: must be ≤ "
        "3.4028234663852886e+38, got 1e+308"
    ]


def test_output_to_a_full_device(tmp_path: Path) -> None:
    spec = str(ROOT / "specs" / "lenet.yaml")
    code, _, err, _ = run_main("compile", spec, "-o", "/dev/full")
    assert (code, err) == (2, "netspec: error: cannot write /dev/full: No space left on device\n")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "netspec", "compile", spec],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert (result.returncode, result.stderr) == (
        1,
        "netspec: cannot write the output: No space left on device\n",
    )


def test_output_through_a_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.py"
    loop.symlink_to(loop)
    code, _, err, _ = run_main("compile", str(ROOT / "specs" / "lenet.yaml"), "-o", str(loop))
    assert (code, err) == (
        2,
        f"netspec: error: cannot write {loop}: {loop}: too many levels of symbolic links\n",
    )


# --- 4. data loss -------------------------------------------------------------------------------


def lenet_copy(tmp_path: Path) -> Path:
    spec = tmp_path / "lenet.yaml"
    spec.write_bytes((ROOT / "specs" / "lenet.yaml").read_bytes())
    return spec


def test_compile_never_replaces_its_spec(tmp_path: Path) -> None:
    spec = lenet_copy(tmp_path)
    before = spec.read_bytes()
    code, _, err, _ = run_main("compile", str(spec), "-o", str(spec))
    assert (code, err) == (
        2,
        f"netspec: error: -o {spec} is the spec being read ({spec}): not replacing it\n",
    )
    link = tmp_path / "model.dot"
    link.symlink_to(spec)
    code, _, err, _ = run_main("draw", str(spec), "--format", "dot", "-o", str(link))
    assert code == 2
    assert "is the spec being read" in err
    assert spec.read_bytes() == before


def test_no_output_replaces_a_yaml_file(tmp_path: Path) -> None:
    spec = lenet_copy(tmp_path)
    other = tmp_path / "other.yml"
    other.write_text("name: other\n")
    for argv in (["schema", "-o", str(spec)], ["compile", str(spec), "-o", str(other)]):
        code, _, err, _ = run_main(*argv)
        assert code == 2
        assert (
            "not replacing a YAML file (perhaps a spec); choose another name, or remove it" in err
        )
    assert other.read_text() == "name: other\n"


def test_a_read_only_output_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    target.write_text("kept\n")
    target.chmod(0o444)
    code, _, err, _ = run_main("compile", str(ROOT / "specs" / "lenet.yaml"), "-o", str(target))
    assert (code, err) == (
        2,
        f"netspec: error: cannot write {target}: Permission denied: the file is read-only\n",
    )
    assert target.read_text() == "kept\n"


# --- 5. terminal and diagram hygiene ------------------------------------------------------------

ESCAPES = 'name: t\ninput: [4]\nlayers: [relu]\n"\\e]0;pwned-title\\a\\e[2J": 1\n'


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    code, _, err, _ = run(tmp_path, ESCAPES, "check", "-q", "SPEC")
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err
    assert "unknown key '\\x1b]0;pwned-title\\x07\\x1b[2J'" in err


def test_control_characters_in_a_diagram(tmp_path: Path) -> None:
    code, _, err, _ = run(tmp_path, ESCAPES, "draw", "SPEC", "-o", str(tmp_path / "d.svg"))
    assert code == 1
    assert "Graphviz failed" not in err
    svg = (tmp_path / "d.svg").read_text()
    assert "\x1b" not in svg and "\x07" not in svg
    assert "unknown key" in svg


def test_raw_control_characters_have_a_line_and_column(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "name: t\ninput: [4]\nlayers: [re\x07lu]\n") == [
        "spec.yaml:3:12: invalid YAML: control character U+0007 is not allowed in a YAML file "
        '(inside double quotes, write it as "\\a")'
    ]


def test_bytes_that_are_not_utf8_have_a_line_and_column(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"name: t\ninput: [4]\nlayers: [r\xffelu]\n") == [
        "spec.yaml:3:11: not UTF-8 text: byte 0xff cannot start a character here"
    ]


def test_error_lines_are_named_even_within_the_limits() -> None:
    # a sanity check of the helper the cases above rely on
    assert error_lines("name: t\ninput: [4]\nlayers: [relu]\n") == []


def test_a_megabyte_word_is_quoted_in_part(tmp_path: Path) -> None:
    text = "name: t\ninput: [4]\nlayers:\n  - " + "x" * 900_000 + "\n"
    [error] = errors_of(tmp_path, text)
    assert error == (
        "spec.yaml:4:5: unknown layer kind '"
        + "x" * 380
        + "…[899,541 characters]…"
        + "x" * 79
        + "'"
    )


def test_json_output_escapes_what_json_leaves_raw(tmp_path: Path) -> None:
    text = 'name: t\ninput: [4]\nlayers: [relu]\ntrain: {batch_size: "\\x7f\\x9b\\u2028\\u202e"}\n'
    code, out, _, _ = run(tmp_path, text, "check", "--json", "SPEC")
    assert code == 1
    assert not any(character in out for character in "\x7f\x9b\u2028\u202e")
    [diagnostic] = json.loads(out)["specs"][0]["diagnostics"]
    assert diagnostic["message"] == (
        "train.batch_size: expected an integer, got '\x7f\x9b\u2028\u202e' (a string)"
    )


def test_a_line_separator_never_splits_a_diagnostic(tmp_path: Path) -> None:
    text = 'name: t\ninput: [1, 8]\nlayers:\n  - relu: {inplace: "a\\u2028b\\u0085c"}\n'
    assert errors_of(tmp_path, text) == [
        "spec.yaml:4:21: relu 'relu_1': inplace: expected true or false, got "
        "'a\\u2028b\\x85c' (a string)"
    ]


def test_a_diagram_lists_a_few_errors_a_node(tmp_path: Path) -> None:
    # 300 layers share a name: each has the 299 duplicate errors, which were all drawn
    text = "name: t\ninput: [8]\nlayers:\n" + "  - {relu: null, name: same}\n" * 300
    out = tmp_path / "d.dot"
    code, _, _, seconds = run(tmp_path, text, "draw", "SPEC", "--format", "dot", "-o", str(out))
    assert code == 1
    assert seconds < 5
    dot = out.read_text()
    assert dot.count("duplicate layer name (first used at line 4)") == 3 * 300
    assert dot.count("… and 296 more errors") == 300


def test_long_expressions_in_a_repeated_layer_cost_once(tmp_path: Path) -> None:
    """Found by the fuzzing campaign: 190-character expressions in six arguments of a layer
    repeated 3,990 times took 21 s to check and 50 s to compile."""
    minus = '"' + "-" * 190 + 'c"'
    arguments = ", ".join(
        f"{name}: {minus}"
        for name in ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
    )
    text = (
        "name: t\ninput: [1, 8, 8]\nblocks:\n  b:\n    params: {c: null}\n    layers:\n"
        f"      - conv2d: {{{arguments}}}\n        repeat: 1990\nlayers:\n  - b: {{c: 1}}\n"
    )
    code, _, err, seconds = run(tmp_path, text, "check", "-q", "SPEC")
    assert code == 1
    assert seconds < 5
    assert "out_channels: expected an integer, got '" + "-" * 190 + "c' (a string)" in err


def test_an_expression_nests_at_most_32_levels() -> None:
    from netspec.spec import expr

    assert expr.evaluate(expr.parse("-" * 32 + "c"), {"c": 3}) == 3
    with pytest.raises(expr.ExprError, match="nests deeper than 32 levels"):
        expr.parse("(" * 33 + "c" + ")" * 33)


def test_draw_lays_out_at_most_a_thousand_nodes(tmp_path: Path) -> None:
    text = "name: t\ninput: [8]\nlayers:\n" + "  - relu\n" * 1_001
    code, _, err, _ = run(tmp_path, text, "draw", "SPEC", "-o", str(tmp_path / "d.svg"))
    assert (code, err.splitlines()[-1]) == (
        1,
        f"{tmp_path / 'spec.yaml'}: not drawn: 1,001 nodes is more than Graphviz lays out in "
        "reasonable time (1,000); draw blocks as one node with --depth, or write the graph "
        "with --format dot",
    )
    code, _, _, _ = run(tmp_path, text, "draw", "SPEC", "-o", str(tmp_path / "d.dot"))
    assert code == 0
