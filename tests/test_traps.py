"""The two size mistakes of the reference tutorials are caught, with the arithmetic and line."""

from __future__ import annotations

from helpers import DATA

from netspec import SpecError, check_file, load


def test_fashion_cnn_in_features_800_is_rejected_with_the_arithmetic() -> None:
    checked = check_file(DATA / "fashion_cnn_tutorial.yaml")
    assert [str(d) for d in checked.diagnostics] == [
        f"{DATA / 'fashion_cnn_tutorial.yaml'}:16:14: linear 'fc1': "
        "in_features is 800 but the input has 128 features (32×2×2)"
    ]
    # Line 16 is the offending layer, as written in the file.
    line = (DATA / "fashion_cnn_tutorial.yaml").read_text().splitlines()[15]
    assert line.strip() == "- linear: {in_features: 800, out_features: 256}"


def test_cifar10_lenet_narration_100_vs_120_is_rejected() -> None:
    checked = check_file(DATA / "cifar10_lenet_narration.yaml")
    assert [str(d) for d in checked.diagnostics] == [
        f"{DATA / 'cifar10_lenet_narration.yaml'}:15:14: linear 'fc2': "
        "in_features is 120 but the input has 100 features"
    ]
    line = (DATA / "cifar10_lenet_narration.yaml").read_text().splitlines()[14]
    assert line.strip() == "- linear: {in_features: 120, out_features: 84}"


def test_load_raises_with_every_error() -> None:
    try:
        load(DATA / "fashion_cnn_tutorial.yaml")
    except SpecError as error:
        assert len(error.diagnostics) == 1
        assert "in_features is 800" in str(error)
    else:
        raise AssertionError("load() accepted a broken spec")


def test_checking_goes_on_after_a_wrong_size() -> None:
    # The layer after the wrong in_features is still checked with the true size.
    checked = check_file(DATA / "fashion_cnn_tutorial.yaml")
    assert checked.graph is not None
    fc1 = next(r for r in checked.graph.layers() if r.name == "fc1")
    assert fc1.failed and fc1.output is not None and fc1.output.dims == (256,)
    assert checked.graph.output_shape is not None
    assert checked.graph.output_shape.dims == (10,)
