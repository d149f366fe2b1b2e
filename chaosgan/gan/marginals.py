"""Marginal matching: the generator pays the 1-Wasserstein distance between its batch's values
of each coordinate and the real batch's.

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

In a conditional run the fakes get the real batch's conditions, so both batches are draws from
the same mixture over the condition and their marginals should agree.
"""

from __future__ import annotations

import torch


def marginal_loss(fake: torch.Tensor, real: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean over coordinates of ``W1(fake[..., d], real[..., d]) / scale[d]``.

    ``fake`` and ``real``: series ``(B, T, D)`` of the same shape (every sample of the batch is
    one draw of the marginal); ``scale``: ``(D,)`` each coordinate's standard deviation in the
    training data, so the loss is in the units of the scorecard's ``wasserstein_over_std``.
    """
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ in shape")
    dims = fake.shape[-1]
    a = torch.sort(fake.reshape(-1, dims), dim=0).values
    b = torch.sort(real.reshape(-1, dims).to(a.dtype), dim=0).values
    return ((a - b).abs().mean(dim=0) / scale.to(a.dtype)).mean()
