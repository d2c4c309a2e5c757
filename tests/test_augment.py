"""Data augmentation (``train: augment:``): the spec's steps and errors, and the batched runtime,
image by image against torchvision.transforms.v2 itself.

The runtime's steps draw each image's parameters (``draw``) apart from using them (``apply``),
so each test draws, applies to the whole batch, and compares every image with torchvision's
functional API given that image's parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import heavy_modules_after
from pydantic import ValidationError
from scipy import stats
from torch import Tensor
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF  # noqa: N812 - torchvision's spelling

from netspec.check import check_file
from netspec.spec.augment import (
    ColorJitter,
    CutMix,
    MixUp,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
)
from netspec.spec.model import TrainConfig
from netspec.train.augment import (
    Augmenter,
    ColorJitterStep,
    FlipStep,
    Mixing,
    RandomCropStep,
    RandomErasingStep,
    RandomResizedCropStep,
    batch_generator,
    beta_draws,
    runtime_step,
)

ALL_STEPS = (
    "randomcrop, randomhorizontalflip, randomverticalflip, randomresizedcrop, colorjitter, "
    "randomerasing, mixup, cutmix"
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def byte_images(count: int = 24, channels: int = 3, height: int = 9, width: int = 11) -> Tensor:
    """Random uint8 images, not square, so that rows and columns cannot be mixed up."""
    shape = (count, channels, height, width)
    return torch.randint(0, 256, shape, generator=generator(1), dtype=torch.uint8)


def unit_images(count: int = 24, channels: int = 3, height: int = 9, width: int = 11) -> Tensor:
    """Random float images in [0, 1]."""
    return torch.rand((count, channels, height, width), generator=generator(2))


def steps(*written: Any, loss: str = "cross_entropy") -> tuple[Any, ...]:
    return TrainConfig.model_validate({"augment": list(written), "loss": loss}).augment


def first_error(settings: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as raised:
        TrainConfig.model_validate(settings)
    error = raised.value.errors(include_url=False)[0]
    return error["loc"], error["msg"]


# The spec side ------------------------------------------------------------------------------


def test_bare_names_take_torchvisions_defaults() -> None:
    crop, hflip, vflip, resized, jitter, erasing, mixup, cutmix = steps(
        "randomcrop",
        "randomhorizontalflip",
        {"randomverticalflip": None},
        "randomresizedcrop",
        "colorjitter",
        "randomerasing",
        "mixup",
        "cutmix",
    )
    assert (crop.size, crop.padding, crop.fill, crop.padding_mode) == (None, 0, 0, "constant")
    assert not crop.pad_if_needed
    assert hflip.p == v2.RandomHorizontalFlip().p and vflip.p == v2.RandomVerticalFlip().p
    theirs = v2.RandomResizedCrop(8)
    assert (resized.scale, resized.ratio) == (tuple(theirs.scale), tuple(theirs.ratio))
    assert jitter == ColorJitter()  # all None: v2.ColorJitter() changes nothing either
    theirs_erasing = v2.RandomErasing()
    assert (erasing.p, erasing.scale, erasing.ratio) == (
        theirs_erasing.p,
        tuple(theirs_erasing.scale),
        tuple(theirs_erasing.ratio),
    )
    assert [erasing.value] == theirs_erasing.value
    assert mixup.alpha == v2.MixUp(num_classes=10).alpha
    assert cutmix.alpha == v2.CutMix(num_classes=10).alpha


def test_arguments_take_torchvisions_forms() -> None:
    crop, jitter, erasing = steps(
        {"randomcrop": {"size": [6, 8], "padding": [1, 2], "padding_mode": "reflect"}},
        {"colorjitter": {"brightness": 0.4, "contrast": 1.5, "saturation": [0.5, 2], "hue": 0.1}},
        {"randomerasing": {"value": "random", "scale": [0.1, 0.2]}},
    )
    assert (crop.size, crop.padding) == ((6, 8), (1, 2))
    theirs = v2.ColorJitter(brightness=0.4, contrast=1.5, saturation=[0.5, 2], hue=0.1)
    for name in ("brightness", "contrast", "saturation", "hue"):
        assert getattr(jitter, name) == pytest.approx(getattr(theirs, name))
    assert (erasing.value, erasing.scale) == ("random", (0.1, 0.2))


def test_the_settings_round_trip_through_their_dump() -> None:
    settings = TrainConfig.model_validate(
        {
            "augment": [
                {"randomcrop": {"padding": 4}},
                "randomhorizontalflip",
                {"colorjitter": {"hue": 0.1}},
                {"randomerasing": {"value": "random"}},
                {"mixup": {"alpha": 0.2}},
                "cutmix",
            ],
            "label_smoothing": 0.1,
        }
    )
    dumped = settings.model_dump()
    assert dumped["augment"][0] == {
        "randomcrop": {
            "size": None,
            "padding": 4,
            "pad_if_needed": False,
            "fill": 0,
            "padding_mode": "constant",
        }
    }
    assert TrainConfig.model_validate(dumped) == settings  # what the runner's resolve() does
    assert TrainConfig.model_validate_json(settings.model_dump_json()) == settings  # config.json
    assert hash(settings) == hash(TrainConfig.model_validate(dumped))  # frozen and hashable
    assert TrainConfig().augment == () and TrainConfig().label_smoothing == 0.0


@pytest.mark.parametrize(
    ("augment", "loc", "message"),
    [
        (
            ["randomflip"],
            ("augment", 0),
            f"unknown augmentation step 'randomflip'; the steps are {ALL_STEPS}",
        ),
        (
            [{"random_crop": {"padding": 4}}],
            ("augment", 0),
            "unknown augmentation step 'random_crop' (did you mean 'randomcrop'?); the steps "
            f"are {ALL_STEPS}",
        ),
        (
            ["RandomHorizontalFlip"],
            ("augment", 0),
            "unknown augmentation step 'RandomHorizontalFlip' (did you mean "
            f"'randomhorizontalflip'?); the steps are {ALL_STEPS}",
        ),
        (
            [{"randomcrop": {"pading": 4}}],
            ("augment", 0, "randomcrop"),
            "unknown argument 'pading' (did you mean 'padding'?); randomcrop takes: size, "
            "padding, pad_if_needed, fill, padding_mode",
        ),
        (
            [{"randomresizedcrop": {"scale": [1.0, 0.5]}}],
            ("augment", 0, "randomresizedcrop", "scale"),
            "expected [low, high] with 0 < low ≤ high ≤ 1, got [1.0, 0.5]",
        ),
        (
            [{"randomerasing": {"ratio": [0, 3]}}],
            ("augment", 0, "randomerasing", "ratio"),
            "expected [low, high] with 0 < low ≤ high, got [0, 3]",
        ),
        (
            [{"colorjitter": {"hue": 0.7}}],
            ("augment", 0, "colorjitter", "hue"),
            "expected a number from 0 to 0.5 or [low, high] with -0.5 ≤ low ≤ high ≤ 0.5, got 0.7",
        ),
        (
            [{"colorjitter": {"brightness": -0.1}}],
            ("augment", 0, "colorjitter", "brightness"),
            "expected a number ≥ 0 or [low, high] with 0 ≤ low ≤ high, got -0.1",
        ),
        (
            [{"randomcrop": {"padding": [1, 2, 3]}}],
            ("augment", 0, "randomcrop", "padding"),
            "expected an integer ≥ 0 or a list of 2 (left/right, top/bottom) or 4 (left, top, "
            "right, bottom) of them, got [1, 2, 3]",
        ),
        (
            [{"randomerasing": {"value": "rand"}}],
            ("augment", 0, "randomerasing", "value"),
            "expected a number or 'random', got 'rand' (a string) (did you mean 'random'?)",
        ),
        (
            [{"randomcrop": {"padding": 4}, "mixup": None}],
            ("augment", 0),
            "an entry is one step (- randomcrop: {padding: 4}), found 'randomcrop', 'mixup'",
        ),
        (
            [3],
            ("augment", 0),
            "expected a step name or a mapping of one step to its arguments, got 3",
        ),
        (
            ["randomhorizontalflip", {"mixup": {"alpha": 0.2}}, {"randomcrop": {"padding": 4}}],
            ("augment",),
            "mixup (augment[1]) mixes whole batches and their labels, so it comes after every "
            "per-image step; randomcrop (augment[2]) follows it",
        ),
        (
            ["randomerasing", "colorjitter"],
            ("augment",),
            "randomerasing (augment[0]) erases parts of the normalised images, so it comes "
            "after the steps on pixel values; colorjitter (augment[1]) follows it",
        ),
        (
            ["mixup", "cutmix", "mixup"],
            ("augment",),
            "mixup is given twice (augment[0] and augment[2])",
        ),
    ],
)
def test_augment_errors(augment: list[Any], loc: tuple[Any, ...], message: str) -> None:
    assert first_error({"augment": augment}) == (loc, message)


def test_numbers_are_strict_and_ranged() -> None:
    assert first_error({"augment": [{"randomhorizontalflip": {"p": 1.5}}]}) == (
        ("augment", 0, "randomhorizontalflip", "p"),
        "Input should be less than or equal to 1",
    )
    alpha_0 = first_error({"augment": [{"mixup": {"alpha": 0}}]})
    assert alpha_0[1] == "Input should be greater than 0"
    p_string = first_error({"augment": [{"randomverticalflip": {"p": "0.5"}}]})
    assert p_string[1] == "Input should be a valid number"
    assert first_error({"augment": [{"randomcrop": {"fill": 256}}]})[0][-1] == "fill"
    assert first_error({"label_smoothing": 1.0}) == (
        ("label_smoothing",),
        "Input should be less than 1",
    )


def test_mixing_and_label_smoothing_need_cross_entropy() -> None:
    assert first_error({"loss": "nll", "augment": ["randomcrop", "mixup"]}) == (
        ("augment",),
        "mixup needs loss: cross_entropy, not nll: it mixes labels into class probabilities",
    )
    assert first_error({"loss": "mse", "augment": ["mixup", "cutmix"]}) == (
        ("augment",),
        "mixup and cutmix need loss: cross_entropy, not mse: they mix labels into class "
        "probabilities",
    )
    assert first_error({"loss": "nll", "label_smoothing": 0.1}) == (
        ("label_smoothing",),
        "label smoothing needs loss: cross_entropy, not nll",
    )
    # per-image steps work with any loss, and so does a smoothing of 0
    TrainConfig.model_validate({"loss": "nll", "augment": ["randomcrop"], "label_smoothing": 0})


SPEC = """\
name: t
input: [1, 28, 28]
layers: [flatten]
train:
  loss: nll
  augment:
    - randomcrop: {padding: 4}
    - randomflip
    - colorjitter: {brightness: 0.4, hue: 0.7}
    - mixup
"""


def test_the_checker_reports_augment_errors_where_they_are(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    assert [str(d) for d in check_file(path).errors] == [
        f"{path}:8:7: train.augment[1]: unknown augmentation step 'randomflip'; the steps are "
        f"{ALL_STEPS}",
        f"{path}:9:43: train.augment[2].colorjitter.hue: expected a number from 0 to 0.5 or "
        "[low, high] with -0.5 ≤ low ≤ high ≤ 0.5, got 0.7",
    ]
    path.write_text(SPEC.replace("    - randomflip\n", "").replace("hue: 0.7", "hue: 0.1"))
    assert [str(d) for d in check_file(path).errors] == [
        f"{path}:7:5: train.augment: mixup needs loss: cross_entropy, not nll: it mixes labels "
        "into class probabilities"
    ]


def test_checking_a_spec_with_augmentation_imports_no_torch(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    fixed = SPEC.replace("    - randomflip\n", "").replace("hue: 0.7", "hue: 0.1")
    path.write_text(fixed.replace("nll", "cross_entropy"))
    assert heavy_modules_after(["check", "-q", str(path)]) == "[0] []"


# The runtime, step by step against torchvision -----------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        {"padding": 2},
        {"padding": [1, 3], "fill": 200},
        {"padding": [1, 2, 3, 4], "padding_mode": "edge"},
        {"padding": 3, "padding_mode": "reflect"},
        {"padding": 4, "padding_mode": "symmetric"},
        {"size": [5, 7]},
        {"size": 12, "pad_if_needed": True, "fill": 9},
        {"size": [12, 14], "padding": 1, "pad_if_needed": True, "padding_mode": "reflect"},
    ],
)
def test_randomcrop_is_torchvisions_crop_of_the_padded_image(arguments: dict[str, Any]) -> None:
    step = RandomCrop.model_validate(arguments)
    crop = RandomCropStep(step)
    images = byte_images()
    height, width = images.shape[-2:]
    # the padding and size torchvision works out (its make_params draws only the offsets)
    theirs = v2.RandomCrop(
        step.size or (height, width),
        padding=step.padding or None,
        pad_if_needed=step.pad_if_needed,
        fill=step.fill,
        padding_mode=step.padding_mode,
    ).make_params([images[0]])
    padding, crop_h, crop_w = crop.layout(height, width)
    assert (list(padding), crop_h, crop_w) == (
        theirs["padding"],
        theirs["height"],
        theirs["width"],
    )
    drawn = crop.draw(images, 255.0, generator())
    cropped = crop.apply(images, drawn)
    assert cropped.dtype == torch.uint8 and cropped.shape == (len(images), 3, crop_h, crop_w)
    for n, image in enumerate(images):
        padded = TF.pad(image, list(padding), fill=step.fill, padding_mode=step.padding_mode)
        expected = TF.crop(padded, int(drawn.top[n]), int(drawn.left[n]), crop_h, crop_w)
        assert torch.equal(cropped[n], expected), n
    if padding != (0, 0, 0, 0):  # each image its own offset, over the whole range
        spare = height + padding[1] + padding[3] - crop_h
        assert set(drawn.top.tolist()) == set(range(spare + 1))


def test_randomcrop_refuses_a_crop_larger_than_the_padded_image() -> None:
    crop = RandomCropStep(RandomCrop(size=(12, 5), padding=1))
    with pytest.raises(ValueError, match=r"^randomcrop: the crop \(12×5\) is larger than the "):
        crop.draw(byte_images(), 255.0, generator())


@pytest.mark.parametrize(("flip", "dim"), [(TF.horizontal_flip, -1), (TF.vertical_flip, -2)])
def test_flips_are_torchvisions_per_image(flip: Any, dim: int) -> None:
    images = byte_images()
    step = FlipStep(0.5, dim)
    flipped = step.draw(images, 255.0, generator())
    out = step.apply(images, flipped)
    assert 0 < int(flipped.sum()) < len(images)  # each image decides for itself
    for n, image in enumerate(images):
        assert torch.equal(out[n], flip(image) if flipped[n] else image)
    never, always = FlipStep(0.0, dim), FlipStep(1.0, dim)
    assert torch.equal(never.apply(images, never.draw(images, 255.0, generator())), images)
    assert torch.equal(always.apply(images, always.draw(images, 255.0, generator())), flip(images))


@pytest.mark.parametrize("antialias", [True, False])
def test_randomresizedcrop_is_torchvisions_resized_crop(antialias: bool) -> None:
    """Bilinear, align_corners=False, as torchvision; a crop is only ever enlarged back to the
    image's size, where antialiasing changes nothing. In float: to 1e-5 of the [0, 1] range
    (sums in another order)."""
    images = unit_images(count=48)
    height, width = images.shape[-2:]
    step = RandomResizedCropStep(RandomResizedCrop(scale=(0.1, 1.0)))
    box = step.draw(images, 1.0, generator())
    out = step.apply(images, box)
    assert out.shape == images.shape and out.dtype == torch.float32
    assert len(set(zip(box.height.tolist(), box.width.tolist(), strict=True))) > 10
    for n, image in enumerate(images):
        top, left, crop_h, crop_w = (int(v[n]) for v in box)
        assert 0 < crop_h <= height and 0 < crop_w <= width
        assert 0 <= top <= height - crop_h and 0 <= left <= width - crop_w
        expected = TF.resized_crop(
            image, top, left, crop_h, crop_w, [height, width], antialias=antialias
        )
        torch.testing.assert_close(out[n], expected, atol=1e-5, rtol=0)


def test_randomresizedcrop_of_bytes_keeps_the_float_result() -> None:
    images = byte_images()
    step = RandomResizedCropStep(RandomResizedCrop())
    box = step.draw(images, 255.0, generator())
    out = step.apply(images, box)
    for n, image in enumerate(images):
        top, left, crop_h, crop_w = (int(v[n]) for v in box)
        expected = TF.resized_crop(image.float(), top, left, crop_h, crop_w, [9, 11])
        torch.testing.assert_close(out[n], expected, atol=1e-3, rtol=0)  # of 255


def test_randomresizedcrop_falls_back_as_torchvision_when_nothing_fits() -> None:
    # a whole-image area at a ratio of 2 to 3 never fits a 9×11 image: the centre crop
    images = byte_images(count=4)
    step = RandomResizedCrop(scale=(1.0, 1.0), ratio=(2.0, 3.0))
    box = RandomResizedCropStep(step).draw(images, 255.0, generator())
    theirs = v2.RandomResizedCrop(9, scale=step.scale, ratio=step.ratio).make_params([images[0]])
    for n in range(4):
        assert [int(v[n]) for v in box] == [
            theirs["top"],
            theirs["left"],
            theirs["height"],
            theirs["width"],
        ]


def _torchvision_jitter(image: torch.Tensor, order: list[int], factors: list[Any]) -> torch.Tensor:
    adjust = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    for adjustment in order:
        if factors[adjustment] is not None:
            image = adjust[adjustment](image, float(factors[adjustment]))
    return image


@pytest.mark.parametrize("channels", [3, 1])
def test_colorjitter_is_torchvisions_adjustments_per_image(channels: int) -> None:
    images = unit_images(count=32, channels=channels)
    images[0] = 0.5  # grey: no hue
    step = ColorJitterStep(
        ColorJitter.model_validate(
            {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.2}
        )
    )
    orders = set()
    for seed in range(3):
        drawn = step.draw(images, 1.0, generator(seed))
        orders.add(tuple(drawn.order))
        out = step.apply(images, drawn)
        for factor in drawn.factors:
            assert factor is not None and len(set(factor.tolist())) == len(images)
        for n, image in enumerate(images):
            per_image = [f[n] for f in drawn.factors]  # type: ignore[index]
            expected = _torchvision_jitter(image, drawn.order, per_image)
            torch.testing.assert_close(out[n], expected, atol=1e-5, rtol=0)
    assert len(orders) > 1  # drawn per batch


def test_colorjitter_of_bytes_is_in_their_units() -> None:
    images = byte_images()
    step = ColorJitterStep(ColorJitter.model_validate({"contrast": 0.5, "hue": 0.3}))
    drawn = step.draw(images, 255.0, generator())
    assert drawn.factors[0] is None and drawn.factors[2] is None
    out = step.apply(images, drawn)
    assert out.dtype == torch.float32 and float(out.max()) <= 255
    for n, image in enumerate(images):
        per_image = [None if f is None else f[n] for f in drawn.factors]
        expected = _torchvision_jitter(image.float() / 255, drawn.order, per_image)
        torch.testing.assert_close(out[n] / 255, expected, atol=1e-5, rtol=0)


def test_colorjitter_refuses_images_that_are_neither_grey_nor_rgb() -> None:
    step = ColorJitterStep(ColorJitter.model_validate({"brightness": 0.2}))
    with pytest.raises(ValueError, match="grey or RGB images; these have 2 channels"):
        step.draw(byte_images(channels=2), 255.0, generator())


@pytest.mark.parametrize("value", [0.0, -1.5, "random"])
def test_randomerasing_is_torchvisions_erase_per_image(value: float | str) -> None:
    images = unit_images(count=48, height=16, width=12)
    step = RandomErasingStep(RandomErasing.model_validate({"value": value}))
    drawn = step.draw(images, 1.0, generator())
    out = step.apply(images, drawn)
    assert 0 < int(drawn.erased.sum()) < len(images)
    for n, image in enumerate(images):
        top, left, box_h, box_w = (int(v[n]) for v in drawn.box)
        if not drawn.erased[n]:
            assert torch.equal(out[n], image)
            continue
        assert box_h < 16 and box_w < 12  # torchvision's test for a box that fits
        area = box_h * box_w / (16 * 12)
        assert 0.02 * 0.5 <= area <= 0.33 * 1.5  # the drawn area, before rounding the sides
        if value == "random":
            fill = drawn.values[n, :, top : top + box_h, left : left + box_w]  # type: ignore[index]
        else:
            fill = torch.full((3, 1, 1), float(value))
        expected = TF.erase(image, top, left, box_h, box_w, fill)
        assert torch.equal(out[n], expected), n


def test_randomerasing_p_0_is_identity_and_p_1_erases_every_image() -> None:
    images = unit_images(count=48, height=16, width=12)
    never = RandomErasingStep(RandomErasing(p=0.0))
    assert torch.equal(never.apply(images, never.draw(images, 1.0, generator())), images)
    always = RandomErasingStep(RandomErasing(p=1.0))
    drawn = always.draw(images, 1.0, generator())
    assert bool(drawn.erased.all())
    out = always.apply(images, drawn)
    assert all(bool((out[n] == 0).any()) for n in range(len(images)))


def test_mixup_targets_and_images_mix_by_each_images_weight() -> None:
    images, labels = unit_images(count=64), torch.randint(0, 10, (64,), generator=generator(3))
    mixing = Mixing([MixUp(alpha=0.4)], 10)
    drawn = mixing.draw(images, generator())
    mixed, targets = mixing.apply(images, labels, drawn)
    own = drawn.own
    assert drawn.box is None and len(set(own.tolist())) == 64
    assert bool(((own >= 0) & (own <= 1)).all())
    onehot = torch.nn.functional.one_hot(labels, 10).float()
    partner = torch.arange(64).roll(1)  # torchvision's roll(1): the image before
    expected = own[:, None] * onehot + (1 - own[:, None]) * onehot[partner]
    torch.testing.assert_close(targets, expected)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(64))
    weight = own[:, None, None, None]
    torch.testing.assert_close(mixed, weight * images + (1 - weight) * images[partner])


def test_cutmix_weight_is_the_share_the_pasted_box_leaves() -> None:
    images, labels = unit_images(count=64), torch.arange(64) % 10  # neighbours differ
    mixing = Mixing([CutMix()], 10)
    drawn = mixing.draw(images, generator())
    mixed, targets = mixing.apply(images, labels, drawn)
    partner = torch.arange(64).roll(1)
    pasted = mixed == images[partner]  # random floats: equal only where pasted
    assert bool(((mixed == images) | pasted).all())
    pasted_share = pasted.all(dim=1).float().mean(dim=(1, 2))
    assert pasted_share.max() > 0.3 and len(set(pasted_share.tolist())) > 10
    torch.testing.assert_close(targets[torch.arange(64), labels[partner]], pasted_share)
    torch.testing.assert_close(targets[torch.arange(64), labels], 1 - pasted_share)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(64))


def test_mixup_and_cutmix_together_take_turns_by_batch() -> None:
    mixing = Mixing([MixUp(), CutMix()], 10)
    images = unit_images(count=8)
    chosen = [type(mixing.draw(images, generator(seed)).step) for seed in range(40)]
    assert 10 < chosen.count(MixUp) < 30 and chosen.count(CutMix) == 40 - chosen.count(MixUp)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_mixing_weights_are_beta_distributed(alpha: float) -> None:
    """A χ² test over 20 bins of equal probability (not Kolmogorov–Smirnov: within 6e-8 of 1,
    float32 rounds to 1, and Beta(0.2, 0.2) puts 2 % of its draws there)."""
    draws = beta_draws(alpha, 20_000, generator(), "cpu")
    assert bool(((draws >= 0) & (draws <= 1)).all())
    edges = stats.beta.ppf(np.linspace(0, 1, 21), alpha, alpha)
    counts, _ = np.histogram(draws.numpy(), edges)
    assert counts.sum() == 20_000 and stats.chisquare(counts).pvalue > 1e-3


# The whole ---------------------------------------------------------------------------------

EVERYTHING = (
    {"randomcrop": {"padding": 2, "padding_mode": "reflect"}},
    "randomhorizontalflip",
    {"randomresizedcrop": {"scale": [0.5, 1.0]}},
    {"colorjitter": {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.1}},
    {"randomerasing": {"value": "random"}},
    {"mixup": {"alpha": 0.2}},
    "cutmix",
)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """As Batches.normalise with mean 0.5 and std 0.25 (images in bytes' units)."""
    return (images.to(torch.float32) / 255 - 0.5) / 0.25


def test_the_augmenter_is_its_steps_in_order_then_the_mixing() -> None:
    written = steps(*EVERYTHING)
    augmenter = Augmenter(written, num_classes=10)
    assert augmenter.soft_targets
    images, labels = byte_images(count=16), torch.arange(16) % 10
    out, targets = augmenter(images, labels, normalise, generator(7))
    assert out.shape == images.shape and out.dtype == torch.float32
    assert targets.shape == (16, 10) and targets.dtype == torch.float32
    # the same, step by step from the same generator
    random = generator(7)
    expected = images
    for step in written[:4]:
        runtime = runtime_step(step)
        expected = runtime.apply(expected, runtime.draw(expected, 255.0, random))
    expected = normalise(expected)
    erasing = runtime_step(written[4])
    expected = erasing.apply(expected, erasing.draw(expected, 255.0, random))
    mixing = Mixing(written[5:], 10)
    expected, expected_targets = mixing.apply(expected, labels, mixing.draw(expected, random))
    assert torch.equal(out, expected) and torch.equal(targets, expected_targets)


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    augmenter = Augmenter(steps(*EVERYTHING), num_classes=10)
    images, labels = byte_images(count=16), torch.arange(16) % 10
    first = augmenter(images, labels, normalise, batch_generator(3, 1, 5, torch.device("cpu")))
    again = augmenter(images, labels, normalise, batch_generator(3, 1, 5, torch.device("cpu")))
    other = augmenter(images, labels, normalise, batch_generator(3, 1, 6, torch.device("cpu")))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_channels_last_batches_give_the_same_result() -> None:
    augmenter = Augmenter(steps(*EVERYTHING[:5]), num_classes=10)
    images, labels = byte_images(count=16), torch.arange(16) % 10
    plain, _ = augmenter(images, labels, normalise, generator(4))
    strided = images.contiguous(memory_format=torch.channels_last)
    last, _ = augmenter(strided, labels, normalise, generator(4))
    torch.testing.assert_close(last, plain, atol=1e-5, rtol=0)


def test_without_mixing_the_labels_pass_through_and_without_steps_it_only_normalises() -> None:
    images, labels = byte_images(count=16), torch.arange(16) % 10
    augmenter = Augmenter(steps({"randomcrop": {"padding": 2}}, "randomerasing"), 10)
    out, targets = augmenter(images, labels, normalise, generator())
    assert not augmenter.soft_targets and targets is labels and out.dtype == torch.float32
    nothing = Augmenter((), 10)
    out, targets = nothing(images, labels, normalise, generator())
    assert torch.equal(out, normalise(images)) and targets is labels


def test_the_augmenter_refuses_steps_out_of_order() -> None:
    with pytest.raises(ValueError, match=r"^mixup \(augment\[0\]\) mixes whole batches"):
        Augmenter([MixUp(), RandomCrop()], 10)


def test_a_steps_generator_depends_on_seed_epoch_and_step_alone() -> None:
    def draws(seed: int, epoch: int, step: int) -> tuple[float, ...]:
        random = batch_generator(seed, epoch, step, torch.device("cpu"))
        return tuple(torch.rand(4, generator=random).tolist())

    assert draws(0, 2, 7) == draws(0, 2, 7)
    places = [(0, 2, 7), (0, 2, 8), (0, 3, 7), (1, 2, 7)]
    assert len({draws(*place) for place in places}) == len(places)


def test_flip_steps_come_from_their_spec_models() -> None:
    assert isinstance(runtime_step(RandomHorizontalFlip()), FlipStep)
    assert runtime_step(RandomVerticalFlip(p=0.25)).p == 0.25  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="mixup is not a per-image step"):
        runtime_step(MixUp())


def test_soft_targets_feed_cross_entropy_with_label_smoothing() -> None:
    augmenter = Augmenter(steps({"randomcrop": {"padding": 4}}, "mixup"), 10)
    images, labels = byte_images(count=8, channels=1, height=28, width=28), torch.arange(8)
    _, targets = augmenter(images, labels, normalise, generator())
    logits = torch.randn(8, 10, generator=generator(5))
    smoothed = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1)
    by_hand = -(((targets * 0.9 + 0.01) * logits.log_softmax(dim=1)).sum(dim=1)).mean()
    torch.testing.assert_close(smoothed, by_hand)
