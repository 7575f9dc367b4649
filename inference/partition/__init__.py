"""Partition functions: the estimate type, exact enumeration, forward and reverse AIS."""

from .exact import MAX_EXACT_UNITS, LogZEstimate, exact_log_partition
from .ais import ais_log_partition, default_schedule
from .reverse_ais import reverse_ais_log_partition

__all__ = ["LogZEstimate", "MAX_EXACT_UNITS", "exact_log_partition", "ais_log_partition", "default_schedule",
           "reverse_ais_log_partition"]
