"""The convolutional DBN: greedy layer-wise training of its two conv RBMs, its likelihood
(importance estimate and variational bound with the top layer's log Z) and its samples."""

from .greedy import fit_conv_dbn
from .likelihood import ConvDBNEstimate, conv_dbn_log_likelihood, sample_conv_dbn, top_log_partition

__all__ = ["fit_conv_dbn", "ConvDBNEstimate", "conv_dbn_log_likelihood", "sample_conv_dbn", "top_log_partition"]
