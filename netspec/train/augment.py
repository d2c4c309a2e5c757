"""The ``train: augment:`` steps (``netspec.spec.augment``), run on whole batches on the device.

Every image gets its own random parameters (crop offset, flip, factors, erased box, mixing
weight), drawn as tensors from one ``torch.Generator`` on the batch's device; each step is a few
tensor operations on the whole batch, never a loop over its images. The steps draw their
parameters and compute as torchvision.transforms.v2 does (tests/test_augment.py compares each
image with torchvision's functional API), with these differences, all for batches:

- values stay in float between steps, not rounded back to bytes after a resize or a colour
  change; crops and flips of uint8 images stay uint8 (they only move pixels);
- colorjitter draws the order of its four adjustments once per batch, their factors per image;
- mixup and cutmix draw a weight (a box) per image, and mix each image with the one before it in
  the batch (torchvision's ``roll(1)``); with both given, each batch uses one, chosen at random.

Choices made in Python (the colour order, mixup or cutmix) are drawn from a CPU generator seeded
from the device generator's state, so a CUDA batch is augmented without a synchronisation.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own spelling
from torch import Tensor

from netspec.spec.augment import (
    AugmentStep,
    ColorJitter,
    CutMix,
    MixUp,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    order_problem,
)

Normalise = Callable[[Tensor], Tensor]
ATTEMPTS = 10  # torchvision's tries at a crop or an erased box that fits, before its fallback
GAMMA_PROPOSALS = 16  # each accepted with probability > 0.95: all 16 rejected ~ 1e-21


def batch_generator(
    seed: int, epoch: int, step: int, device: torch.device, process: int = 0
) -> torch.Generator:
    """The generator of one training step's augmentation: a function of the run's seed and the
    step's place alone (and of the process, whose slice of the batch it augments), so a resumed
    run augments each batch as the uninterrupted run did, and independent of every other random
    number the run draws."""
    place = f"netspec augment {seed} {epoch} {step}" + (f" {process}" if process else "")
    seeded = _seed(place.encode())
    return torch.Generator(device=device).manual_seed(seeded)


def _host(generator: torch.Generator) -> torch.Generator:
    """A CPU generator for choices made in Python: the generator itself when on the CPU, else
    one seeded from its state (held on the host), so no device value is read."""
    if generator.device.type == "cpu":
        return generator
    return torch.Generator().manual_seed(_seed(generator.get_state().numpy().tobytes()))


def _seed(data: bytes) -> int:
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1  # 63 bits: every generator takes it


def _uniform(
    low: float, high: float, shape: tuple[int, ...], generator: torch.Generator, device: Any
) -> Tensor:
    return torch.rand(shape, generator=generator, device=device).mul_(high - low).add_(low)


def _below(
    count: Tensor | int, shape: tuple[int, ...], generator: torch.Generator, device: Any
) -> Tensor:
    """Whole numbers drawn uniformly from [0, count), ``count`` per sample when a tensor."""
    return _scaled(torch.rand(shape, generator=generator, device=device), count)


def _scaled(uniform: Tensor, count: Tensor | int) -> Tensor:
    """Uniform draws in [0, 1) made whole numbers in [0, count)."""
    return (uniform * count).long().clamp_(max=count - 1)  # a draw near 1 may round up


def _logs(pair: tuple[float, float]) -> tuple[float, float]:
    return math.log(pair[0]), math.log(pair[1])


def _first_fit(fits: Tensor, *sizes: Tensor) -> tuple[Tensor, list[Tensor]]:
    """Whether any of each sample's tries fits, and the sizes of its first that does (as
    torchvision's loop takes the first; the sizes of try 0 when none does)."""
    first = fits.int().argmax(dim=1, keepdim=True)
    return fits.any(dim=1), [size.gather(1, first).squeeze(1) for size in sizes]


def _gather(images: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """``images[n, :, rows[n, i], cols[n, j]]`` for every sample n: a crop, each image its own,
    in one pass (a gather on the flattened images: several times faster than advanced
    indexing), in the images' own dtype."""
    count, channels, _, width = images.shape
    index = (rows[:, :, None] * width + cols[:, None, :]).reshape(count, 1, -1)
    picked = images.reshape(count, channels, -1).gather(2, index.expand(-1, channels, -1))
    return picked.reshape(count, channels, rows.shape[1], cols.shape[1])


def _inside(index: Tensor, size: int, mode: str) -> Tensor:
    """The pixel that a position of the padded image shows, by torchvision's padding modes
    edge, reflect and symmetric."""
    if mode == "reflect" and size > 1:  # [1, 2, 3] → 3 2 | 1 2 3 | 2 1
        period = 2 * (size - 1)
        index = index.remainder(period)
        return torch.where(index < size, index, period - index)
    if mode == "symmetric":  # [1, 2, 3] → 2 1 | 1 2 3 | 3 2
        period = 2 * size
        index = index.remainder(period)
        return torch.where(index < size, index, period - 1 - index)
    return index.clamp(0, size - 1)


class Box(NamedTuple):
    top: Tensor  # (N,) each image's box
    left: Tensor
    height: Tensor
    width: Tensor

    def mask(self, height: int, width: int) -> Tensor:
        """(N, 1, height, width): True inside each image's box."""
        rows = torch.arange(height, device=self.top.device)
        cols = torch.arange(width, device=self.top.device)
        in_rows = (rows >= self.top[:, None]) & (rows < (self.top + self.height)[:, None])
        in_cols = (cols >= self.left[:, None]) & (cols < (self.left + self.width)[:, None])
        return in_rows[:, None, :, None] & in_cols[:, None, None, :]


class _Step(Protocol):
    def draw(self, images: Tensor, full_scale: float, generator: torch.Generator) -> Any:
        """Each image's random parameters. ``full_scale``: full intensity in the images'
        units (255 for uint8 images, else 1)."""

    def apply(self, images: Tensor, drawn: Any) -> Tensor: ...


class CropDraw(NamedTuple):
    top: Tensor  # (N,) the crop's place in the padded image
    left: Tensor
    fill: float  # the padding's value, in the images' units


class RandomCropStep:
    def __init__(self, step: RandomCrop) -> None:
        self.step = step

    def layout(self, height: int, width: int) -> tuple[tuple[int, int, int, int], int, int]:
        """The padding (left, top, right, bottom) and the crop's height and width, as
        torchvision's RandomCrop works them out."""
        padding, size = self.step.padding, self.step.size
        if isinstance(padding, int):
            padding = (padding,) * 4
        elif len(padding) == 2:
            padding = padding * 2
        left, top, right, bottom = padding
        if size is None:
            size = (height, width)
        crop_h, crop_w = (size, size) if isinstance(size, int) else size
        if self.step.pad_if_needed:
            short_h = max(0, crop_h - (height + top + bottom))
            short_w = max(0, crop_w - (width + left + right))
            top, bottom = top + short_h, bottom + short_h
            left, right = left + short_w, right + short_w
        return (left, top, right, bottom), crop_h, crop_w

    def draw(self, images: Tensor, full_scale: float, generator: torch.Generator) -> CropDraw:
        count, _, height, width = images.shape
        (left, top, right, bottom), crop_h, crop_w = self.layout(height, width)
        spare_h, spare_w = height + top + bottom - crop_h, width + left + right - crop_w
        if spare_h < 0 or spare_w < 0:
            raise ValueError(
                f"randomcrop: the crop ({crop_h}×{crop_w}) is larger than the padded image "
                f"({height + top + bottom}×{width + left + right}); give pad_if_needed: true"
            )
        return CropDraw(
            _below(spare_h + 1, (count,), generator, images.device),
            _below(spare_w + 1, (count,), generator, images.device),
            self.step.fill * full_scale / 255,
        )

    def apply(self, images: Tensor, drawn: CropDraw) -> Tensor:
        height, width = images.shape[-2:]
        (left, top, right, bottom), crop_h, crop_w = self.layout(height, width)
        rows = drawn.top[:, None] + torch.arange(crop_h, device=images.device)
        cols = drawn.left[:, None] + torch.arange(crop_w, device=images.device)
        mode = self.step.padding_mode
        if mode == "constant":  # padded for real: the fill needs a place to be read from
            padded = F.pad(images, (left, right, top, bottom), value=drawn.fill)
            return _gather(padded, rows, cols)
        return _gather(images, _inside(rows - top, height, mode), _inside(cols - left, width, mode))


class FlipStep:
    def __init__(self, p: float, dim: int) -> None:
        self.p, self.dim = p, dim

    def draw(self, images: Tensor, full_scale: float, generator: torch.Generator) -> Tensor:
        return torch.rand(images.shape[0], generator=generator, device=images.device) < self.p

    def apply(self, images: Tensor, flipped: Tensor) -> Tensor:
        return torch.where(flipped[:, None, None, None], images.flip(self.dim), images)


def _resize_weights(start: Tensor, length: Tensor, size: int) -> Tensor:
    """(N, size, size): how each output pixel of a row (or column) blends the input's when
    ``[start, start + length)`` is stretched to ``size`` pixels, as
    ``interpolate(mode="bilinear", align_corners=False)`` computes it (torchvision's resize;
    with antialias or not alike, as a stretch only enlarges)."""
    scale = length.to(torch.float32)[:, None] / size
    source = ((torch.arange(size, device=start.device) + 0.5) * scale - 0.5).clamp_(min=0)
    low = source.floor()
    share = source - low
    low = low.long()
    high = torch.minimum(low + 1, length[:, None] - 1)
    weights = torch.zeros(len(start), size, size, device=start.device)
    weights.scatter_add_(2, (start[:, None] + low)[..., None], (1 - share)[..., None])
    return weights.scatter_add_(2, (start[:, None] + high)[..., None], share[..., None])


class RandomResizedCropStep:
    def __init__(self, step: RandomResizedCrop) -> None:
        self.step = step

    def _fallback(self, height: int, width: int) -> tuple[int, int]:
        """torchvision's crop when no try fits: the whole image, cut to the nearest ratio."""
        low, high = self.step.ratio
        if width / height < low:
            return round(width / low), width
        if width / height > high:
            return height, round(height * high)
        return height, width

    def draw(self, images: Tensor, full_scale: float, generator: torch.Generator) -> Box:
        count, _, height, width = images.shape
        device = images.device
        tries = (count, ATTEMPTS)
        area = height * width * _uniform(*self.step.scale, tries, generator, device)
        log_ratio = _uniform(*_logs(self.step.ratio), tries, generator, device)
        crop_w = (area * log_ratio.exp()).sqrt().round().long()
        crop_h = (area / log_ratio.exp()).sqrt().round().long()
        fits = (crop_w > 0) & (crop_w <= width) & (crop_h > 0) & (crop_h <= height)
        found, (crop_h, crop_w) = _first_fit(fits, crop_h, crop_w)
        fallback_h, fallback_w = self._fallback(height, width)
        crop_h = torch.where(found, crop_h, fallback_h)
        crop_w = torch.where(found, crop_w, fallback_w)
        top = torch.where(
            found, _below(height - crop_h + 1, (count,), generator, device), (height - crop_h) // 2
        )
        left = torch.where(
            found, _below(width - crop_w + 1, (count,), generator, device), (width - crop_w) // 2
        )
        return Box(top, left, crop_h, crop_w)

    def apply(self, images: Tensor, box: Box) -> Tensor:
        height, width = images.shape[-2:]
        rows = _resize_weights(box.top, box.height, height)[:, None]
        cols = _resize_weights(box.left, box.width, width)[:, None]
        pixels = images if images.is_floating_point() else images.to(torch.float32)
        return rows @ pixels @ cols.transpose(-1, -2)


class ColourDraw(NamedTuple):
    order: list[int]  # the adjustments in the order applied: 0 brightness … 3 hue
    factors: list[Tensor | None]  # per adjustment, (N,) factors; None: not adjusted
    full_scale: float


def _grey(images: Tensor) -> Tensor:
    """(N, 1, H, W) luma of RGB images, as torchvision's rgb_to_grayscale."""
    red, green, blue = images.unbind(dim=1)
    return red.mul(0.2989).add_(green, alpha=0.587).add_(blue, alpha=0.114).unsqueeze(1)


def _blend(images: Tensor, other: Tensor, factor: Tensor, full_scale: float) -> Tensor:
    """torchvision's _blend: factor · images + (1 − factor) · other, clamped."""
    return torch.lerp(other, images, factor).clamp_(0, full_scale)


def _shift_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Turn each RGB image's hue by its ``shift`` (in turns), as torchvision's adjust_hue does
    through HSV, without building the HSV image: the hue from the largest channel, and back by
    the closed form of HSV to RGB. In any units (the hue is a ratio); several times faster."""
    red, green, blue = images.unbind(dim=1)
    value = torch.maximum(torch.maximum(red, green), blue)
    chroma = value - torch.minimum(torch.minimum(red, green), blue)
    # The largest channel picks the formula, by masks as torchvision has them (torch.where is
    # several times slower on the CPU); grey (chroma 0) gets hue 0. In sixths of a turn.
    is_red = value == red
    is_green = (value == green) & ~is_red
    hue = (green - blue).mul_(is_red)
    hue += (blue - red + 2 * chroma).mul_(is_green)
    hue += (red - green + 4 * chroma).mul_(~(is_red | is_green))
    hue.div_(chroma.clamp(min=torch.finfo(chroma.dtype).tiny)).add_(6 * shift[:, None, None])
    # Channel n (5 R, 3 G, 1 B) is v − c·clamp(2 − |k − 2|, 0, 1) with k = (n + hue) mod 6;
    # in place, as fresh batch-sized buffers are what costs most here on the CPU. (arange: a
    # tensor made from a list would be copied to a GPU, and wait for it.)
    sectors = torch.arange(5.0, 0.0, -2.0, device=images.device)
    k = sectors[None, :, None, None] + hue[:, None]
    weight = k.remainder_(6).sub_(2).abs_().neg_().add_(2).clamp_(0, 1)
    return weight.mul_(chroma[:, None]).neg_().add_(value[:, None])


class ColorJitterStep:
    def __init__(self, step: ColorJitter) -> None:
        self.step = step
        centres = (1.0, 1.0, 1.0, 0.0)
        ranges = (step.brightness, step.contrast, step.saturation, step.hue)
        # torchvision leaves out an adjustment whose range is its identity alone
        self.ranges = [None if r == (c, c) else r for r, c in zip(ranges, centres, strict=True)]

    def draw(self, images: Tensor, full_scale: float, generator: torch.Generator) -> ColourDraw:
        if images.shape[1] not in (1, 3):
            raise ValueError(
                f"colorjitter works on grey or RGB images; these have {images.shape[1]} channels"
            )
        order = torch.randperm(4, generator=_host(generator)).tolist()
        factors: list[Tensor | None] = [
            None if r is None else _uniform(*r, (images.shape[0],), generator, images.device)
            for r in self.ranges
        ]
        return ColourDraw(order, factors, full_scale)

    def apply(self, images: Tensor, drawn: ColourDraw) -> Tensor:
        images = images if images.is_floating_point() else images.to(torch.float32)
        rgb, full = images.shape[1] == 3, drawn.full_scale
        for adjustment in drawn.order:
            factor = drawn.factors[adjustment]
            if factor is None or (adjustment >= 2 and not rgb):  # grey has no colour
                continue
            if adjustment == 0:
                images = images.mul(factor[:, None, None, None]).clamp_(0, full)
            elif adjustment == 1:
                grey = _grey(images) if rgb else images
                mean = grey.mean(dim=(1, 2, 3), keepdim=True)
                images = _blend(images, mean, factor[:, None, None, None], full)
            elif adjustment == 2:
                images = _blend(images, _grey(images), factor[:, None, None, None], full)
            else:
                images = _shift_hue(images, factor)
        return images


class ErasingDraw(NamedTuple):
    box: Box
    erased: Tensor  # (N,) whether the image has its box erased
    values: Tensor | float  # noise (N, C, H, W) for value 'random', else the value


class RandomErasingStep:
    def __init__(self, step: RandomErasing) -> None:
        self.step = step

    def draw(self, images: Tensor, full_scale: float, generator: torch.Generator) -> ErasingDraw:
        count, _, height, width = images.shape
        device = images.device
        # One draw for all of a batch's uniforms: each torch call costs ~10 µs on a CPU.
        uniform = torch.rand((count, 2 * ATTEMPTS + 3), generator=generator, device=device)
        tries, rest = uniform[:, :ATTEMPTS], uniform[:, ATTEMPTS:]
        (low, high), (log_low, log_high) = self.step.scale, _logs(self.step.ratio)
        area = tries.mul(height * width * (high - low)).add_(height * width * low)
        ratio = rest[:, :ATTEMPTS].mul(log_high - log_low).add_(log_low).exp_()
        box_h = (area * ratio).sqrt_().round_().long()
        box_w = (area / ratio).sqrt_().round_().long()
        found, (box_h, box_w) = _first_fit((box_h < height) & (box_w < width), box_h, box_w)
        top = _scaled(rest[:, ATTEMPTS], height - box_h + 1)
        left = _scaled(rest[:, ATTEMPTS + 1], width - box_w + 1)
        chosen = rest[:, ATTEMPTS + 2] < self.step.p
        values: Tensor | float
        if self.step.value == "random":
            values = torch.randn(images.shape, generator=generator, device=device)
        else:
            values = float(self.step.value)
        return ErasingDraw(Box(top, left, box_h, box_w), chosen & found, values)

    def apply(self, images: Tensor, drawn: ErasingDraw) -> Tensor:
        erased = drawn.box.mask(*images.shape[-2:]) & drawn.erased[:, None, None, None]
        return torch.where(erased, drawn.values, images)


def _log_gamma(alpha: float, count: int, generator: torch.Generator, device: Any) -> Tensor:
    """The logarithms of ``count`` draws from Gamma(alpha, 1), by Marsaglia and Tsang's method
    (2000), from normal and uniform draws only: torch's gamma sampler is not on every device."""
    boosted = alpha < 1  # Gamma(α) = Gamma(α + 1) · U^(1/α)
    d = (alpha + 1 if boosted else alpha) - 1 / 3
    c = 1 / math.sqrt(9 * d)
    shape = (count, GAMMA_PROPOSALS)
    normal = torch.randn(shape, generator=generator, device=device)
    uniform = torch.rand(shape, generator=generator, device=device)
    cube = (1 + c * normal) ** 3
    log_cube = cube.clamp(min=torch.finfo(cube.dtype).tiny).log()
    accepted = (cube > 0) & (uniform.log() < 0.5 * normal**2 + d - d * cube + d * log_cube)
    first = accepted.int().argmax(dim=1, keepdim=True)
    drawn = (math.log(d) + log_cube).gather(1, first).squeeze(1)
    drawn = torch.where(accepted.any(dim=1), drawn, math.log(d))
    if boosted:  # in logs: U^(1/α) underflows for small α; 1 − U is never 0
        unit = 1 - torch.rand(count, generator=generator, device=device)
        drawn = drawn + unit.log() / alpha
    return drawn


def beta_draws(alpha: float, count: int, generator: torch.Generator, device: Any) -> Tensor:
    """``count`` draws from Beta(alpha, alpha): G₁ / (G₁ + G₂) for gamma draws G, from their
    logarithms (small alphas give gammas that underflow)."""
    first = _log_gamma(alpha, count, generator, device)
    second = _log_gamma(alpha, count, generator, device)
    return torch.sigmoid(first - second)


class MixDraw(NamedTuple):
    step: MixUp | CutMix  # the one this batch uses
    own: Tensor  # (N,) each image's own share of its image and its target
    box: Box | None  # cutmix: the box pasted from the partner


class Mixing:
    """mixup and cutmix: each image mixed with the one before it in the (shuffled) batch."""

    def __init__(self, steps: Sequence[MixUp | CutMix], num_classes: int) -> None:
        self.steps = list(steps)
        self.num_classes = num_classes

    def draw(self, images: Tensor, generator: torch.Generator) -> MixDraw:
        step = self.steps[0]
        if len(self.steps) > 1:
            step = self.steps[int(torch.randint(len(self.steps), (), generator=_host(generator)))]
        count, _, height, width = images.shape
        device = images.device
        own = beta_draws(step.alpha, count, generator, device)
        if isinstance(step, MixUp):
            return MixDraw(step, own, None)
        # torchvision's box: a uniform centre, half-sides √(1 − λ)/2 of the image's, clipped to
        # the image; the image keeps the share the box leaves
        centre_y = _below(height, (count,), generator, device)
        centre_x = _below(width, (count,), generator, device)
        half = 0.5 * (1 - own).sqrt()
        half_h, half_w = (half * height).long(), (half * width).long()
        top, left = (centre_y - half_h).clamp(min=0), (centre_x - half_w).clamp(min=0)
        bottom, right = (centre_y + half_h).clamp(max=height), (centre_x + half_w).clamp(max=width)
        box = Box(top, left, bottom - top, right - left)
        own = 1 - (box.height * box.width).to(torch.float32) / (height * width)
        return MixDraw(step, own, box)

    def apply(self, images: Tensor, labels: Tensor, drawn: MixDraw) -> tuple[Tensor, Tensor]:
        targets = F.one_hot(labels, self.num_classes).to(images.dtype)
        partner_images, partner_targets = images.roll(1, dims=0), targets.roll(1, dims=0)
        if drawn.box is None:
            mixed = torch.lerp(partner_images, images, drawn.own[:, None, None, None])
        else:
            mixed = torch.where(drawn.box.mask(*images.shape[-2:]), partner_images, images)
        return mixed, torch.lerp(partner_targets, targets, drawn.own[:, None])


# Each per-image step's runtime, by its spec model: one entry per step, no chain of tests.
RUNTIMES: dict[type[AugmentStep], Callable[[Any], _Step]] = {
    RandomCrop: RandomCropStep,
    RandomHorizontalFlip: lambda step: FlipStep(step.p, dim=-1),
    RandomVerticalFlip: lambda step: FlipStep(step.p, dim=-2),
    RandomResizedCrop: RandomResizedCropStep,
    ColorJitter: ColorJitterStep,
    RandomErasing: RandomErasingStep,
}


def runtime_step(step: AugmentStep) -> _Step:
    """The runtime of a per-image step."""
    if type(step) not in RUNTIMES:
        raise TypeError(f"{step.name} is not a per-image step")
    return RUNTIMES[type(step)](step)


class Augmenter:
    """A spec's ``train: augment:`` steps, applied to a training batch on its device.

    ``augmenter(images, labels, normalise, generator)`` returns the normalised float32 images and
    the targets: ``labels`` as they are, or with mixup/cutmix (``soft_targets``) the mixed
    one-hot labels, (N, classes) float32 probabilities. The targets are not smoothed:
    ``F.cross_entropy(outputs, targets, label_smoothing=…)`` smooths class indices and
    probabilities alike.
    """

    def __init__(self, steps: Sequence[AugmentStep], num_classes: int) -> None:
        if problem := order_problem(steps):
            raise ValueError(problem)
        self.on_pixels = [runtime_step(s) for s in steps if s.stage == "pixels"]
        self.on_normalised = [runtime_step(s) for s in steps if s.stage == "normalised"]
        mixing = [s for s in steps if isinstance(s, MixUp | CutMix)]
        self.mixing = Mixing(mixing, num_classes) if mixing else None

    @property
    def soft_targets(self) -> bool:
        """Whether the targets are class probabilities (mixup, cutmix), not class indices."""
        return self.mixing is not None

    def __call__(
        self, images: Tensor, labels: Tensor, normalise: Normalise, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """``images``: (N, C, H, W), uint8 or float, on the generator's device; ``normalise``:
        the runner's ``Batches.normalise``, which takes them in those units."""
        full_scale = 255.0 if images.dtype == torch.uint8 else 1.0
        for step in self.on_pixels:
            images = step.apply(images, step.draw(images, full_scale, generator))
        images = normalise(images)
        for step in self.on_normalised:
            images = step.apply(images, step.draw(images, full_scale, generator))
        if self.mixing is None:
            return images, labels
        return self.mixing.apply(images, labels, self.mixing.draw(images, generator))
