"""Evaluation: judge any generator's series against real data, every number beside its floor.

The public API, pure of I/O except :func:`write_report`::

    from chaosgan.evaluate import from_array, load_series, score, write_report

    card = score(real, generated, floor=None, train=None)  # -> Scorecard
    card.to_dict()          # versioned JSON (schema chaosgan-scorecard/1)
    print(card.to_markdown())
    write_report(card, "results/report")  # report.json, report.md, figures

Rooms: :mod:`~chaosgan.evaluate.metrics` (pure metric functions),
:mod:`~chaosgan.evaluate.memorisation` (nearest training series),
:mod:`~chaosgan.evaluate.lyapunov` (exponent ratios with CIs),
:mod:`~chaosgan.evaluate.scorecard` (:func:`score`, the floor resolved once),
:mod:`~chaosgan.evaluate.report` (files and figures),
:mod:`~chaosgan.evaluate.inputs` (``.npz`` / ``.npy`` / ``.csv`` from any generator).
"""

from chaosgan.evaluate.inputs import from_array, load_series, training_set_of
from chaosgan.evaluate.report import write_report
from chaosgan.evaluate.scorecard import SCHEMA, Scorecard, score

__all__ = [
    "SCHEMA",
    "Scorecard",
    "from_array",
    "load_series",
    "score",
    "training_set_of",
    "write_report",
]
