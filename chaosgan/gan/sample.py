"""Sample a trained generator into the project's dataset format (kind = generated).

Images come from the EMA generator in eval mode, its BatchNorm statistics re-estimated for its
own weights (:func:`chaosgan.gan.ema.standing_statistics`); they are decoded to trajectories in
physical units with the normalisation stored in the checkpoint and saved with the real data's
system, parameters and dt, so the scorecard compares them with real data directly. The meta
records where the samples come from (run, epoch) and the training data's path and sha256
(``training_data``), so the scorecard's memorisation check can find the training set.

With ``project=True`` each series is replaced by the nearest orbit of the run's physics model
(:mod:`chaosgan.gan.projection`), or, for a run trained without one, of a model identified from
its training data; the meta then says ``projected: true``, which model was used (and whether it
was identified or the true equations), how far the series moved, and what fraction of the drawn
series had an orbit near them (the others are dropped and more drawn: a selection, so it is
recorded). With ``relax=K`` each series instead takes ``K`` L-BFGS steps of gradient-descent
noise reduction under the same model (:mod:`chaosgan.gan.relaxation`): every series is kept and
ends nearer an orbit, not on one; the meta says ``relaxed: true``, the model, how far the series
moved and the one-step residual under the model before and after.

A conditional run (trained with ``condition = ["rho"]``) is sampled for one requested value
(``condition={"rho": 33.0}``): every series gets it, the output's ``params`` hold it and its
``series_params`` array records it per series, so the scorecard compares the samples with real
data simulated at that value. A value outside the training range is allowed with a warning
(an extrapolation, flagged in the meta as ``condition.extrapolation``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaosgan.dataset import Dataset, load, make_dataset
from chaosgan.device import resolve_torch_device
from chaosgan.encoding import Normalisation, apply_layout, decode
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint
from chaosgan.gan.condition import Condition, ExtrapolationWarning
from chaosgan.gan.config import MAX_REFINE_STEPS, TrainConfig, apply_overrides
from chaosgan.gan.ema import standing_statistics
from chaosgan.gan.models import ImageToSeries, generator_for
from chaosgan.gan.physics import PhysicsModel, PolynomialFlow, physics_model
from chaosgan.gan.projection import project as project_orbits
from chaosgan.gan.refine import OutputLayers, output_layers
from chaosgan.gan.relaxation import relax as relax_series


@torch.no_grad()
def sample(
    run: str | Path,
    n: int = 1000,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 1024,
    project: bool = False,
    training_data: Dataset | None = None,
    condition: Mapping[str, float] | None = None,
    relax: int = 0,
    progress: bool = False,
    refine_steps: int | None = None,
) -> Dataset:
    """``n`` generated series from the run folder (or checkpoint file) ``run``; with
    ``project``, each replaced by the nearest orbit of the run's model (see the module), or,
    for a run without one, of a model identified from ``training_data`` (default: the data file
    the checkpoint names); with ``relax`` > 0, moved that many L-BFGS steps towards orbits of
    the same model instead (``progress``: a bar over the relaxation). A conditional run needs
    ``condition`` (``{"rho": 33.0}``), one value per conditioning parameter; values outside the
    training range warn
    (:class:`~chaosgan.gan.condition.ExtrapolationWarning`), an unconditional run refuses one.
    ``refine_steps`` (diagnostics for a run with a refinement layer; ``None``: the layer as
    trained) changes the layer's number of steps: ``0`` draws the generator network's series
    before the layer, another count runs the trained layer for that many steps. Either way these
    are not the run's samples, and their meta says so (``refinement.left_out`` or
    ``refinement.trained_steps``)."""
    if n < 1:
        raise ChaosganError(f"n must be >= 1, got {n}")
    if relax < 0:
        raise ChaosganError(f"relax must be >= 0 L-BFGS steps, got {relax}")
    if relax and project:
        raise ChaosganError("choose one of projection and relaxation, not both")
    flag = "--project" if project else "--relax"
    dev = resolve_torch_device(device)
    ckpt = load_checkpoint(run, dev)
    config = apply_overrides(TrainConfig(), ckpt["config"], "checkpoint")
    changed = _changed_refinement(config, refine_steps, run)
    if changed:
        config = replace(config, refine_steps=changed["steps"])
    meta = ckpt["data_meta"]
    cond: tuple[torch.Tensor, ...] = ()
    training = None
    params = meta.get("params")
    extra: dict[str, Any] = {}
    if config.condition:
        spec = Condition.from_dict(ckpt["condition"])
        values, notes = spec.request(condition)
        for note in notes:
            warnings.warn(note, ExtrapolationWarning, stacklevel=3)
        if (project or relax) and not ckpt.get("physics"):
            raise ChaosganError(
                f"{flag} needs one model of the dynamics for every condition: this "
                "conditional run was trained without physics (train it with physics = "
                "'identified')"
            )
        training = torch.from_numpy(spec.scale(spec.values))
        cond = (torch.from_numpy(spec.scale(values[None])),)
        params = {**(params or {}), **dict(zip(spec.names, map(float, values), strict=True))}
        extra["series_params"] = (list(spec.names), np.tile(values, (n, 1)))
        extra["condition"] = {
            "names": list(spec.names),
            "low": list(spec.low),
            "high": list(spec.high),
            "extrapolation": bool(notes),
        }
    elif condition:
        raise ChaosganError(
            f"{run} is not a conditional run: it takes no --condition (got {', '.join(condition)})"
        )
    g = generator_for(config).to(dev)
    try:
        g.load_state_dict(ckpt["generator_ema"])
    except RuntimeError as exc:
        raise ChaosganError(f"checkpoint does not fit the generator ({str(exc)[:120]})") from None
    standing_statistics(g, config.latent_dim, seed=seed, conditions=training)
    gen = torch.Generator().manual_seed(seed)
    norm = Normalisation.from_dict(ckpt["normalisation"])

    layers_model = PhysicsModel.from_dict(ckpt["physics"]) if ckpt.get("physics") else None
    finish = _output_layers(config, layers_model, norm, float(meta["dt"]), dev)
    physical = None  # the refinement's model inputs: the requested condition, physical units
    if config.condition:
        physical = torch.from_numpy(np.asarray(values, dtype=np.float32)[None]).to(dev)
    if config.refine_steps:  # part of the generator: its samples say so
        assert layers_model is not None  # output_layers refuses the layer without one
        extra["refinement"] = {
            "method": config.refine_method,
            "steps": config.refine_steps,
            **(
                {"damping": config.refine_damping}
                if config.refine_method == "gauss-newton"
                else {"rate": config.refine_rate, "momentum": config.refine_momentum}
            ),
            "model": layers_model.label,
        }
    if changed:
        extra["refinement"] = {**extra.get("refinement", {}), **changed}

    def draw(count: int) -> np.ndarray:
        """``count`` more series (the latent stream continues from the last draw)."""
        chunks = []
        for i in range(0, count, batch_size):
            z = torch.randn(min(batch_size, count - i), config.latent_dim, generator=gen).to(dev)
            y = tuple(c.expand(len(z), -1).to(dev) for c in cond)
            p = None if physical is None else physical.expand(len(z), -1)
            chunks.append(finish(g(z, *y), p).float().cpu())
        images = torch.cat(chunks).numpy()
        return decode(apply_layout(images, config.layout, inverse=True), norm)

    if ckpt.get("training_data"):
        extra["training_data"] = ckpt["training_data"]
    if project or relax:
        model = _dynamics_model(ckpt, training_data, flag)
        if model.parameters:  # a conditional run's model at the requested condition
            model = model.at(values)
    if project:
        trajectories, extra["projection"] = _draw_projected(draw, n, model, float(meta["dt"]))
        extra["projected"] = True
    elif relax:
        trajectories, extra["relaxation"] = _draw_relaxed(
            draw(n), model, float(meta["dt"]), relax, progress
        )
        extra["relaxed"] = True
    else:
        trajectories = draw(n)
    return make_dataset(
        trajectories,
        kind="generated",
        system=meta.get("system"),
        params=params,
        dt=meta["dt"],
        seed=seed,
        burn_in=None,
        normalisation=norm,
        coordinates=meta.get("coordinates"),
        source_run=str(run),
        source_epoch=int(ckpt["epoch"]),
        **extra,
    )


NOT_THE_RUN = " (a diagnostic: not the run's samples)"


def _changed_refinement(config: TrainConfig, steps: int | None, run: str | Path) -> dict[str, Any]:
    """What a diagnostic draw with ``steps`` refinement steps changes in the run's layer, as the
    samples' meta records it (empty: the layer as trained)."""
    if steps is None:
        return {}
    if not config.refine_steps:
        raise ChaosganError(f"{run} has no refinement layer to change or leave out")
    if steps == config.refine_steps:
        return {}
    if not 0 <= steps <= MAX_REFINE_STEPS:
        raise ChaosganError(f"refine steps must lie in [0, {MAX_REFINE_STEPS}], got {steps}")
    trained = config.refine_steps
    if steps == 0:
        what = f"the generator's series before its {trained}-step refinement layer (after its "
        what += "shooting layer, if any)"
        return {"method": config.refine_method, "steps": 0, "left_out": what + NOT_THE_RUN}
    what = f"the trained {trained}-step refinement layer run for {steps} steps (the critics "
    what += f"judged its {trained}-step output)"
    return {"steps": steps, "trained_steps": trained, "changed": what + NOT_THE_RUN}


def _output_layers(
    config: TrainConfig,
    model: PhysicsModel | None,
    norm: Normalisation,
    dt: float,
    dev: torch.device,
) -> OutputLayers:
    """The run's layers after the generator network (shooting, refinement) on ``model``, the
    checkpoint's physics model."""
    flow = None if model is None else PolynomialFlow(model, dt, config.physics_substeps)
    return output_layers(config, ImageToSeries(norm, config.layout), flow, model).to(dev)


MAX_ROUNDS = 10


def _draw_projected(
    draw: Callable[[int], np.ndarray], n: int, model: PhysicsModel, dt: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """``n`` projected series and the meta that describes them.

    Series with no orbit near them (projection does not converge) are dropped and more are
    drawn, up to ``MAX_ROUNDS`` rounds; the acceptance rate is recorded, since keeping only the
    projectable series is a selection that can bias the sample.
    """
    kept: list[np.ndarray] = []
    moved: list[np.ndarray] = []
    gaps: list[np.ndarray] = []
    drawn = iterations = 0
    for _ in range(MAX_ROUNDS):
        have = sum(len(k) for k in kept)
        if have >= n:
            break
        rate = have / drawn if drawn else 1.0
        if drawn and rate == 0:
            break
        count = n if not drawn else min(4 * n, int(np.ceil((n - have) / rate * 1.2)))
        result = project_orbits(draw(count), model.polynomial, dt, model.diameter)
        drawn += count
        iterations += result.iterations
        kept.append(result.orbits[result.converged])
        moved.append(result.moved[result.converged])
        gaps.append(result.max_gap[result.converged])
    have = sum(len(k) for k in kept)
    if have < n:
        raise ChaosganError(
            f"only {have} of {drawn} generated series have an orbit of the model near them "
            f"(continuity gaps within 1e-4 diameters); {n} were asked for: the generator's "
            "errors are not noise-like enough for projection"
        )
    orbits = np.concatenate(kept)[:n]
    moved_all, gaps_all = np.concatenate(moved)[:n], np.concatenate(gaps)[:n]
    info = {
        "model": model.label,
        "equations": model.polynomial.equations(),
        "acceptance": have / drawn,
        "drawn": drawn,
        "mean_moved_diameters": float(moved_all.mean()),
        "max_moved_diameters": float(moved_all.max()),
        "max_gap_diameters": float(gaps_all.max()),
        "iterations": iterations,
    }
    return orbits, info


def _draw_relaxed(
    series: np.ndarray, model: PhysicsModel, dt: float, iterations: int, progress: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """``series`` relaxed towards orbits of ``model``, and the meta that describes them."""
    result = relax_series(series, model, dt, iterations=iterations, progress=progress)
    info = {
        "model": model.label,
        "equations": model.polynomial.equations(),
        "method": "L-BFGS on the mean squared one-step residual (Davies 1992)",
        "iterations": iterations,
        "mean_moved_diameters": float(result.moved.mean()),
        "max_moved_diameters": float(result.moved.max()),
        "median_residual_before_diameters": float(np.median(result.residual_before)),
        "median_residual_after_diameters": float(np.median(result.residual_after)),
    }
    return result.series, info


def _dynamics_model(ckpt: dict[str, Any], training_data: Dataset | None, flag: str) -> PhysicsModel:
    """The run's physics model, or one identified from its training data (for ``flag``)."""
    if ckpt.get("physics"):
        return PhysicsModel.from_dict(ckpt["physics"])
    if training_data is not None:
        return physics_model(training_data, "identified")
    source = ckpt.get("training_data") or {}
    path = source.get("path")
    if not path or not Path(path).is_file():
        raise ChaosganError(
            f"{flag} needs a model: this run was trained without one and its training data "
            f"({path or 'not recorded'}) is not readable"
        )
    data = load(path)
    if data.sha256() != source.get("sha256"):
        raise ChaosganError(f"{path} is not the data this run was trained on (sha256 differs)")
    return physics_model(data, "identified")
