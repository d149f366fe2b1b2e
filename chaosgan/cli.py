"""The ``chaosgan`` command line: parse, call the library, print. No science lives here.

Every subcommand prints a human summary, or one strict-JSON object with ``--json`` (non-finite
numbers as null, see :mod:`chaosgan.jsonio`). Problems with the input (a
:class:`~chaosgan.errors.ChaosganError`, or an argument that :mod:`chaosgan.argtypes` rejects at
parse time) are printed as one line, ``error: ...``, with exit status 2 and no traceback.
Commands that allocate by user-given sizes estimate their memory first (``--max-memory``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from chaosgan import __version__
from chaosgan.argtypes import (
    SEED,
    OneLineParser,
    choice_list,
    finite_float,
    int_range,
    memory_size,
    path_arg,
)
from chaosgan.errors import ChaosganError
from chaosgan.resources import MAX_INTEGRATION_STEPS


def parse_params(items: Sequence[str] | None, flag: str = "--param") -> dict[str, float]:
    """``["rho=35", "sigma=10"]`` -> ``{"rho": 35.0, "sigma": 10.0}`` with one-line errors."""
    params: dict[str, float] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ChaosganError(f"{flag} expects NAME=VALUE, got {item!r}")
        if key in params:
            raise ChaosganError(f"{flag} {key} given twice")
        params[key] = _number(key, value, flag)
    return params


def _number(key: str, text: str, flag: str = "--param") -> float:
    try:
        value = float(text)
    except ValueError:
        raise ChaosganError(f"{flag} {key}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ChaosganError(f"{flag} {key}: {text!r} is not a finite number")
    return value


def parse_param_specs(items: Sequence[str] | None) -> tuple[dict[str, float], dict]:
    """``--param`` values of ``simulate``: ``NAME=VALUE`` (fixed), ``NAME=LOW:HIGH`` (drawn
    uniformly per series) or ``NAME=A,B,...`` (one of these per series, equally likely).

    Returns the fixed values and the :class:`~chaosgan.simulate.ParamDraw` of the others.
    """
    from chaosgan.simulate import ParamDraw

    fixed: dict[str, float] = {}
    vary: dict[str, ParamDraw] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ChaosganError(
                f"--param expects NAME=VALUE, NAME=LOW:HIGH or NAME=A,B; got {item!r}"
            )
        if key in fixed or key in vary:
            raise ChaosganError(f"--param {key} given twice")
        if ":" in value:
            low, _, high = value.partition(":")
            draw = ParamDraw(_number(key, low), _number(key, high))
            draw.check(key)
            vary[key] = draw
        elif "," in value:
            choices = tuple(_number(key, v) for v in value.split(","))
            if len(set(choices)) < 2:
                raise ChaosganError(f"--param {key}: a choice needs two different values")
            vary[key] = ParamDraw(choices=choices)
        else:
            fixed[key] = _number(key, value)
    return fixed, vary


def show_progress() -> bool:
    """Progress bars go to stderr, and only when a person is watching it."""
    return sys.stderr.isatty()


def print_json(obj: object) -> None:
    from chaosgan.jsonio import dumps

    print(dumps(obj))


def cmd_simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chaosgan.atomic import atomic_folder, check_folder_writable, check_writable
    from chaosgan.simulate import simulate

    check_writable(args.out, args.force)
    if args.plots is not None:
        check_folder_writable(args.plots, args.force)
        if Path(args.plots).resolve() == Path(args.out).resolve():
            raise ChaosganError("--plots must be a folder other than --out")
    fixed, vary = parse_param_specs(args.param)
    start = time.perf_counter()
    ds = simulate(
        system=args.system,
        n=args.n,
        steps=args.steps,
        dt=args.dt,
        seed=args.seed,
        params=fixed,
        vary=vary,
        burn_in=args.burn_in,
        method=args.method,
        substeps=args.substeps,
        device=args.device,
        progress=show_progress(),
        max_memory=args.max_memory,
    )
    seconds = time.perf_counter() - start
    plots = []
    if args.plots:  # staged first, published after the dataset: all of it or none of it
        from chaosgan.plots import preview

        with atomic_folder(args.plots) as folder:
            names = [p.name for p in preview(ds, folder)]
            ds.save(args.out, force=args.force)
        plots = [str(Path(args.plots) / name) for name in names]
    else:
        ds.save(args.out, force=args.force)
    summary = {
        "out": str(args.out),
        "system": ds.meta["system"],
        "params": ds.meta["params"],
        "series_params": _series_param_ranges(ds),
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
        ranges = _series_param_ranges(ds)
        params = ", ".join(
            f"{k}={ranges[k][0]:g}..{ranges[k][1]:g} per series" if k in ranges else f"{k}={v:g}"
            for k, v in ds.meta["params"].items()
        )
        span = ds.dt * (ds.meta["steps"] - 1)
        print(
            f"wrote {args.out}: {ds.n_series} {ds.meta['system']} series ({params}), "
            f"{ds.meta['steps']} samples at dt={ds.dt:g} ({span:g} time units each), "
            f"seed {ds.meta['seed']}, in {seconds:.2f} s"
        )
        for p in plots:
            print(f"  plot: {p}")
    return 0


def _series_param_ranges(ds) -> dict[str, list[float]]:
    """``{name: [min, max]}`` of the parameters that vary per series."""
    return {
        name: [float(ds.series_params[:, i].min()), float(ds.series_params[:, i].max())]
        for i, name in enumerate(ds.series_param_names)
    }


def add_max_memory(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-memory",
        type=memory_size,
        default=None,
        metavar="SIZE",
        help="refuse to start if the estimate exceeds SIZE, e.g. 4G (default: memory available)",
    )


def add_simulate(sub: argparse._SubParsersAction) -> None:
    from chaosgan.dataset import DT_RANGE, MAX_BURN_IN, MAX_SUBSTEPS
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
    p.add_argument(
        "--n", type=int_range(1), default=1000, help="number of trajectories (default 1000)"
    )
    p.add_argument(
        "--steps", type=int_range(2), default=1024, help="samples per trajectory (default 1024)"
    )
    p.add_argument(
        "--dt",
        type=finite_float(*DT_RANGE),
        default=None,
        help="sampling step, time units (default: per system)",
    )
    p.add_argument("--seed", type=SEED, default=0, help="seed of the initial conditions")
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a parameter (repeatable): NAME=VALUE fixed, NAME=LOW:HIGH drawn uniformly per "
        "series, NAME=A,B,... one of the values per series (seeded by --seed; stored in the "
        "dataset as series_params)",
    )
    p.add_argument(
        "--burn-in",
        type=finite_float(0.0, MAX_BURN_IN),
        default=DEFAULT_BURN_IN,
        help=f"time units discarded before the first sample (default {DEFAULT_BURN_IN:g})",
    )
    p.add_argument("--method", default="rk4", choices=list(STEPPERS), help="fixed-step integrator")
    p.add_argument(
        "--substeps",
        type=int_range(1, MAX_SUBSTEPS),
        default=None,
        help="steps per sample (default 10 rk4, 4 dop853)",
    )
    p.add_argument("--device", default="cpu", help="cpu (numpy), cuda (torch) or auto")
    p.add_argument("--out", type=path_arg, required=True, help="output .npz path")
    p.add_argument(
        "--plots", type=path_arg, default=None, metavar="DIR", help="write preview PNGs into DIR"
    )
    add_max_memory(p)
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
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
        "series_params": _series_param_ranges(ds),
        "coordinates": ds.coordinate_stats(),
        "meta": ds.meta,
    }
    if args.json:
        print_json(summary)
    else:
        m = ds.meta
        print(f"{args.data}: {m['kind']} dataset of {n} series x {t} samples x {d} coordinates")
        print(f"  system {m['system']} {m['params']}, dt={m['dt']:g}, seed {m['seed']}")
        print(f"  images: {'yes' if ds.images is not None else 'no'}, chaosgan {m['version']}")
        for name, (lo, hi) in summary["series_params"].items():
            print(f"  per series: {name} in [{lo:g}, {hi:g}]")
        for name, st in summary["coordinates"].items():
            print(
                f"  {name}: mean {st['mean']:.4g}, std {st['std']:.4g}, "
                f"1st-99th percentile {st['p1']:.4g} to {st['p99']:.4g}"
            )
    return 0


def add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="validate a dataset and print what it holds",
        description="Load a dataset (validating it fully, without pickle) and summarise it: "
        "shape, system, per-series parameters, and each coordinate's mean, standard deviation "
        "and 1st-99th percentile range over all samples (the data's units).",
    )
    p.add_argument("data", help="dataset .npz")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_info)


def cmd_lyapunov_spectrum(args: argparse.Namespace) -> int:
    from chaosgan.lyapunov.spectrum import default_effort, lyapunov_spectrum
    from chaosgan.resources import check_memory
    from chaosgan.systems import get_system

    system = get_system(args.system)
    params = system.resolve_params(parse_params(args.param))
    n_default, t_default = default_effort(system.dim(params))
    args.n = n_default if args.n is None else args.n
    args.time = t_default if args.time is None else args.time
    if args.step >= args.time:
        raise ChaosganError(f"--step {args.step:g} must be shorter than --time {args.time:g}")
    if args.time / args.step > MAX_INTEGRATION_STEPS:
        raise ChaosganError(
            f"--time / --step = {args.time / args.step:.3g} RK4 steps, more than "
            f"{MAX_INTEGRATION_STEPS:.0e}; use a longer --step or a shorter --time"
        )
    d = system.dim(params)
    # per trajectory: state, tangent vectors and their RK4 stages (about 12 copies of D x (D+1))
    check_memory(args.n * 12 * d * (d + 1) * 8, f"{args.n} trajectories", args.max_memory)
    spec = lyapunov_spectrum(
        system,
        params,
        n_trajectories=args.n,
        t_average=args.time,
        h=args.step,
        seed=args.seed,
        progress=show_progress(),
    )
    trace = system.trace(params) if system.trace else None
    result = {
        "system": system.name,
        "params": params,
        "units": "1/time",
        "exponents": [float(v) for v in spec.exponents],
        "stderr": [float(v) for v in spec.stderr],
        "sum": float(spec.exponents.sum()),
        "trace": trace,
        "kaplan_yorke_dimension": spec.kaplan_yorke_dimension,
        "n_trajectories": args.n,
        "t_average": args.time,
        "step": args.step,
    }
    if args.json:
        print_json(result)
        return 0
    print(
        f"{system.name} {params}: Lyapunov spectrum (1/time), {args.n} trajectories x "
        f"{args.time:g} time units, RK4 step {args.step:g}"
    )
    for i, (v, e) in enumerate(zip(spec.exponents, spec.stderr, strict=True)):
        print(f"  lambda_{i + 1} = {v:+.4f} +- {e:.4f}")
    line = f"  sum = {result['sum']:.4f}"
    if trace is not None:
        line += f" (trace of the Jacobian: {trace:.4f})"
    print(line)
    print(f"  Kaplan-Yorke dimension = {spec.kaplan_yorke_dimension:.4f}")
    return 0


def cmd_lyapunov_estimate(args: argparse.Namespace) -> int:
    from chaosgan.dataset import load
    from chaosgan.lyapunov.from_data import (
        DEFAULT_POOL,
        RosensteinParams,
        derive_rosenstein_params,
        estimate_dataset,
    )

    ds = load(args.data)
    params: Any = None
    if args.method == "rosenstein":
        if args.params == "auto":
            pool = DEFAULT_POOL if args.pool is None else args.pool
            params = derive_rosenstein_params(ds.trajectories, ds.dt, pool=pool)
        elif args.pool is not None:
            params = RosensteinParams(pool=args.pool)
    elif args.pool is not None:
        raise ChaosganError("--pool is a Rosenstein option (the neighbour search)")
    est = estimate_dataset(
        ds, args.method, params, args.backend, n_jobs=args.jobs, progress=show_progress()
    )
    result = est.to_dict()
    if args.json:
        print_json(result)
        return 0
    print(f"{args.data}: {args.method} largest exponent per coordinate (1/time), dt={ds.dt:g}")
    print(f"  {'coord':6s} {'median':>8s} {'mean':>8s} {'95% CI of median':>20s} {'n':>6s}")
    for name, c in est.coordinates.items():
        ci = f"[{c.ci95[0]:.3f}, {c.ci95[1]:.3f}]"
        print(f"  {name:6s} {c.median:8.4f} {c.mean:8.4f} {ci:>20s} {c.n:6d}")
    for warning in est.warnings:
        print(f"  warning: {warning}")
    return 0


def cmd_lyapunov_path(args: argparse.Namespace) -> int:
    import numpy as np

    from chaosgan.dataset import load
    from chaosgan.lyapunov.from_data import summarise
    from chaosgan.lyapunov.spectrum import path_exponents
    from chaosgan.systems import get_system

    ds = load(args.data)
    name = args.system or ds.meta.get("system")
    if not name:
        raise ChaosganError(f"{args.data} names no catalogue system: pass --system")
    system = get_system(name)
    overrides = parse_params(args.param)
    series = ds.trajectories[: args.max_series]
    # The dataset's own parameters (fixed and per series) describe its own system only:
    # judged by another system, the series get that system's defaults and --param.
    params: dict[str, Any] = {}
    if ds.meta.get("system") == system.name:
        params.update(ds.meta.get("params") or {})
        for key in ds.series_param_names:  # one value per series (a conditional dataset)
            params[key] = ds.series_param(key)[: args.max_series]
    params.update(overrides)
    values = path_exponents(
        system, series, ds.dt, params, substeps=args.substeps, progress=show_progress()
    )[:, 0]
    est = summarise(values)
    result = {
        "data": str(args.data),
        "system": system.name,
        "params": {k: (float(v) if np.ndim(v) == 0 else "per series") for k, v in params.items()},
        "units": "1/time",
        "judged_by": "the system's equations (the truth), not learned from the data",
        "n_series": len(series),
        "median": est.median,
        "mean": est.mean,
        "ci95": list(est.ci95),
    }
    if args.json:
        print_json(result)
        return 0
    print(
        f"{args.data}: largest exponent of {system.name}'s linearised flow carried along each "
        f"series (1/time; the equations judge), {len(series)} series"
    )
    print(
        f"  median {est.median:.4f}  mean {est.mean:.4f}  95% CI of median "
        f"[{est.ci95[0]:.4f}, {est.ci95[1]:.4f}]"
    )
    return 0


def _cells(value: float | list[float]) -> str:
    """A scorecard value for the console: a number, or each coordinate's, comma-separated."""
    if isinstance(value, list):
        return ", ".join(f"{v:.4f}" for v in value)
    return f"{value:9.4f}"


def cmd_score(args: argparse.Namespace) -> int:
    """``chaosgan score`` and ``chaosgan lyapunov report``: one handler, one JSON."""
    from chaosgan.evaluate import load_series, score, training_set_of, write_report
    from chaosgan.evaluate.report import check_report_folder

    check_report_folder(args.out, args.force)
    params = parse_params(args.param) or None
    given = {"dt": args.dt, "system": args.system, "params": params}
    real = load_series(args.real, kind="real", **given)
    generated = load_series(args.generated, **given)
    floor = load_series(args.floor, kind="real", **given) if args.floor else None
    train = training_set_of(generated, args.generated, args.train, dt=args.dt)
    card = score(
        real,
        generated,
        floor=floor,
        train=train,
        metrics=not args.no_metrics,
        method=args.method,
        backend=args.backend,
        seed=args.seed,
    )
    result = write_report(card, args.out, force=args.force)
    if args.json:
        print_json(result)
        return 0
    print(f"wrote {args.out}/report.md, report.json and {len(result['figures'])} figures")
    for name, m in result.get("metrics", {}).items():
        if name == "lyapunov_ratio":
            continue
        gen, floor_value = m["generated"], m["floor"]
        if isinstance(gen, dict):
            gen, floor_value = gen["median"], floor_value["median"]
        # per-coordinate metrics in full: the worst coordinate is the largest W1 but, for a
        # ratio whose best is 1, the one furthest from 1, so no single reduction fits them all
        print(f"  {name:34s} generated {_cells(gen)}   floor {_cells(floor_value)}")
    ly = result["lyapunov"]
    for name, c in ly["coordinates"].items():
        q = c["ratio"]
        print(
            f"  {name}: real {c['real']['median']:.4f}, generated {c['generated']['median']:.4f}"
            f", ratio {q['value']:.3f} [{q['ci95'][0]:.3f}, {q['ci95'][1]:.3f}]"
        )
    if "reference_exponent" in ly:
        print(f"  from the equations: {ly['reference_exponent']:.4f}")
    for warning in result["warnings"]:
        print(f"  warning: {warning}")
    return 0


def add_score_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``chaosgan score``, shared by ``chaosgan lyapunov report``."""
    from chaosgan.dataset import DT_RANGE
    from chaosgan.lyapunov.from_data import BACKENDS, METHODS
    from chaosgan.systems import SYSTEMS

    p.add_argument(
        "--real", type=path_arg, required=True, help="held-out real data (.npz, .npy or .csv)"
    )
    p.add_argument(
        "--generated", type=path_arg, required=True, help="the series to judge (.npz, .npy, .csv)"
    )
    p.add_argument(
        "--floor",
        "--real2",
        dest="floor",
        type=path_arg,
        default=None,
        help="independent real data for the floor (default: simulated with another seed)",
    )
    p.add_argument(
        "--train",
        type=path_arg,
        default=None,
        help="the generator's training data, for memorisation_ratio "
        "(default: the file the generated data's meta names)",
    )
    p.add_argument("--out", type=path_arg, required=True, help="report folder")
    p.add_argument(
        "--dt",
        type=finite_float(*DT_RANGE),
        default=None,
        help="sampling step of bare arrays (time units)",
    )
    p.add_argument("--system", default=None, help=f"system of bare arrays: {', '.join(SYSTEMS)}")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="with --system")
    p.add_argument("--method", default="rosenstein", choices=METHODS, help="exponent estimator")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--seed", type=SEED, default=0, help="seed of the randomised metrics")
    p.add_argument(
        "--no-metrics", action="store_true", help="exponents only, without the fidelity scorecard"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing report")
    p.add_argument("--json", action="store_true", help="print report.json to stdout")
    p.set_defaults(handler=cmd_score)


SCORE_DESCRIPTION = (
    "Judge a generator's series against held-out real data: every fidelity metric beside its "
    "real-vs-real floor, Lyapunov exponent ratios with CIs, and the memorisation ratio against "
    "the training data. Inputs: chaosgan .npz, or a plain (N, T, D) array in .npy / .npz, or a "
    "long-format .csv (series,time,coordinates...) with --dt (and optionally --system). Writes "
    "report.json (schema chaosgan-scorecard/1), report.md and figures into --out."
)


def add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score", help="fidelity scorecard of any generator's series", description=SCORE_DESCRIPTION
    )
    add_score_arguments(p)


def add_lyapunov(sub: argparse._SubParsersAction) -> None:
    from chaosgan.lyapunov.from_data import BACKENDS, METHODS
    from chaosgan.systems import SYSTEMS

    p = sub.add_parser(
        "lyapunov",
        help="Lyapunov exponents: from equations, from data, and real-vs-generated reports",
        description="Lyapunov exponents, always in 1/time units.",
    )
    lsub = p.add_subparsers(dest="lyapunov_command", metavar="ACTION")
    lsub.required = True

    s = lsub.add_parser(
        "spectrum",
        help="full spectrum of a catalogue system by the QR method",
        description=(
            "Full Lyapunov spectrum from the equations (Benettin/Shimada-Nagashima QR method), "
            "averaged over random initial conditions, with the standard error across them."
        ),
    )
    s.add_argument("--system", default="lorenz63", help=f"one of {', '.join(SYSTEMS)}")
    s.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter")
    s.add_argument(
        "--n",
        type=int_range(1),
        default=None,
        help="initial conditions (default 32; 16 above 3 dims)",
    )
    s.add_argument(
        "--time",
        type=finite_float(0.0, 1e6, lo_open=True),
        default=None,
        help="time units each (default 400; 100 above 3 dims)",
    )
    s.add_argument(
        "--step",
        type=finite_float(0.0, 1.0, lo_open=True),
        default=0.01,
        help="RK4 step, time units (0.01)",
    )
    s.add_argument("--seed", type=SEED, default=0, help="seed of the initial conditions")
    add_max_memory(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=cmd_lyapunov_spectrum)

    e = lsub.add_parser(
        "estimate",
        help="per-coordinate largest exponent of every series in a dataset",
        description=(
            "Largest exponent of each series and coordinate, Rosenstein's parameters chosen "
            "from the data or fixed (see chaosgan.lyapunov.from_data); median, mean and "
            "bootstrap 95% CI."
        ),
    )
    e.add_argument("data", help="dataset .npz")
    e.add_argument("--method", default="rosenstein", choices=METHODS)
    e.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="fast (batched torch), nolds (reference), auto (default)",
    )
    e.add_argument(
        "--params",
        default="auto",
        choices=("auto", "fixed"),
        help="Rosenstein parameters from the data (default) or the fixed defaults",
    )
    e.add_argument(
        "--pool",
        type=int_range(1, 100000),
        default=None,
        help="Rosenstein: series per neighbour pool, each point's nearest neighbour searched "
        "among the points of this many series (default 128 with --params auto; 1, each series "
        "alone as in nolds, with --params fixed)",
    )
    e.add_argument(
        "--jobs", type=int_range(1, 1024), default=None, help="processes for nolds (default: cores)"
    )
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(handler=cmd_lyapunov_estimate)

    a = lsub.add_parser(
        "path",
        help="the equations' tangent dynamics carried along each series of a dataset",
        description=(
            "Largest exponent of a catalogue system's linearised flow carried along the samples "
            "of each series (chaosgan.lyapunov.spectrum.path_exponents): for orbits, their "
            "finite-time exponent; for near-orbits (sample --relax), how unstable the paths "
            "they run along are (systematic kinks read too: compare with real series relaxed "
            "the same way); meaningless for series far from any orbit. The system's equations "
            "judge (the truth: the system and parameters come from the dataset's meta unless "
            "given), so it is a check, not something learned from the data."
        ),
    )
    a.add_argument("data", help="dataset .npz")
    a.add_argument(
        "--system", default=None, help=f"one of {', '.join(SYSTEMS)} (default: the meta's)"
    )
    a.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter")
    a.add_argument(
        "--substeps", type=int_range(1, 1000), default=10, help="RK4 steps per sample (10)"
    )
    a.add_argument(
        "--max-series", type=int_range(1), default=1000, help="series used (first; 1000)"
    )
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=cmd_lyapunov_path)

    r = lsub.add_parser(
        "report",
        help="the study's name for chaosgan score (same code, same report)",
        description=SCORE_DESCRIPTION,
    )
    add_score_arguments(r)


def cmd_identify(args: argparse.Namespace) -> int:
    from chaosgan.dataset import load
    from chaosgan.identify import identify

    ds = load(args.data)
    result = identify(
        ds,
        methods=args.methods,
        target=args.target,
        noise=args.noise,
        degree=args.degree,
        seed=args.seed,
        max_series=args.max_series,
    )
    if args.json:
        print_json(result)
        return 0
    print(
        f"{args.data}: {result['series']} series x {result['samples']} samples, dt={ds.dt:g}, "
        f"target {args.target}, noise {args.noise:g}"
    )
    if result["true_params"]:
        print(f"true parameters: {result['true_params']}")
    print(
        f"{'method':12s} {'RMSE':>10s} {'coef RMSE':>10s} {'lambda_1':>9s} {'bounded':>8s}  params"
    )
    for name, r in result["methods"].items():
        params = ", ".join(f"{k}={v:.5f}" for k, v in r["params"].items())
        rmse = "-" if r["rmse"] is None else f"{r['rmse']:.2e}"
        coef = "-" if r["coef_rmse"] is None else f"{r['coef_rmse']:.2e}"
        print(
            f"{name:12s} {rmse:>10s} {coef:>10s} {r['lyapunov']:9.4f} {str(r['bounded']):>8s}"
            f"  {params}"
        )
    best = min(result["methods"].items(), key=lambda kv: kv[1]["rmse"] or float("inf"))
    print(f"\nidentified by {best[0]}:")
    for line in best[1]["equations"]:
        print(f"  {line}")
    return 0


def add_identify(sub: argparse._SubParsersAction) -> None:
    from chaosgan.identify import METHODS, TARGETS

    p = sub.add_parser(
        "identify",
        help="recover the equations from a dataset with baseline regressors",
        description=(
            "Fit polynomial models dx/dt = Theta(x) Xi with LASSO, Ridge, constrained Galerkin "
            "regression, STLSQ (weak or derivative target) and Jaya-Powell (multiple shooting); "
            "report the parameter RMSE against the dataset's true parameters, the identified "
            "model's largest Lyapunov exponent (1/time) and whether it stays bounded."
        ),
    )
    p.add_argument("data", help="dataset .npz")
    p.add_argument(
        "--methods",
        type=choice_list(METHODS, "method"),
        default=list(METHODS),
        help=f"comma-separated, from {', '.join(METHODS)} (default: all)",
    )
    p.add_argument(
        "--target",
        default="weak",
        choices=TARGETS,
        help="weak form (default; works at dt = 0.1) or finite-difference derivatives",
    )
    p.add_argument(
        "--noise",
        type=finite_float(0.0, 100.0),
        default=0.0,
        help="add Gaussian noise of this fraction of each coordinate's std first",
    )
    p.add_argument(
        "--degree", type=int_range(1, 5), default=2, help="polynomial library degree (default 2)"
    )
    p.add_argument("--seed", type=SEED, default=0, help="seed of the noise and of Jaya")
    p.add_argument(
        "--max-series",
        type=int_range(0),
        default=64,
        help="fit on the first N series (default 64; 0 = all)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(handler=cmd_identify)


def cmd_train(args: argparse.Namespace) -> int:
    from chaosgan.dataset import load
    from chaosgan.gan.config import load_config
    from chaosgan.gan.train import train

    overrides = {
        k: getattr(args, k)
        for k in ("epochs", "seed", "batch_size", "loss")
        if getattr(args, k) is not None
    }
    for flag in ("bf16", "compile"):
        if getattr(args, flag):
            overrides[flag] = True
    config = load_config(args.preset, args.config, overrides)
    data = load(args.data)
    start = time.perf_counter()
    run = train(
        data,
        args.out,
        config,
        device=args.device,
        resume=args.resume,
        force=args.force,
        progress=show_progress(),
        epochs=args.epochs if args.resume else None,
        data_path=args.data,
    )
    summary = {
        "out": str(args.out),
        "epochs": run.epoch,
        "steps": run.step,
        "d_loss": run.history["d_loss"][-1] if run.history["d_loss"] else None,
        "g_loss": run.history["g_loss"][-1] if run.history["g_loss"] else None,
        "seconds": round(time.perf_counter() - start, 2),
        "train_seconds": round(run.seconds, 2),  # the whole run's, across resumes
        "config": run.config.to_dict(),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"trained {run.epoch} epochs ({run.step} steps) in {summary['seconds']} s; "
            f"run folder {args.out} (checkpoints/last.pt, samples/, loss_curves.png)"
        )
    return 0


def add_train(sub: argparse._SubParsersAction) -> None:
    from chaosgan.gan.config import PRESETS
    from chaosgan.gan.losses import LOSSES

    p = sub.add_parser(
        "train",
        help="train the spectral-normalised DCGAN on a dataset's images",
        description=(
            "Train the SN-DCGAN on the 32x32 images of a dataset. Configuration: defaults, then "
            "--preset, then --config FILE.toml (only what differs; unknown keys are errors), then "
            "flags. Checkpoints every epoch (atomic); --resume continues exactly. Multi-GPU: "
            "torchrun --nproc_per_node=K -m chaosgan.cli train ..."
        ),
    )
    p.add_argument("data", help="dataset .npz (with images)")
    p.add_argument("--out", type=path_arg, required=True, help="run folder, e.g. runs/NAME")
    p.add_argument(
        "--preset",
        default="default",
        choices=list(PRESETS),
        help=(
            "study: all the study's tricks on; best: the recommended recipe; wgan-gp: Wasserstein "
            "loss with gradient penalty, 5 critic steps; wgan-physics: wgan-gp with best's "
            "physics loss (nearer the real exponents, 7x the time); best-wgan: best on the "
            "Wasserstein game without gradient penalty (no grid clock, exponents nearer the "
            "real ones, larger one-step error, 1.3-1.6x best's time); best-wgan-refine: "
            "best-wgan with the adaptive physics weight and 10 refinement steps towards orbits "
            "as the generator's last layer (every exponent within 8%% of the real ones at 60 "
            "CPU epochs, about 6x the time); recurrent: best with a GRU generator"
        ),
    )
    p.add_argument(
        "--config",
        action="append",
        default=None,
        help="TOML file of config overrides (repeatable: later files win)",
    )
    p.add_argument(
        "--epochs",
        type=int_range(1, 10**7),
        default=None,
        help="total epochs (also when resuming)",
    )
    p.add_argument("--seed", type=SEED, default=None, help="seed (default 0)")
    p.add_argument(
        "--batch-size", type=int_range(1, 65536), default=None, help="images per step (default 64)"
    )
    p.add_argument(
        "--loss",
        default=None,
        choices=list(LOSSES),
        help="GAN loss (default bce; wgan: see --preset wgan-gp)",
    )
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (fastest on CUDA)")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the models (CUDA graphs on CUDA)"
    )
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--force", action="store_true", help="start afresh over an existing run")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_train)


def cmd_sample(args: argparse.Namespace) -> int:
    from chaosgan.atomic import check_writable
    from chaosgan.dataset import load
    from chaosgan.gan.sample import sample
    from chaosgan.resources import check_memory

    check_writable(args.out, args.force)
    # per series: float32 image, float64 trajectory and its copies, the re-encoded image
    check_memory(args.n * 3 * 1024 * 40, f"sampling {args.n} series", args.max_memory)
    import warnings

    from chaosgan.gan.condition import ExtrapolationWarning

    training_data = load(args.train) if args.train else None
    condition = parse_params(args.condition, "--condition")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        ds = sample(
            args.run,
            n=args.n,
            seed=args.seed,
            device=args.device,
            project=args.project,
            training_data=training_data,
            condition=condition,
            relax=args.relax,
            progress=True,
            refine_steps=0 if args.without_refinement else args.refine_steps,
        )
    for w in caught:
        if issubclass(w.category, ExtrapolationWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:  # not ours: shown as Python would have
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    ds.save(args.out, force=args.force)
    summary = {
        "out": str(args.out),
        "n": ds.n_series,
        "seed": args.seed,
        "dt": ds.dt,
        "system": ds.meta["system"],
        "source_epoch": ds.meta["source_epoch"],
        "projected": bool(ds.meta.get("projected", False)),
        "relaxed": bool(ds.meta.get("relaxed", False)),
        "condition": ds.meta.get("condition"),
        "params": ds.meta.get("params"),
    }
    if args.project:
        summary["projection"] = ds.meta["projection"]
    if args.relax:
        summary["relaxation"] = ds.meta["relaxation"]
    if args.json:
        print_json(summary)
    else:
        at = "".join(f", {k}={v:g}" for k, v in condition.items())
        print(
            f"wrote {args.out}: {ds.n_series} generated series (epoch {summary['source_epoch']}"
            f" of {args.run}, seed {args.seed}{at}), dt={ds.dt:g}"
        )
        if args.project:
            p = ds.meta["projection"]
            print(
                f"projected onto orbits of the model {p['model']}: moved "
                f"{p['mean_moved_diameters']:.2g} attractor diameters on average (max "
                f"{p['max_moved_diameters']:.2g}); continuity gaps <= {p['max_gap_diameters']:.1g};"
                f" {p['acceptance']:.0%} of the {p['drawn']} drawn series had an orbit near them"
                " (the rest were dropped)"
            )
        if args.relax:
            r = ds.meta["relaxation"]
            print(
                f"relaxed towards orbits of the model {r['model']} ({r['iterations']} L-BFGS "
                f"steps): moved {r['mean_moved_diameters']:.2g} attractor diameters on average "
                f"(max {r['max_moved_diameters']:.2g}); median one-step residual under the model "
                f"{r['median_residual_before_diameters']:.2g} -> "
                f"{r['median_residual_after_diameters']:.2g} diameters (near orbits, not orbits)"
            )
    return 0


def add_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="sample a trained generator into a dataset (kind = generated)",
        description=(
            "Generate images with the EMA generator of a run, decode them to trajectories in "
            "physical units, and write the dataset format, ready for chaosgan score."
        ),
    )
    p.add_argument("run", help="run folder (or checkpoint file)")
    p.add_argument("--n", type=int_range(1), default=1000, help="series to generate (default 1000)")
    p.add_argument("--out", type=path_arg, required=True, help="output .npz")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the latents")
    p.add_argument(
        "--condition",
        action="append",
        metavar="NAME=VALUE",
        help="for a conditional run (config condition = [...]): the parameter value to generate "
        "for, e.g. rho=33 (repeatable, one per conditioning parameter; outside the training "
        "range: a warning, extrapolation)",
    )
    add_max_memory(p)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--project",
        action="store_true",
        help=(
            "replace each series by the nearest orbit of the run's model (identified from the "
            "training data; multiple shooting, continuity gaps below 1e-4 attractor diameters); "
            "the output's meta says projected: true and how far the series moved"
        ),
    )
    layer = p.add_mutually_exclusive_group()
    layer.add_argument(
        "--without-refinement",
        action="store_true",
        help=(
            "a diagnostic for a run with a refinement layer (refine_steps): draw the generator "
            "network's series before that layer, to see what the layer does; these are not the "
            "run's samples, and the output's meta says so (refinement.left_out)"
        ),
    )
    layer.add_argument(
        "--refine-steps",
        type=int_range(1),
        metavar="N",
        help=(
            "a diagnostic for a run with a refinement layer: run the trained layer for N steps "
            "instead of the number it was trained with, to see whether its series are "
            "converged; not the run's samples, and the output's meta says so "
            "(refinement.trained_steps)"
        ),
    )
    p.add_argument(
        "--relax",
        type=int_range(1),
        default=0,
        metavar="STEPS",
        help=(
            "instead of --project: move each series STEPS L-BFGS steps towards orbits of the same "
            "model, lowering its one-step residual (gradient-descent noise reduction, Davies "
            "1992; 200 is a good start); every series is kept, near an orbit, not on one; the "
            "output's meta says relaxed: true, how far the series moved and the residual before "
            "and after"
        ),
    )
    p.add_argument(
        "--train",
        default=None,
        help="with --project or --relax, for a run trained without a physics model: identify "
        "the model from this dataset (default: the training data the checkpoint names)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_sample)


def cmd_baseline_esn(args: argparse.Namespace) -> int:
    from chaosgan.atomic import check_writable
    from chaosgan.baselines.sample import esn_dataset
    from chaosgan.dataset import load

    check_writable(args.out, args.force)
    data = load(args.data)
    ds = esn_dataset(
        data,
        args.n,
        seed=args.seed,
        n_reservoir=args.reservoir,
        warmup=args.warmup,
        data_path=args.data,
        max_memory=args.max_memory,
    )
    ds.save(args.out, force=args.force)
    info = ds.meta["esn"]
    chosen = {k: info["hyperparameters"][k] for k in ("spectral_radius", "input_scaling", "alpha")}
    best = max(r["valid_prediction_samples"] for r in info["selection"]["table"] if r["climate_ok"])
    summary = {
        "out": str(args.out),
        "n": ds.n_series,
        "seed": args.seed,
        "dt": ds.dt,
        "generator": "esn",
        "hyperparameters": info["hyperparameters"],
        "valid_prediction_time": best * ds.dt,
        "fit_seconds": info["fit_seconds"],
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {args.out}: {ds.n_series} series from an echo-state network "
            f"({args.reservoir} units; chosen on held-out series: "
            + ", ".join(f"{k} {v:g}" for k, v in chosen.items())
            + f"; valid prediction time {best * ds.dt:g} time units), fitted in "
            f"{info['fit_seconds']:g} s; warm-ups: the last {args.warmup} samples of training "
            "series"
        )
    return 0


def add_baseline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "baseline",
        help="generate series with a non-GAN baseline (echo-state network)",
        description="Generators that are not GANs, sampled to the same dataset format.",
    )
    kinds = p.add_subparsers(dest="baseline", metavar="BASELINE")
    kinds.required = True
    e = kinds.add_parser(
        "esn",
        help="echo-state network (reservoir computing, Pathak et al. 2017)",
        description=(
            "Fit an echo-state network to a dataset (hyperparameters chosen on held-out series "
            "by valid prediction time; ridge readout) and run it autonomously from warm-ups "
            "taken from the end of training series; writes a generated dataset for "
            "chaosgan score."
        ),
    )
    e.add_argument("data", help="training dataset .npz")
    e.add_argument("--out", type=path_arg, required=True, help="output .npz")
    e.add_argument("--n", type=int_range(1), default=1000, help="series to generate (default 1000)")
    e.add_argument("--seed", type=SEED, default=0, help="seed of the reservoir and warm-ups")
    e.add_argument(
        "--reservoir", type=int_range(2, 20000), default=600, help="reservoir units (default 600)"
    )
    e.add_argument(
        "--warmup",
        type=int_range(1, 100000),
        default=100,  # chaosgan.baselines.sample.DEFAULT_WARMUP (not imported: startup time)
        help="observed samples driven before generating (default 100)",
    )
    add_max_memory(e)
    e.add_argument("--force", action="store_true", help="overwrite an existing output")
    e.add_argument("--json", action="store_true", help="print a JSON summary")
    e.set_defaults(handler=cmd_baseline_esn)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_simulate,
    add_info,
    add_lyapunov,
    add_score,
    add_identify,
    add_train,
    add_sample,
    add_baseline,
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed in one line
        return exc.code if isinstance(exc.code, int) else 0
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
