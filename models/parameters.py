"""What every model module reports about its parameters: dtype, device and its repr."""

from __future__ import annotations

import torch

__all__ = ["ParameterInfo"]


class ParameterInfo:
    """Mixin for a ``torch.nn.Module`` with a ``config()`` dict: the dtype and device of
    its parameters (all share one) and a repr built from its configuration."""

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())
