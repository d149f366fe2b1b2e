"""Distribution matching on the data's own features: the generator pays the 1-Wasserstein
distance between its batch's and the real batch's values of each coordinate (marginal
matching, :func:`marginal_loss`), its states (all coordinates at once, state matching,
:func:`state_loss`) or pairs of successive local maxima (return-map matching,
:func:`maxima_map_loss`), or the log-spectral distance between its batch's mean power spectrum
and the training data's (spectral matching, :func:`spectrum_loss`).

The critics judge whole images and windows, and a generator that draws every series on too
small an attractor (the amplitude shrinkage of our Lorenz runs: z spanning 21-36 where real z
spans 10-49) can still fool them on shape. The scorecard's ``wasserstein_over_std`` measures
exactly that shrinkage; this term puts the same number into the generator's loss. It is a
moment-matching (feature-matching) loss, Salimans et al. 2016, "Improved techniques for
training GANs", on the data's own coordinates instead of critic features; in one dimension the
1-Wasserstein distance between two samples of equal size is the mean absolute difference of
their sorted values (the monotone coupling is optimal on the line; Peyré & Cuturi 2019,
"Computational optimal transport", on the one-dimensional case), so it is exact, cheap (one
sort per coordinate) and differentiable almost everywhere.

The marginals say nothing about time: a series played backwards has exactly the real ones.
The return map of successive maxima does (its docstring says why), at the price of a
non-differentiable choice of where the maxima lie; their values carry the gradient.

In a conditional run the fakes get the real batch's conditions, so both batches are draws from
the same mixture over the condition and their marginals (and return maps) should agree. The
mixture's marginals can agree while each condition's do not (a generator that draws rho = 40's
attractor when asked for 26 and 26's when asked for 40 matches the mixture exactly):
:func:`grouped_marginal_loss` matches them within groups of neighbouring condition values.
"""

from __future__ import annotations

import torch


def marginal_loss(
    fake: torch.Tensor, real: torch.Tensor, scale: torch.Tensor, order: int = 1
) -> torch.Tensor:
    """Mean over coordinates of ``Wp(fake[..., d], real[..., d]) / scale[d]``, ``p = order``.

    ``fake`` and ``real``: series ``(B, T, D)`` of the same shape (every sample of the batch is
    one draw of the marginal); ``scale``: ``(D,)`` each coordinate's standard deviation in the
    training data, so the loss (order 1) is in the units of the scorecard's
    ``wasserstein_over_std``.

    ``order = 2`` gives the 2-Wasserstein distance, the root mean square of the gaps between
    sorted values (the monotone coupling is optimal on the line for every p >= 1; Peyré &
    Cuturi 2019, on the one-dimensional case). It is never below W1, and its gradient on each
    value is its gap over the distance instead of the gap's sign: a tail drawn 4 units short
    pulls 4 times as hard as a bulk value 1 unit off, where W1 pulls both alike. Against a
    generator whose bulk is right and whose tails are missing (z's low tail at small rho, the
    passages near the origin).
    """
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ in shape")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    dims = fake.shape[-1]
    a = torch.sort(fake.reshape(-1, dims), dim=0).values
    b = torch.sort(real.reshape(-1, dims).to(a.dtype), dim=0).values
    if order == 1:
        distance = (a - b).abs().mean(dim=0)
    else:  # the epsilon keeps the square root's gradient finite when the batches agree
        distance = ((a - b).square().mean(dim=0) + 1e-12).sqrt()
    return (distance / scale.to(a.dtype)).mean()


def grouped_marginal_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    scale: torch.Tensor,
    conditions: torch.Tensor,
    groups: int,
    order: int = 1,
) -> torch.Tensor:
    """Marginal matching within groups of neighbouring condition values: the batch is sorted by
    its condition and cut into ``groups`` contiguous groups of (nearly) equal size, and the mean
    over groups of :func:`marginal_loss` (of the given ``order``) is returned.

    ``fake[i]`` and ``real[i]`` must share the condition ``conditions[i]`` (``(B,)`` or
    ``(B, P)``; with several parameters the batch is sorted by the first), as in training, so
    each group compares the fake and the real draws at one and the same set of condition
    values: the distance vanishes in expectation only when the generator's marginals are right
    at every condition, not only over the mixture. Groups of ``B / groups`` series hold fewer
    samples, so the floor (two real batches) rises a little with ``groups``; ``groups = 1`` is
    :func:`marginal_loss` itself.
    """
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ in shape")
    if not 1 <= groups <= len(fake):
        raise ValueError(f"groups must lie in [1, {len(fake)}] (the batch size), got {groups}")
    if len(conditions) != len(fake):
        raise ValueError(f"{len(conditions)} conditions for a batch of {len(fake)}")
    key = conditions.reshape(len(fake), -1)[:, 0]
    ranking = torch.argsort(key, stable=True)
    parts = [
        marginal_loss(fake[idx], real[idx], scale, order)
        for idx in torch.tensor_split(ranking, groups)
    ]
    return torch.stack(parts).mean()


def state_loss(
    fake: torch.Tensor, real: torch.Tensor, scale: torch.Tensor, directions: int = 16
) -> torch.Tensor:
    """State matching: the sliced 1-Wasserstein distance between the fake and the real batch's
    states (every sample of ``(B, T, D)`` series a point of ``D`` dimensions, each coordinate over
    its standard deviation ``scale``), the mean of exact 1-D distances along ``directions``
    fixed unit vectors (drawn once from a seeded normal distribution, so the loss is
    deterministic; Rabin et al. 2011, Deshpande et al. 2018, as in :func:`maxima_map_loss`).

    The marginals of each coordinate can all be right while the states are not: a series that
    circles a fixed point of Lorenz-63's wing, (8.5, 8.5, 27), has x, y and z values that real
    orbits take too, but never all three at once (the attractor has a hole there). A
    projection that mixes the coordinates sees it.
    """
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ in shape")
    if directions < 1:
        raise ValueError(f"directions must be >= 1, got {directions}")
    units = torch.randn(directions, fake.shape[-1], generator=torch.Generator().manual_seed(0))
    units = (units / units.norm(dim=1, keepdim=True)).to(fake.dtype).to(fake.device)
    scale = scale.to(fake.dtype)
    # each direction's projections are one "coordinate" of unit scale: the marginals' distance
    along_fake, along_real = (fake / scale) @ units.T, (real.to(fake.dtype) / scale) @ units.T
    return marginal_loss(along_fake, along_real, torch.ones_like(units[:, 0]))


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The exact 1-Wasserstein distance between the empirical distributions of the 1-D samples
    ``a`` ``(n, ...)`` and ``b`` ``(m, ...)`` (any sizes; trailing dimensions are separate
    samples, compared column by column): the integral over u in (0, 1) of the gap between their
    quantile functions, step functions with steps at i / n and j / m, so the integral is a
    finite sum over the merged steps. Differentiable in the values of both."""
    n, m = len(a), len(b)
    a, b = torch.sort(a, dim=0).values, torch.sort(b, dim=0).values
    steps = torch.cat(
        [
            torch.arange(n + 1, dtype=a.dtype, device=a.device) / n,
            torch.arange(1, m, dtype=a.dtype, device=a.device) / m,
        ]
    )
    steps = torch.sort(steps).values
    middle = (steps[1:] + steps[:-1]) / 2
    width = (steps[1:] - steps[:-1]).reshape(-1, *([1] * (a.dim() - 1)))
    ia = (middle * n).long().clamp(max=n - 1)
    ib = (middle * m).long().clamp(max=m - 1)
    return (width * (a[ia] - b[ib]).abs()).sum(dim=0)


def successive_maxima_pairs(series: torch.Tensor) -> torch.Tensor:
    """``(P, 2)``: every pair ``(m_n, m_{n+1})`` of consecutive local maxima of the series
    ``(B, T)``, pooled over series (a pair never spans two series): the torch twin of
    :func:`chaosgan.evaluate.metrics.successive_maxima`. A local maximum is a sample above the
    one before and not below the one after; where they lie is fixed (no gradient), their values
    carry the gradient."""
    x = series
    peak = torch.zeros_like(x, dtype=torch.bool)
    peak[:, 1:-1] = (x[:, 1:-1] > x[:, :-2]) & (x[:, 1:-1] >= x[:, 2:])
    rows, cols = torch.nonzero(peak.detach(), as_tuple=True)  # row-major: time order per series
    values = x[rows, cols]
    same = rows[1:] == rows[:-1]
    return torch.stack([values[:-1][same], values[1:][same]], dim=1)


def maxima_map_loss(
    fake: torch.Tensor, real: torch.Tensor, scale: torch.Tensor, directions: int = 8
) -> torch.Tensor:
    """Return-map matching: mean over coordinates of the sliced 1-Wasserstein distance between
    the fake and the real batch's pairs of successive local maxima, in units of each
    coordinate's standard deviation ``scale`` ``(D,)``.

    Lorenz (1963) found that each loop's height fixes the next one: the pairs ``(m_n,
    m_{n+1})`` of a chaotic orbit lie on a thin curve whose slope carries the largest Lyapunov
    exponent, where a generator that draws loops of unrelated or too small heights fills a
    round cloud (:func:`chaosgan.evaluate.metrics.maxima_map_unexplained` measures it). Matching
    the two point sets' distributions pulls the generated loops onto the curve. The 2-D
    distance is sliced (Rabin et al. 2011, "Wasserstein barycenter and its application to
    texture mixing"; Deshpande et al. 2018, "Generative modeling using the sliced Wasserstein
    distance"): the mean of exact 1-D distances (:func:`wasserstein_1d`) along ``directions``
    evenly spaced unit vectors of the half circle, fixed, so the loss is deterministic. A
    coordinate for which either batch has no pair adds nothing.
    """
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ in shape")
    if directions < 1:
        raise ValueError(f"directions must be >= 1, got {directions}")
    angles = torch.arange(directions, dtype=fake.dtype, device=fake.device) * torch.pi
    units = torch.stack([torch.cos(angles / directions), torch.sin(angles / directions)], dim=1)
    total = fake.new_zeros(())
    for d in range(fake.shape[-1]):
        pairs_fake = successive_maxima_pairs(fake[..., d]) / scale[d]
        pairs_real = successive_maxima_pairs(real[..., d].to(fake.dtype)) / scale[d]
        if len(pairs_fake) == 0 or len(pairs_real) == 0:
            continue
        along_fake, along_real = pairs_fake @ units.T, pairs_real @ units.T
        total = total + wasserstein_1d(along_fake, along_real).mean()
    return total / fake.shape[-1]


def band_log_power(series: torch.Tensor, bands: int) -> torch.Tensor:
    """``(bands, D)``: log10 of the batch-mean power spectrum of each coordinate of the series
    ``(B, T, D)``, each series standardised first (as the scorecard's D_H does), summed over
    ``bands`` equal-width bands of frequency (the zero frequency left out)."""
    z = (series - series.mean(dim=1, keepdim=True)) / (series.std(dim=1, keepdim=True) + 1e-6)
    power = (torch.fft.rfft(z, dim=1).abs() ** 2).mean(dim=0)[1:]  # (F, D) without f = 0
    usable = power.shape[0] - power.shape[0] % bands
    banded = power[:usable].reshape(bands, usable // bands, -1).sum(dim=1)
    return torch.log10(banded + 1e-12)


def spectrum_loss(fake: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Spectral matching: the mean squared gap between the log band powers of the fake batch
    and ``reference`` ``(bands, D)`` (:func:`band_log_power` of the real training series, taken
    once), in decades squared.

    A log-spectral distance, the audio GANs' remedy for high-frequency artefacts (the log STFT
    magnitude loss of Yamamoto et al. 2020, "Parallel WaveGAN", on the batch's mean spectrum,
    since a generated series has no paired target). On the log scale the faint high
    frequencies count as much as the strong low ones: there a chaotic flow's power falls off
    fast, and small ripples that add spurious local maxima stand out by decades while barely
    moving the scorecard's D_H, which compares the spectra themselves.
    """
    if reference.dim() != 2 or reference.shape[1] != fake.shape[-1]:
        raise ValueError(
            f"reference {tuple(reference.shape)} must be (bands, {fake.shape[-1]}) for "
            f"series of {fake.shape[-1]} coordinates"
        )
    gap = band_log_power(fake, reference.shape[0]) - reference.to(fake.dtype)
    return (gap**2).mean()
