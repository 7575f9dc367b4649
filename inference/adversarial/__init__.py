"""Training of implicit generative models: moment matching (the MMD and generative moment
matching networks)."""

from .mmd import ESTIMATORS, GMMNHistory, fit_gmmn, fit_gmmn_codes, mmd2

__all__ = ["mmd2", "fit_gmmn", "fit_gmmn_codes", "GMMNHistory", "ESTIMATORS"]
