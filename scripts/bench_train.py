"""Benchmark: images per second of ``chaosgan train`` against a plain eager PyTorch loop of the
same models (same batch size, same loss, no tricks, no EMA), measured in the same run.

On CUDA our loop runs with ``--compile`` (torch.compile; CUDA graphs remove the per-step launch
overhead that dominates a model this small at batch 64) and ``--bf16``; on the CPU it runs eager
in float32 unless asked (``--compile``, ``--bf16``), so the ratio there shows what our extra work
(EMA, tricks, the end-of-run checkpoint and figures) costs.

With ``--orbits`` it also times the loop with the series critic, the physics loss and both
(the small model of ``scripts/demo_gan.toml`` with packs of 4 and the snake layout, as the
ablation trains them) and ``--preset best``, each against that recipe without them in the same
run; the physics loss is on from the first step (no delayed start), and the one-off
identification of the physics model is timed apart and left out of the images/s.

With ``--family`` it times the other losses (minimax, least squares, hinge, Wasserstein with its
gradient penalty at one critic step and without it, and ``--preset wgan-gp`` with its five) and
the recurrent generator (a GRU of 64 units drawing the series step by step) against the default
recipe (BCE, DCGAN generator) in the same run, all eager (torch.compile cannot differentiate
the penalty twice), images/s counting real images per generator step.

    python scripts/bench_train.py                  # CPU, 1000 images, 1 epoch each, best of 3
    python scripts/bench_train.py --epochs 20      # on a GPU machine
    python scripts/bench_train.py --epochs 2 --orbits   # the cost of the orbit parts
    python scripts/bench_train.py --epochs 1 --family   # the losses and the recurrent generator
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from chaosgan import simulate
from chaosgan.gan import losses
from chaosgan.gan.config import load_config
from chaosgan.gan.models import Discriminator, Generator, init_weights
from chaosgan.gan.physics import physics_model
from chaosgan.gan.train import train

BEFORE = {"pack": 4, "layout": "snake"}  # the best recipe before the orbit parts
ORBIT_VARIANTS = {  # name: (preset, overrides); the physics loss on from the first step
    "pack 4 + snake (before)": ("default", BEFORE),
    "+ series critic": ("default", {**BEFORE, "series_weight": 1.0}),
    "+ physics loss": ("default", {**BEFORE, "physics": "identified", "physics_start": 0.0}),
    "--preset best": ("best", {"physics_start": 0.0}),
}

FAMILY_VARIANTS = {  # name: (preset, overrides)
    "bce, DCGAN (baseline)": ("default", {}),
    "minimax": ("default", {"loss": "minimax"}),
    "lsgan": ("default", {"loss": "lsgan"}),
    "hinge": ("default", {"loss": "hinge"}),
    "wgan + GP, n_dis 1": ("default", {"loss": "wgan"}),
    "wgan, no GP (SN only), n_dis 1": ("default", {"loss": "wgan", "gp_weight": 0.0}),
    "--preset wgan-gp (n_dis 5)": ("wgan-gp", {}),
    "recurrent generator (GRU 64)": ("default", {"generator": "recurrent", "g_width": 64}),
}


def plain_loop(images: torch.Tensor, epochs: int, batch: int, latent: int, device) -> float:
    """The textbook DCGAN loop: seconds for ``epochs`` passes."""
    g, d = Generator(latent).to(device), Discriminator().to(device)
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(images), device=device)
        for i in range(0, len(images) - batch + 1, batch):
            real = images[order[i : i + batch]]
            fake = g(torch.randn(batch, latent, device=device))
            loss_d = losses.d_loss_bce(d(real), d(fake.detach()), ones, zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = losses.g_loss_bce(d(fake))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
    sync()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="images (default 1000)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per loop (default 1)")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each loop, best kept (default 3)"
    )
    ap.add_argument("--compile", action="store_true", help="torch.compile on the CPU too")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast on the CPU too")
    ap.add_argument("--orbits", action="store_true", help="also time the orbit parts")
    ap.add_argument(
        "--family", action="store_true", help="also time the losses and the recurrent generator"
    )
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = simulate("lorenz63", n=args.n, dt=0.1, seed=0)
    images = torch.from_numpy(data.images).to(device)
    steps = args.epochs * (args.n // args.batch)
    done = steps * args.batch

    plain_loop(images, 1, args.batch, 100, device)  # warm-up (allocator, kernels)

    cuda = device.type == "cuda"
    cfg = load_config(
        overrides={
            "epochs": args.epochs,
            "batch_size": args.batch,
            "sample_every": 10**6,
            "checkpoint_every": 10**6,
            "compile": cuda or args.compile,
            "bf16": cuda or args.bf16,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up outside the timing: imports, allocator, and on CUDA the compilation
        train(
            data,
            f"{tmp}/warm",
            load_config(overrides={**cfg.to_dict(), "epochs": 1}),
            device=device.type,
        )
        # the two loops alternate, best of --repeat each: a shared machine's noise (another
        # job, frequency scaling) slows single runs, never speeds them up
        plain_times, ours_times = [], []
        for i in range(args.repeat):
            plain_times.append(plain_loop(images, args.epochs, args.batch, 100, device))
            start = time.perf_counter()
            train(data, f"{tmp}/run{i}", cfg, device=device.type)
            ours_times.append(time.perf_counter() - start)
        plain_s, ours_s = min(plain_times), min(ours_times)
    print(
        f"{device.type}: {done} images per loop ({steps} steps of {args.batch}), "
        f"best of {args.repeat}"
    )
    print(f"  plain eager loop  {done / plain_s:9.0f} images/s  ({plain_s:.2f} s)")
    print(
        f"  chaosgan train    {done / ours_s:9.0f} images/s  ({ours_s:.2f} s, "
        f"{_mode(cfg)}, EMA, checkpoint at the end, no figures)"
    )
    print(f"  ratio ours / plain: {plain_s / ours_s:.2f}x")
    if args.orbits:
        orbit_costs(data, args.epochs)
    if args.family:
        family_costs(data, args.epochs, args.batch, device, cfg.bf16)


def orbit_costs(data, epochs: int) -> None:
    """images/s of the small best-recipe model with and without the orbit parts."""
    start = time.perf_counter()
    physics_model(data, "identified")
    identify_s = time.perf_counter() - start
    files = ["scripts/demo_gan.toml"]
    base = {"epochs": epochs, "sample_every": 10**6, "checkpoint_every": 10**6}
    batch = load_config(path=files).batch_size
    done = epochs * (data.n_series // batch) * batch
    print(f"orbit parts, small model (demo_gan.toml), {done} images per run:")
    print(f"  identification of the physics model: {identify_s:.1f} s (once per run, not counted)")
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (preset, overrides)) in enumerate(ORBIT_VARIANTS.items()):
            cfg = load_config(preset, files, overrides={**base, **overrides})
            start = time.perf_counter()
            train(data, f"{tmp}/{i}", cfg, device="cpu")
            seconds = time.perf_counter() - start - (identify_s if cfg.physics != "off" else 0)
            reference = reference or seconds
            print(
                f"  {name:24s} {done / seconds:7.0f} images/s  ({reference / seconds:.2f}x the "
                "recipe without them)"
            )


def family_costs(data, epochs: int, batch: int, device, bf16: bool) -> None:
    """images/s of each loss and of the recurrent generator, against BCE with the DCGAN."""
    base = {
        "epochs": epochs,
        "batch_size": batch,
        "sample_every": 10**6,
        "checkpoint_every": 10**6,
        "bf16": bf16,
    }
    done = epochs * (data.n_series // batch) * batch
    print(f"losses and generators, default model, eager, {done} images per run:")
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        train(data, f"{tmp}/warm", load_config(overrides=base), device=device.type)  # warm-up
        for i, (name, (preset, overrides)) in enumerate(FAMILY_VARIANTS.items()):
            cfg = load_config(preset, overrides={**base, **overrides})
            start = time.perf_counter()
            train(data, f"{tmp}/{i}", cfg, device=device.type)
            seconds = time.perf_counter() - start
            reference = reference or seconds
            print(
                f"  {name:30s} {done / seconds:7.0f} images/s  ({reference / seconds:.2f}x the "
                "baseline's speed)"
            )


def _mode(cfg) -> str:
    on = [name for name in ("compile", "bf16") if getattr(cfg, name)]
    return " + ".join(on) or "eager fp32"


if __name__ == "__main__":
    main()
