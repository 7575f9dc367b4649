"""Partition functions: the estimate type, exact enumeration, forward and reverse AIS."""

from .estimate import LogZEstimate
from .exact import MAX_EXACT_UNITS, check_enumerable, exact_log_partition
from .base import BernoulliFactor, CategoricalFactor, FactorisedBase, NormalFactor, SpinFactor, base_rate_bias
from .path import AnnealingPath
from .ais import ais_log_partition, ais_log_weights, check_ais_arguments, default_schedule
from .reverse_ais import reverse_ais_log_partition
from .ais_record import AISTrace, ais_log_weight_path, ais_trace
from .hmc_ais import hmc_ais_log_partition
from .quadrature import quadrature_log_partition
from .named import log_partition

__all__ = ["LogZEstimate", "MAX_EXACT_UNITS", "exact_log_partition", "ais_log_partition", "ais_log_weights",
           "default_schedule", "base_rate_bias", "reverse_ais_log_partition", "AnnealingPath", "FactorisedBase",
           "BernoulliFactor", "CategoricalFactor", "NormalFactor", "SpinFactor", "check_enumerable", "check_ais_arguments",
           "AISTrace", "ais_log_weight_path", "ais_trace", "hmc_ais_log_partition", "quadrature_log_partition",
           "log_partition"]
