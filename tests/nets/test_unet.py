"""The image UNet: shapes for both presets and odd sizes, class conditioning, guidance, gradients."""
import math

import pytest
import torch

from difflab.errors import DifflabError
from difflab.nets import NETWORKS, make_network
from difflab.conditioning import drop_labels, guided_eps
from difflab.nets.unet import PRESETS, UNet

TINY = dict(base_channels=8, channel_mults=(1, 2), n_res_blocks=1, attention_resolutions=(4,))


def _perturb(net: UNet) -> UNet:
    """A fresh UNet outputs exactly 0 (zero-initialised output convolutions); give every all-zero
    tensor small random values so outputs and gradients depend on everything."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            if not p.any():
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return net


@pytest.mark.parametrize("preset, shape", [("unet-28", (1, 28, 28)), ("unet-32", (3, 32, 32)),
                                           ("unet-64", (1, 64, 64))])
def test_presets_keep_the_input_shape(preset, shape):
    torch.manual_seed(0)
    net = make_network({"name": "unet", "preset": preset}, shape)
    x, t = torch.randn(2, *shape), torch.rand(2)
    out = _perturb(net)(x, t)
    assert out.shape == x.shape and torch.isfinite(out).all() and out.abs().sum() > 0
    assert net.settings["preset"] == preset and net.settings["base_channels"] == PRESETS[preset]["base_channels"]


@pytest.mark.parametrize("shape, settings", [
    ((3, 8, 8), TINY),
    ((2, 8, 8), dict(TINY, n_res_blocks=2, attention_resolutions=(8, 4), dropout=0.1)),
    ((1, 28, 28), dict(TINY, channel_mults=(1, 1, 2, 2), attention_resolutions=(4,))),   # 28 -> 14 -> 7 -> 4
    ((1, 12, 20), dict(TINY, channel_mults=(1, 2, 2), attention_resolutions=(3,))),      # non-square, odd
])
def test_small_and_odd_sizes(shape, settings):
    torch.manual_seed(0)
    net = UNet(shape, **settings)
    x = torch.randn(3, *shape)
    assert net(x, torch.rand(3)).shape == x.shape
    fresh = UNet(shape, **settings)
    assert not fresh(x, torch.rand(3)).any()                         # zero output at initialisation


def test_explicit_settings_override_the_preset():
    net = make_network({"name": "unet", "preset": "unet-28", "base_channels": 8}, (1, 28, 28))
    assert net.settings["base_channels"] == 8 and net.settings["channel_mults"] == PRESETS["unet-28"]["channel_mults"]
    assert "unet" in NETWORKS



def test_one_unet_class_serves_images_and_sequences():
    for name, shape in (("unet", (2, 8, 6)), ("unet1d", (2, 15))):
        net = make_network({"name": name, "base_channels": 8, "channel_mults": (1, 2)}, shape)
        assert isinstance(net, UNet) and net.dims == len(shape) - 1 and net.name == name
        x = torch.randn(3, *shape)
        assert _perturb(net)(x, torch.rand(3)).shape == x.shape
    with pytest.raises(DifflabError, match="length 4 is too short"):
        make_network({"name": "unet1d", "channel_mults": (1, 2, 2, 2)}, (1, 4))
    with pytest.raises(DifflabError, match=r"unet needs images of shape \(C, H, W\)"):
        make_network({"name": "unet"}, (1, 16))

@pytest.mark.parametrize("cfg, shape, message", [
    ({"preset": "unet-99"}, (1, 28, 28), "unknown unet preset 'unet-99'; valid names: unet-28, unet-32, unet-64"),
    ({"patch": 3}, (1, 8, 8), r"patch 3 does not divide the data's spatial size\(s\) \[8, 8\]"),
    ({"patch": 0}, (1, 8, 8), "patch must be a positive integer"),
    ({"patch": True}, (1, 8, 8), "patch must be a positive integer"),
    ({"preset": "unet-28"}, (3, 32, 32), r"attention_resolutions \[7\] are not all among .* \[32, 16, 8\]"),
    ({"width": 3}, (1, 8, 8), "unknown setting"),
    ({}, (2,), r"images of shape \(C, H, W\)"),
    ({"n_classes": 0}, (1, 8, 8), "n_classes"),
])
def test_bad_settings_are_clear_errors(cfg, shape, message):
    with pytest.raises(DifflabError, match=message):
        make_network({"name": "unet", **TINY, **cfg} if "preset" not in cfg else {"name": "unet", **cfg}, shape)


def test_class_conditional_forward_and_null_labels():
    torch.manual_seed(0)
    net = _perturb(UNet((1, 8, 8), n_classes=3, **TINY)).eval()
    x, t = torch.randn(4, 1, 8, 8), torch.rand(4)
    y = torch.tensor([0, 1, 2, 1])
    cond, none = net(x, t, y), net(x, t)
    assert cond.shape == x.shape and not torch.allclose(cond, none)
    assert torch.allclose(net(x, t, torch.full((4,), -1)), none)        # -1 is the null class
    mixed = net(x, t, torch.tensor([0, -1, 2, -1]))
    assert torch.allclose(mixed[[0, 2]], cond[[0, 2]], atol=1e-5) and torch.allclose(mixed[[1, 3]], none[[1, 3]], atol=1e-5)
    with pytest.raises(DifflabError, match="0..2"):
        net(x, t, torch.tensor([0, 1, 3, 1]))
    with pytest.raises(DifflabError, match="without n_classes"):
        UNet((1, 8, 8), **TINY)(x, t, y)


def test_classifier_free_guidance_helpers():
    torch.manual_seed(0)
    net = _perturb(UNet((1, 8, 8), n_classes=3, **TINY)).eval()
    x, t, y = torch.randn(4, 1, 8, 8), torch.rand(4), torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        cond, uncond = net(x, t, y), net(x, t)
        assert torch.allclose(guided_eps(net, x, t, y, 1.0), cond)
        assert torch.allclose(guided_eps(net, x, t, y, 0.0), uncond, atol=1e-5)
        assert torch.allclose(guided_eps(net, x, t, y, 3.0), uncond + 3.0 * (cond - uncond), atol=1e-4)
    g = torch.Generator().manual_seed(0)
    assert (drop_labels(y, 1.0, g) == -1).all() and torch.equal(drop_labels(y, 0.0, g), y)
    dropped = drop_labels(torch.zeros(1000, dtype=torch.long), 0.2, g)
    assert 0.15 < (dropped == -1).float().mean() < 0.25


@pytest.mark.parametrize("n_classes", [None, 3])
def test_gradients_reach_every_layer(n_classes):
    torch.manual_seed(0)
    net = _perturb(UNet((3, 8, 8), n_classes=n_classes, **TINY))
    x, t = torch.randn(4, 3, 8, 8), torch.rand(4)
    y = None if n_classes is None else torch.tensor([0, 1, 2, -1])
    net(x, t, y).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name != "label_emb.weight":                          # rows of unused labels stay 0
            assert p.grad.abs().sum() > 0, name
    if n_classes is not None:
        assert (net.label_emb.weight.grad.abs().sum(1) > 0).all()   # labels 0, 1, 2 and the null row


# -- run folders keep loading: the state_dict layout and the function of every preset are pinned --------
#
# tests/data/unet_reference.json was written by `python tests/test_unet.py` from the separate
# nets/unet.py and nets/unet1d.py of commit ac85ff4; run folders written by that version hold these
# state_dict keys, in this order (the optimizer's state is stored by parameter index), and shapes.

import json  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

from difflab.nets.unet1d import UNet1d  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "unet_reference.json"
CASES = {   # name -> (network class, data shape, settings)
    "unet-28": (UNet, (1, 28, 28), dict(preset="unet-28")),
    "unet-32": (UNet, (3, 32, 32), dict(preset="unet-32", n_classes=10)),
    "unet-odd": (UNet, (1, 12, 20), dict(base_channels=8, channel_mults=(1, 2, 2), n_res_blocks=2,
                                         attention_resolutions=(12, 3), n_classes=3)),
    "unet1d-tiny": (UNet1d, (2, 75), dict(preset="unet1d-tiny", n_classes=3)),
    "unet1d-small": (UNet1d, (1, 256), dict(preset="unet1d-small")),
    "unet1d-base": (UNet1d, (1, 128), dict(preset="unet1d-base", n_classes=10)),
    "unet1d-plain": (UNet1d, (1, 64), dict(base_channels=8, channel_mults=(1, 2, 2), kernel_size=5, attention=False)),
}


def _layout(net):
    return [f"{k} {'x'.join(map(str, v.shape))}" for k, v in net.state_dict().items()]


def _fixed_weights(net):
    """Weights that depend on each parameter's name only (not on torch's random stream)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            wave = torch.sin(torch.arange(p.numel(), dtype=torch.float64) * 0.7 + zlib.crc32(name.encode()) % 997)
            if p.ndim >= 2:
                p.copy_((wave / (p.numel() / p.shape[0]) ** 0.5).reshape(p.shape))
            else:
                p.copy_((("norm" in name and name.endswith("weight")) + 0.1 * wave).reshape(p.shape))
    return net.eval()


def _fixed_input(net, shape):
    n = 2
    x = torch.sin(torch.arange(n * math.prod(shape), dtype=torch.float32) * 0.37).reshape(n, *shape)
    t = torch.tensor([0.15, 0.8])
    y = torch.tensor([1, -1]) if net.n_classes else None
    return x, t, y


def _summary(name):
    """Layout, a fingerprint of the seeded initial weights, and the output for fixed weights and input."""
    cls, shape, settings = CASES[name]
    torch.manual_seed(0)
    net = cls(shape, **settings)
    init = sum(float(p.detach().double().abs().sum()) * (k + 1) for k, p in enumerate(net.parameters()))
    x, t, y = _fixed_input(net, shape)
    with torch.no_grad():
        out = _fixed_weights(net)(x, t, y).double().flatten()
    picks = torch.linspace(0, len(out) - 1, 8).long()
    return {"layout": _layout(net), "init": init,
            "output": [float(out.sum()), float(out.abs().sum())] + out[picks].tolist()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_layout_and_function_are_those_of_old_run_folders(name):
    expected = json.loads(REFERENCE.read_text())[name]
    got = _summary(name)
    assert got["layout"] == expected["layout"]                       # every key, in order, with its shape
    assert got["init"] == pytest.approx(expected["init"], rel=1e-6)   # same seed, same initial network
    scale = expected["output"][1] / 100                               # the outputs' typical size
    assert got["output"] == pytest.approx(expected["output"], rel=1e-4, abs=1e-4 * scale)


if __name__ == "__main__":            # write the reference (only from the code that defines it)
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(json.dumps({name: _summary(name) for name in sorted(CASES)}, indent=0) + "\n")


@pytest.mark.parametrize("name, shape", [("unet", (2, 8, 6)), ("unet1d", (3, 12))])
def test_patches_fold_into_channels_and_back(name, shape):
    """patch p: each p x p patch (p samples of a sequence) becomes p^dims channels of one position,
    in pixel_unshuffle's order (channel c p^2 + i p + j holds pixel (p y + i, p x + j) of channel c),
    the levels run at 1/p of the size, and the output has the input's shape."""
    torch.manual_seed(0)
    net = make_network({"name": name, "base_channels": 8, "channel_mults": (1, 2), "patch": 2}, shape)
    x = torch.randn(4, *shape)
    folded = net.fold(x)
    c = shape[0]
    if net.dims == 2:
        assert folded.shape == (4, 4 * c, shape[1] // 2, shape[2] // 2)
        for ch in range(c):
            for i in range(2):
                for j in range(2):
                    assert torch.equal(folded[:, 4 * ch + 2 * i + j], x[:, ch, i::2, j::2])
    else:
        assert folded.shape == (4, 2 * c, shape[1] // 2)
        for ch in range(c):
            for j in range(2):
                assert torch.equal(folded[:, 2 * ch + j], x[:, ch, j::2])
    assert torch.equal(net.unfold(folded), x)
    assert net.inp.in_channels == c * 2 ** net.dims
    out = _perturb(net)(x, torch.rand(4))
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert not make_network({"name": name, "base_channels": 8, "channel_mults": (1, 2), "patch": 2},
                            shape)(x, torch.rand(4)).any()            # zero output at initialisation
