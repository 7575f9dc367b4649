"""The per-epoch record every trainer keeps: :class:`EpochTable`."""

from __future__ import annotations

from dataclasses import fields

__all__ = ["EpochTable"]


class EpochTable:
    """Columns of per-epoch metrics: a dataclass whose every field is a list, one entry per
    completed epoch. Subclasses declare the fields; this base gives them their methods."""

    def __len__(self):
        return len(self.epoch)

    def append(self, **row) -> None:
        """Add one epoch; every field must be given."""
        names = [f.name for f in fields(self)]
        if sorted(row) != sorted(names):
            raise ValueError(f"{type(self).__name__}.append needs exactly the fields {names}, got {sorted(row)}")
        for name in names:
            getattr(self, name).append(row[name])

    def last(self) -> dict:
        """The latest epoch's metrics as a dict (empty before the first epoch)."""
        return {f.name: getattr(self, f.name)[-1] for f in fields(self)} if len(self) else {}

    def as_dict(self) -> dict:
        """Field name → list of values (copies; JSON-serialisable)."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict):
        """Rebuild from :meth:`as_dict` output (unknown keys are ignored; a column the
        record predates is filled with ``None``)."""
        n = len(d.get("epoch", ()))
        return cls(**{f.name: list(d[f.name]) if f.name in d else [None] * n for f in fields(cls)})
