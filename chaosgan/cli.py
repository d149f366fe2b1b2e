"""The ``chaosgan`` command line: parse, call the library, print. No science lives here.

Every subcommand prints a human summary, or one JSON object with ``--json``. Problems with the
input (a :class:`~chaosgan.errors.ChaosganError`) are printed as one line, ``error: ...``, with
exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence

from chaosgan import __version__
from chaosgan.errors import ChaosganError

Handler = Callable[[argparse.Namespace], int]


def parse_params(items: Sequence[str] | None) -> dict[str, float]:
    """``["rho=35", "sigma=10"]`` -> ``{"rho": 35.0, "sigma": 10.0}`` with one-line errors."""
    params: dict[str, float] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ChaosganError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise ChaosganError(f"--param {key}: {value!r} is not a number") from None
    return params


def show_progress() -> bool:
    """Progress bars go to stderr, and only when a person is watching it."""
    return sys.stderr.isatty()


def print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def cmd_simulate(args: argparse.Namespace) -> int:
    from chaosgan.atomic import check_writable
    from chaosgan.simulate import simulate

    check_writable(args.out, args.force)
    start = time.perf_counter()
    ds = simulate(
        system=args.system,
        n=args.n,
        steps=args.steps,
        dt=args.dt,
        seed=args.seed,
        params=parse_params(args.param),
        burn_in=args.burn_in,
        method=args.method,
        substeps=args.substeps,
        device=args.device,
        progress=show_progress(),
    )
    ds.save(args.out, force=args.force)
    seconds = time.perf_counter() - start
    plots = []
    if args.plots:
        from chaosgan.plots import preview

        plots = [str(p) for p in preview(ds, args.plots)]
    summary = {
        "out": str(args.out),
        "system": ds.meta["system"],
        "params": ds.meta["params"],
        "n": ds.n_series,
        "steps": ds.meta["steps"],
        "dt": ds.dt,
        "burn_in": ds.meta["burn_in"],
        "seed": ds.meta["seed"],
        "method": ds.meta["method"],
        "substeps": ds.meta["substeps"],
        "images": ds.images is not None,
        "normalisation": ds.meta["normalisation"],
        "seconds": round(seconds, 3),
        "plots": plots,
    }
    if args.json:
        print_json(summary)
    else:
        params = ", ".join(f"{k}={v:g}" for k, v in ds.meta["params"].items())
        span = ds.dt * (ds.meta["steps"] - 1)
        print(
            f"wrote {args.out}: {ds.n_series} {ds.meta['system']} series ({params}), "
            f"{ds.meta['steps']} samples at dt={ds.dt:g} ({span:g} time units each), "
            f"seed {ds.meta['seed']}, in {seconds:.2f} s"
        )
        for p in plots:
            print(f"  plot: {p}")
    return 0


def add_simulate(sub: argparse._SubParsersAction) -> None:
    from chaosgan.integrate import STEPPERS
    from chaosgan.simulate import DEFAULT_BURN_IN
    from chaosgan.systems import SYSTEMS

    p = sub.add_parser(
        "simulate",
        help="simulate trajectories of a chaotic system into a dataset (.npz)",
        description=(
            "Simulate N trajectories on a system's attractor with a batched fixed-step integrator "
            "and write them, with their 32x32 RGB image form when steps=1024 and D=3, to one .npz."
        ),
    )
    p.add_argument("--system", default="lorenz63", help=f"one of {', '.join(SYSTEMS)}")
    p.add_argument("--n", type=int, default=1000, help="number of trajectories (default 1000)")
    p.add_argument("--steps", type=int, default=1024, help="samples per trajectory (default 1024)")
    p.add_argument(
        "--dt", type=float, default=None, help="sampling step, time units (default: per system)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the initial conditions")
    p.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="override a parameter (repeatable)"
    )
    p.add_argument(
        "--burn-in",
        type=float,
        default=DEFAULT_BURN_IN,
        help=f"time units discarded before the first sample (default {DEFAULT_BURN_IN:g})",
    )
    p.add_argument("--method", default="rk4", choices=list(STEPPERS), help="fixed-step integrator")
    p.add_argument(
        "--substeps", type=int, default=None, help="steps per sample (default 10 rk4, 4 dop853)"
    )
    p.add_argument("--device", default="cpu", help="cpu (numpy), cuda (torch) or auto")
    p.add_argument("--out", required=True, help="output .npz path")
    p.add_argument("--plots", default=None, metavar="DIR", help="write preview PNGs into DIR")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_simulate)


def cmd_info(args: argparse.Namespace) -> int:
    from chaosgan.dataset import load

    ds = load(args.data)
    n, t, d = ds.trajectories.shape
    summary = {
        "path": str(args.data),
        "shape": [n, t, d],
        "images": ds.images is not None,
        "meta": ds.meta,
    }
    if args.json:
        print_json(summary)
    else:
        m = ds.meta
        print(f"{args.data}: {m['kind']} dataset of {n} series x {t} samples x {d} coordinates")
        print(f"  system {m['system']} {m['params']}, dt={m['dt']:g}, seed {m['seed']}")
        print(f"  images: {'yes' if ds.images is not None else 'no'}, chaosgan {m['version']}")
    return 0


def add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="validate a dataset and print what it holds",
        description="Load a dataset (validating it fully, without pickle) and summarise it.",
    )
    p.add_argument("data", help="dataset .npz")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_info)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_simulate, add_info]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaosgan",
        description=(
            "Generate and judge data from chaotic dynamical systems: simulate, identify the "
            "equations, train a GAN, sample it, and compare Lyapunov exponents."
        ),
    )
    parser.add_argument("--version", action="version", version=f"chaosgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chaosgan`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ChaosganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
