"""Directed models written as Pyro programs (sigmoid belief nets, Helmholtz machines, VAEs)."""

__all__: list[str] = []
