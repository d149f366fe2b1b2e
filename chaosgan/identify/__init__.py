"""Equation identification: term libraries, targets, sparse regressors, Jaya-Powell.

Layers, lowest first: ``library`` (terms and models), ``targets`` (derivative / weak form),
``regressors`` (scikit-learn estimators), ``fit`` (coefficients from data), ``jaya`` (multiple
shooting, warm-started by ``fit``), ``observations`` (validation, noise, held-out series),
``checks`` (data-only judgements of a model), ``truth`` (the catalogue's coefficients, for
scoring only), ``compare`` (several methods on one dataset: :func:`identify` scores them,
:func:`identify_model` picks one from the data alone), ``parametric`` (one model for series whose
parameters differ: :func:`identify_parametric_model`).
"""

from chaosgan.identify.compare import METHODS, identify, identify_model
from chaosgan.identify.fit import TARGETS, fit_coefficients
from chaosgan.identify.jaya import JayaPowell
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
from chaosgan.identify.parametric import identify_parametric_model
from chaosgan.identify.regressors import STLSQ, GalerkinRegressor, LassoRegressor, RidgeRegressor

__all__ = [
    "METHODS",
    "STLSQ",
    "TARGETS",
    "GalerkinRegressor",
    "JayaPowell",
    "LassoRegressor",
    "PolynomialLibrary",
    "PolynomialModel",
    "RidgeRegressor",
    "fit_coefficients",
    "identify",
    "identify_model",
    "identify_parametric_model",
]
