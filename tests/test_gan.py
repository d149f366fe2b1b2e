"""The SN-DCGAN: shapes, spectral norm, tricks, exact resume, NaN stop, checkpoints, DDP."""

import json
import os
import time

import numpy as np
import pytest
import torch
from ddp import train_two_replicas
from torch.nn.utils import parametrize

from chaosgan import load_dataset, simulate
from chaosgan.cli import main
from chaosgan.errors import ChaosganError
from chaosgan.gan import losses, models, tricks
from chaosgan.gan.checkpoint import checkpoint_path, load_checkpoint
from chaosgan.gan.config import PRESETS, TrainConfig, load_config
from chaosgan.gan.ema import update_ema
from chaosgan.gan.models import Discriminator, Generator
from chaosgan.gan.sample import sample
from chaosgan.gan.train import frozen, train

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


@pytest.fixture(scope="module")
def images_data():
    return simulate("lorenz63", n=24, dt=0.1, seed=0)


def tiny(**kw):
    return load_config("default", overrides={**TINY, **kw})


def test_shapes():
    g, d = Generator(16, 32), Discriminator(8)
    x = g(torch.randn(5, 16))
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1
    assert d(x).shape == (5,)


def test_packed_discriminator_judges_packs_without_mixing_real_and_fake(images_data, tmp_path):
    d = Discriminator(8, pack=4)
    assert d.features[0].in_channels == 12  # 4 RGB samples stacked
    real, fake = torch.randn(8, 3, 32, 32), torch.randn(8, 3, 32, 32)
    logits = d(torch.cat([real, fake]))
    assert logits.shape == (4,)  # (8 + 8) / 4 packs
    d.eval()  # freeze the spectral-norm power iteration: only the inputs change below
    before = d(torch.cat([real, fake]))
    after = d(torch.cat([real, fake + 1.0]))
    assert torch.equal(before[:2], after[:2]) and not torch.equal(before[2:], after[2:])
    with pytest.raises(ChaosganError, match="pack .* must divide batch_size"):
        tiny(pack=3)
    run = train(images_data, tmp_path / "run", tiny(pack=4, epochs=1), device="cpu")
    assert np.isfinite(run.history["d_loss"]).all() and run.step > 0


def test_snake_layout_trains_and_samples_in_physical_units(images_data, tmp_path):
    with pytest.raises(ChaosganError, match="layout must be one of"):
        tiny(layout="spiral")
    train(images_data, tmp_path / "run", tiny(layout="snake", epochs=1), device="cpu")
    gen = sample(tmp_path / "run", n=8, device="cpu")
    assert gen.trajectories.shape == (8, 1024, 3) and np.isfinite(gen.trajectories).all()
    lo, hi = images_data.normalisation.minimum, images_data.normalisation.maximum
    assert np.all(gen.trajectories >= np.array(lo) - 1e-9)
    assert np.all(gen.trajectories <= np.array(hi) + 1e-9)


def test_spectral_norm_on_every_discriminator_layer():
    d = Discriminator(8)
    layers = [m for m in d.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 5
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    # the normalised weight has spectral norm ~1 after a few power iterations
    for _ in range(30):
        d(torch.randn(2, 3, 32, 32))
    w = d.head.weight
    assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_label_tricks_do_what_they_say():
    gen = torch.Generator().manual_seed(0)
    real = tricks.smoothed_targets(1000, True, 0.1, gen)
    fake = tricks.smoothed_targets(1000, False, 0.1, gen)
    assert real.min() >= 0.9 and real.max() <= 1.0 and real.std() > 0.01
    assert fake.min() >= 0.0 and fake.max() <= 0.1
    assert torch.equal(tricks.smoothed_targets(4, True, 0.0, gen), torch.ones(4))
    flipped = tricks.flip_targets(torch.ones(10_000), 0.05, gen)
    assert 0.04 < (flipped == 0).float().mean() < 0.06


def test_instance_noise_decays_to_its_end():
    assert tricks.noise_std(0.0, 0.1, 0.0) == 0.1
    assert tricks.noise_std(0.5, 0.1, 0.0) == pytest.approx(0.05)
    assert tricks.noise_std(1.0, 0.1, 0.02) == pytest.approx(0.02)
    x = torch.zeros(20_000)
    noisy = tricks.add_instance_noise(x, 0.1, torch.Generator().manual_seed(1))
    assert noisy.std().item() == pytest.approx(0.1, rel=0.05)


def test_losses_on_hand_checked_values_share_one_signature():
    big, small = torch.full((4,), 10.0), torch.full((4,), -10.0)
    ones, zeros = torch.ones(4), torch.zeros(4)
    assert losses.d_loss_bce(big, small, ones, zeros) < 1e-3
    assert losses.g_loss_bce(big) < 1e-3 and losses.g_loss_bce(small) > 5
    # at logit 0 every BCE term is log 2; hinge: relu(1 - 0) + relu(1 + 0) = 2, G: -0
    zero = torch.zeros(4)
    assert losses.d_loss_bce(zero, zero, ones, zeros).item() == pytest.approx(2 * np.log(2))
    assert losses.d_loss_hinge(zero, zero, ones, zeros).item() == 2.0
    assert losses.d_loss_hinge(big, small, ones, zeros) == 0 and losses.g_loss_hinge(big) == -10
    # per-window logits (B, W): per-sample targets broadcast over the windows
    windows = torch.tensor([[0.0, 2.0], [-1.0, 1.0]])
    d_real = losses.d_loss_bce(windows, windows, torch.ones(2), torch.zeros(2))
    manual = (
        torch.nn.functional.softplus(-windows).mean() + torch.nn.functional.softplus(windows).mean()
    )
    assert d_real.item() == pytest.approx(manual.item())
    assert {"bce", "hinge"} <= set(losses.LOSSES)


def test_study_preset_switches_every_trick_on():
    cfg = load_config("study")
    assert cfg.lr_d == 4 * cfg.lr_g
    assert cfg.label_smoothing == 0.1 and cfg.label_flip > 0 and cfg.noise_start > cfg.noise_end
    assert cfg.d_every > 1 and set(PRESETS["study"]) <= set(TrainConfig().to_dict())


def test_config_file_overrides_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text('loss = "lsgan"\nlr_g = 1e-3\n')
    cfg = load_config("study", good, {"epochs": 7})
    assert cfg.loss == "lsgan" and cfg.lr_g == 1e-3 and cfg.epochs == 7 and cfg.lr_d == 4e-4
    size = tmp_path / "size.toml"
    size.write_text("g_width = 32\nlr_g = 5e-4\n")
    cfg = load_config("study", [good, size])  # later files win
    assert cfg.loss == "lsgan" and cfg.g_width == 32 and cfg.lr_g == 5e-4
    bad = tmp_path / "b.toml"
    bad.write_text("learning_rate = 3\n")
    with pytest.raises(ChaosganError, match="unknown config key 'learning_rate'"):
        load_config("default", bad)
    bad.write_text('epochs = "many"\n')
    with pytest.raises(ChaosganError, match="epochs must be an integer"):
        load_config("default", bad)


def weights(run):
    return {k: v.clone() for k, v in run.generator.state_dict().items()} | {
        f"d.{k}": v.clone() for k, v in run.discriminator.state_dict().items()
    }


def test_resume_reproduces_an_uninterrupted_run_exactly(images_data, tmp_path):
    cfg = tiny(epochs=4)
    straight = train(images_data, tmp_path / "a", cfg, device="cpu")
    cfg2 = tiny(epochs=2)
    first_part = train(images_data, tmp_path / "b", cfg2, device="cpu").seconds
    start = time.perf_counter()
    resumed = train(images_data, tmp_path / "b", cfg2, device="cpu", resume=True, epochs=4)
    second_part = time.perf_counter() - start
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ema_a, ema_b = straight.generator_ema.state_dict(), resumed.generator_ema.state_dict()
    assert all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)
    assert resumed.epoch == 4 and resumed.step == straight.step
    # the checkpoint's training time adds up across the resume: both parts, not the last one
    assert load_checkpoint(tmp_path / "b")["train_seconds"] == resumed.seconds
    assert first_part + 0.5 * second_part < resumed.seconds <= first_part + second_part


def test_study_tricks_train_and_change_the_result(images_data, tmp_path):
    plain = train(images_data, tmp_path / "p", tiny(epochs=1), device="cpu")
    study = load_config("study", overrides={**TINY, "epochs": 1})
    tricked = train(images_data, tmp_path / "s", study, device="cpu")
    assert not torch.equal(
        plain.generator.state_dict()["net.0.weight"], tricked.generator.state_dict()["net.0.weight"]
    )
    assert tricked.step == plain.step  # d_every thins D updates, not G steps


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    images_data, tmp_path, monkeypatch
):
    out = tmp_path / "run"
    train(images_data, out, tiny(epochs=1), device="cpu")
    before = checkpoint_path(out).read_bytes()
    nan_loss = (losses.d_loss_bce, lambda fake: fake.mean() * float("nan"))
    monkeypatch.setitem(losses.LOSSES, "bce", nan_loss)
    with pytest.raises(ChaosganError, match="non-finite .*generator loss.*last good checkpoint"):
        train(images_data, out, tiny(epochs=3), device="cpu", resume=True, epochs=3)
    assert checkpoint_path(out).read_bytes() == before
    assert load_checkpoint(out)["epoch"] == 1


def test_ema_is_a_ramped_moving_average_and_copies_buffers():
    g, ema = Generator(8, 16), Generator(8, 16)
    g(torch.randn(4, 8))  # BatchNorm running statistics move
    before = [p.clone() for p in ema.parameters()]
    update_ema(ema, g, decay=0.999, step=0)  # ramp: decay (1 + 0) / (10 + 0) = 0.1
    for e, p, b in zip(ema.parameters(), g.parameters(), before, strict=True):
        torch.testing.assert_close(e, 0.1 * b + 0.9 * p)
    assert all(torch.equal(e, b) for e, b in zip(ema.buffers(), g.buffers(), strict=True))
    before = [p.clone() for p in ema.parameters()]
    update_ema(ema, g, decay=0.999, step=10**6)  # ramp over: the configured decay
    for e, p, b in zip(ema.parameters(), g.parameters(), before, strict=True):
        torch.testing.assert_close(e, 0.999 * b + 0.001 * p)


def test_bf16_autocast_trains_and_differs_from_float32(images_data, tmp_path):
    fp32 = train(images_data, tmp_path / "a", tiny(epochs=1), device="cpu")
    bf16 = train(images_data, tmp_path / "b", tiny(epochs=1, bf16=True), device="cpu")
    assert np.isfinite(bf16.history["g_loss"]).all()
    assert all(p.dtype == torch.float32 for p in bf16.generator.parameters())  # autocast only
    a, b = weights(fp32), weights(bf16)
    assert any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_compiled_models_train_like_eager_ones(images_data, tmp_path):
    """``--compile`` on the CPU (inductor's C++ backend; about a minute of compilation)."""
    eager = train(images_data, tmp_path / "a", tiny(epochs=2), device="cpu")
    compiled = train(images_data, tmp_path / "b", tiny(epochs=2, compile=True), device="cpu")
    a, b = weights(eager), weights(compiled)
    # same data, latents and noise; only floating-point order differs after two epochs
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-2


def test_corrupted_and_foreign_checkpoints_give_clear_errors(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ChaosganError, match="not a torch zip file"):
        load_checkpoint(path)
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ChaosganError, match="not a chaosgan checkpoint"):
        load_checkpoint(path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"format": "x", "evil": Evil()}, path)
    with pytest.raises(ChaosganError, match="corrupted or unsafe"):
        load_checkpoint(path)


def test_sample_writes_a_valid_generated_dataset(images_data, tmp_path, capsys):
    data_path = tmp_path / "real.npz"
    images_data.save(data_path)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(data_path),
                "--out",
                str(run),
                "--epochs",
                "1",
                "--device",
                "cpu",
                "--config",
                str(_write_tiny_toml(tmp_path)),
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 1 and (run / "config.json").exists()
    assert (run / "loss_curves.png").exists() and (run / "samples" / "epoch_0001.png").exists()
    gen_path = tmp_path / "gen.npz"
    assert main(["sample", str(run), "--n", "10", "--out", str(gen_path), "--seed", "3"]) == 0
    ds = load_dataset(gen_path)
    assert ds.meta["kind"] == "generated" and ds.trajectories.shape == (10, 1024, 3)
    assert ds.meta["dt"] == 0.1 and ds.meta["system"] == "lorenz63"
    lo, hi = np.array(ds.meta["normalisation"]["min"]), np.array(ds.meta["normalisation"]["max"])
    assert np.all(ds.trajectories >= lo - 1e-9) and np.all(ds.trajectories <= hi + 1e-9)
    again = sample(run, n=10, seed=3)
    assert np.array_equal(again.trajectories, ds.trajectories)
    assert main(["train", str(data_path), "--out", str(run), "--device", "cpu"]) == 2
    assert "--resume" in capsys.readouterr().err


def _write_tiny_toml(tmp_path):
    """The tiny model, with figures at the end of the run (TINY's sample_every turns them off)."""
    path = tmp_path / "tiny.toml"
    path.write_text("\n".join(f"{k} = {v}" for k, v in {**TINY, "sample_every": 1}.items()))
    return path


def test_ddp_with_two_gloo_processes_keeps_replicas_equal(images_data, tmp_path):
    data_path = tmp_path / "real.npz"
    images_data.save(data_path)
    a, b = train_two_replicas(data_path, tmp_path / "run", "default", {**TINY, "epochs": 1})
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert differ == []
    assert load_checkpoint(tmp_path / "run")["step"] > 0


def test_ema_samples_keep_the_generators_spread(images_data, tmp_path):
    """Standing statistics: EMA weights normalised with the raw generator's BatchNorm running
    statistics collapse towards the mean; re-estimated ones keep the spread."""
    run = train(images_data, tmp_path / "run", tiny(epochs=3, ema_decay=0.99), device="cpu")
    z = torch.randn(256, TINY["latent_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        raw_std = run.generator.train()(z).std().item()
    samples = sample(tmp_path / "run", n=256, seed=0)
    assert samples.images.std() > 0.5 * raw_std


def test_chunked_cpu_critic_equals_one_pass_and_runs_one_power_iteration():
    """CPU batches above ``CPU_CHUNK`` images are judged in chunks: the logits and every weight
    gradient equal one pass over the batch, and the spectral norms' power iteration advances
    once per call either way."""
    torch.manual_seed(0)
    chunked = Discriminator(8, pack=2)
    whole = Discriminator(8, pack=2)
    whole.load_state_dict(chunked.state_dict())
    x = torch.randn(2 * models.CPU_CHUNK + 6, 3, 32, 32)
    out_chunked = chunked(x)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models, "CPU_CHUNK", 10**6)  # one pass
        out_whole = whole(x)
    torch.testing.assert_close(out_chunked, out_whole, rtol=1e-5, atol=1e-6)
    (out_chunked**2).sum().backward()
    (out_whole**2).sum().backward()
    for (name, a), b in zip(chunked.named_parameters(), whole.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6, msg=name)
    # the power iteration's vectors moved once, identically
    for a, b in zip(chunked.buffers(), whole.buffers(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_frozen_critic_passes_the_generators_gradient_and_skips_its_own():
    torch.manual_seed(0)
    g, d = Generator(16, 32), Discriminator(8)
    z = torch.randn(4, 16)
    d.eval()  # the same spectral-norm weights in both passes
    g.eval()
    g.zero_grad(set_to_none=True)
    d(g(z)).sum().backward()
    expected = [p.grad.clone() for p in g.parameters()]
    g.zero_grad(set_to_none=True)
    d.zero_grad(set_to_none=True)
    with frozen(d, None):
        logits = d(g(z))
    assert all(p.requires_grad for p in d.parameters())  # restored on exit
    logits.sum().backward()
    assert all(p.grad is None for p in d.parameters())  # no weight gradient computed
    for a, b in zip(g.parameters(), expected, strict=True):
        torch.testing.assert_close(a.grad, b)


def test_resize_generator_draws_no_template_where_the_transposed_one_does(images_data, tmp_path):
    """A constant feature map is where the checkerboard shows: through a strided transposed
    convolution it comes out periodic (each pixel parity has its own kernel), through a
    resize-convolution constant (away from the zero-padded border)."""
    torch.manual_seed(0)
    flat = torch.ones(1, 8, 6, 6)
    transposed = models.conv_transpose2d(8, 4, 4, 2, 1)
    resize = models.resize_conv2d(8, 4, 4, 2, 1)
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    with torch.no_grad():
        assert resize(flat).shape == transposed(flat).shape == (1, 4, 12, 12)
        out_t, out_r = transposed(flat)[inner], resize(flat)[inner]
    spread = out_t.amax(dim=(2, 3)) - out_t.amin(dim=(2, 3))
    assert (spread > 1e-3).all()  # a period-2 pattern on every channel
    torch.testing.assert_close(out_r, out_r[..., :1, :1].expand_as(out_r))
    g = models.make_generator("resize", 16, 32, "snake")
    assert g(torch.randn(3, 16)).shape == (3, 3, 32, 32)
    run = train(images_data, tmp_path / "run", tiny(generator="resize", epochs=1), device="cpu")
    assert np.isfinite(run.history["g_loss"]).all()
    samples = sample(tmp_path / "run", n=4, seed=0, device="cpu")
    assert samples.trajectories.shape == (4, 1024, 3)


@pytest.mark.parametrize("margin", [4, 8])
def test_a_generator_with_a_margin_crops_its_canvas_and_its_border_rows_keep_their_spread(
    margin, images_data, tmp_path
):
    """At initialisation the zero padding leaves a DCGAN generator's first image row (the
    series' first 32 samples) a third of the inner rows' spread over z; drawn on a canvas
    ``margin`` pixels larger and cropped, it keeps most of it. The image is the canvas' middle,
    and a run trains and samples with it (the margin travels in the checkpoint's config)."""

    def first_row_share(g: Generator) -> float:
        g.eval()
        with torch.no_grad():
            spread = g(torch.randn(512, 16)).std(dim=0).mean(dim=(0, 2))  # per image row
        return (spread[0] / spread[8:24].mean()).item()

    torch.manual_seed(0)
    plain, wide = Generator(16, 64), Generator(16, 64, margin=margin)
    assert first_row_share(plain) < 0.5 and first_row_share(wide) > 0.75
    z = torch.randn(3, 16)
    canvas = wide.net(z[:, :, None, None])
    assert canvas.shape == (3, 3, 32 + 2 * margin, 32 + 2 * margin)
    torch.testing.assert_close(wide(z), canvas[:, :, margin:-margin, margin:-margin])
    run = train(images_data, tmp_path / "run", tiny(g_margin=margin, epochs=1), device="cpu")
    assert np.isfinite(run.history["g_loss"]).all()
    assert sample(tmp_path / "run", n=4, seed=0, device="cpu").trajectories.shape == (4, 1024, 3)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"g_margin": 3}, "g_margin must be one of"),
        ({"g_margin": 4, "generator": "recurrent"}, "not recurrent"),
    ],
)
def test_config_refuses_a_margin_it_cannot_draw(overrides, match):
    with pytest.raises(ChaosganError, match=match):
        load_config(overrides=overrides)
