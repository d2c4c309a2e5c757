"""specs/zoo/unet.yaml, lstm_classifier.yaml, transformer_classifier.yaml and
dcgan_generator.yaml against the models a user writes by hand in plain PyTorch (milesial's
U-Net, the AG News LSTM tutorial, a small Transformer-encoder classifier, the DCGAN tutorial's
generator): the reference's weights, perturbed at random, load by position into the built and
the compiled model, which then compute what the reference computes (eval mode)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from torch import nn
from zoo import assert_same_as_reference, example_input, zoo_spec

import netspec

NAMES = ["unet", "lstm_classifier", "transformer_classifier", "dcgan_generator"]


# --- the references, as their tutorials write them --------------------------------------------


class DoubleConv(nn.Module):
    """milesial/Pytorch-UNet: (convolution => [BN] => ReLU) * 2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    """Downscaling with maxpool then double conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upscaling (a learned transposed convolution) then double conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = nn.functional.pad(
            x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2]
        )
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """milesial/Pytorch-UNet's UNet(n_channels, n_classes, bilinear=False)."""

    def __init__(self, n_channels: int = 1, n_classes: int = 2) -> None:
        super().__init__()
        self.inc = DoubleConv(n_channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        self.down4 = Down(512, 1024)
        self.up1 = Up(1024, 512)
        self.up2 = Up(512, 256)
        self.up3 = Up(256, 128)
        self.up4 = Up(128, 64)
        self.outc = OutConv(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


class LSTMClassifier(nn.Module):
    """The AG News LSTM tutorial's classifier: the last layer's final hidden states of both
    directions, concatenated."""

    def __init__(
        self,
        vocab_size: int = 20_000,
        embedding_dim: int = 128,
        hidden_dim: int = 256,
        n_layers: int = 2,
        num_classes: int = 4,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_dim,
            num_layers=n_layers,
            bidirectional=True,
            dropout=dropout,
            batch_first=True,
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dim * 2, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(ids)
        _, (hidden, _) = self.lstm(embedded)  # hidden: (layers · directions, N, hidden)
        hidden = torch.cat([hidden[-2], hidden[-1]], dim=1)
        return self.fc(self.dropout(hidden))


class TransformerClassifier(nn.Module):
    """Token and learned position embeddings, an nn.TransformerEncoder, mean pooling."""

    def __init__(
        self,
        vocab_size: int = 10_000,
        d_model: int = 128,
        max_len: int = 64,
        nhead: int = 4,
        dim_feedforward: int = 256,
        num_layers: int = 2,
        num_classes: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.pos_embedding = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward, dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids) + self.pos_embedding[:, : ids.size(1)]
        x = self.encoder(x)
        return self.fc(x.mean(dim=1))


class Generator(nn.Module):
    """The PyTorch DCGAN tutorial's generator."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
            # state size. (nc) x 64 x 64
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def weights_init(m: nn.Module) -> None:
    """The DCGAN tutorial's initialisation."""
    if isinstance(m, nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0)


# --- perturbing a reference -------------------------------------------------------------------


def perturbed(reference: nn.Module, calibration: torch.Tensor | None = None) -> nn.Module:
    """The reference (in eval mode) with noise in every parameter and buffer, drawn from
    torch's generator (seed it first), so that no constant initialisation (zeros, ones: a
    batch norm that is the identity, a position embedding of zeros) hides a spec's mistake.

    Parameters get noise of half their spread (0.1 where they are constant). With running
    statistics of 0 and 1, a deep network's batch norms would leave its activations shrinking
    layer after layer, towards an output that is its last bias, and the comparison would be
    vacuous: given a calibration input, their running statistics are first set to those of
    its activations (one pass in training mode), then perturbed."""
    norms = [m for m in reference.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for parameter in reference.parameters():
            varies = parameter.numel() > 1 and bool(parameter.min() < parameter.max())
            scale = 0.5 * parameter.std() if varies else 0.1
            parameter.add_(scale * torch.randn_like(parameter))
        if calibration is not None:
            for norm in norms:
                norm.reset_running_stats()
                norm.momentum = None  # a cumulative average: of the one batch
            reference.train()
            reference(calibration)
            for norm in norms:
                norm.momentum = 0.1
        for name, buffer in reference.named_buffers():
            if name.endswith("running_var"):
                buffer.mul_(torch.empty_like(buffer).uniform_(0.7, 1.3))
            elif name.endswith("running_mean"):
                variance = reference.get_buffer(name.replace("running_mean", "running_var"))
                buffer.add_(0.1 * variance.sqrt() * torch.randn_like(buffer))
            elif buffer.is_floating_point():
                buffer.add_(0.1 * torch.randn_like(buffer))
            else:
                buffer.random_(1, 1000)  # num_batches_tracked: copied too, unused in eval
    return reference.eval()


def calibration_input(name: str) -> torch.Tensor:
    """Inputs other than the comparison's: the 8 samples after example_input's 2."""
    return example_input(zoo_spec(name), batch=10)[2:]


def dotted(ours: str) -> str:
    """Our names → the reference's: a name cannot hold a bare number, so the reference's
    `.0` is `_0` here (down1.maxpool_conv_1.double_conv_0 is down1.maxpool_conv.1.double_conv.0,
    main_12 is main.12)."""
    return re.sub(r"_(\d+)(?=\.)", r".\1", ours)


def encoder_layers(ours: str) -> str:
    """Our encoder.0 is the reference's nn.TransformerEncoder's encoder.layers.0."""
    return re.sub(r"^encoder\.", "encoder.layers.", ours)


def assert_is_reference(
    name: str,
    reference: nn.Module,
    count: int,
    reference_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    assert sum(p.numel() for p in reference.parameters()) == count
    # The loader pairs the tensors by position: each must be its namesake in the reference,
    # not only one of the same size. (Built on the meta device: names, no weights.)
    with torch.device("meta"):
        ours = list(netspec.build(zoo_spec(name)).state_dict())
    assert list(map(reference_name, ours)) == list(reference.state_dict())
    # The reference's output depends on its input: a comparison that means something.
    x = example_input(zoo_spec(name))
    with torch.no_grad():
        wanted = reference(x)
    assert (wanted[0] - wanted[1]).abs().max() > 0.01
    assert_same_as_reference(name, reference, tmp_path)


# --- the comparisons --------------------------------------------------------------------------


@pytest.mark.slow  # 31 M parameters, three models of them: about 10 s here
def test_unet_is_milesials(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = perturbed(UNet(n_channels=1, n_classes=2), calibration_input("unet"))
    assert_is_reference("unet", reference, 31_036_546, dotted, tmp_path)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """An LSTM runs its 128 steps × 2 layers × 2 directions as many small products, each a
    parallel region: on 2 cores that other processes keep busy, 2 threads waiting on each
    other at every step take 3 to 36 s where one thread takes 1.5 s (the same numbers)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_lstm_classifier_is_the_tutorials(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = perturbed(LSTMClassifier())
    assert_is_reference("lstm_classifier", reference, 4_929_540, str, tmp_path)


@pytest.mark.usefixtures("one_thread")
def test_lstm_classifier_reads_the_last_layers_two_directions() -> None:
    """The spec's hidden features are torch.cat([h_n[-2], h_n[-1]]): the last layer's forward
    and backward states, not the first layer's, nor one direction twice."""
    torch.manual_seed(0)
    model = netspec.build(zoo_spec("lstm_classifier")).eval()
    tokens = example_input(zoo_spec("lstm_classifier"))
    with torch.no_grad():
        embedded = model.get_submodule("embedding")(tokens)
        _, (h_n, _) = model.get_submodule("lstm")(embedded)
        features = torch.cat([h_n[-2], h_n[-1]], dim=1)
        torch.testing.assert_close(model(tokens), model.get_submodule("fc")(features))


def test_transformer_classifier_is_the_reference(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = perturbed(TransformerClassifier())
    assert_is_reference("transformer_classifier", reference, 1_553_410, encoder_layers, tmp_path)


def test_dcgan_generator_is_the_tutorials(tmp_path: Path) -> None:
    torch.manual_seed(0)
    generator = Generator()
    generator.apply(weights_init)
    reference = perturbed(generator, calibration_input("dcgan_generator"))
    assert_is_reference("dcgan_generator", reference, 3_576_704, dotted, tmp_path)
