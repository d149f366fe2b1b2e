"""Equation identification baselines: term libraries, targets, sparse regressors, Jaya-Powell."""

from chaosgan.identify.fit import METHODS, TARGETS, fit_coefficients, identify
from chaosgan.identify.jaya import JayaPowell
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
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
]
