"""Model families: what each kind of model can do, declared in one place, and :func:`fit`,
which trains any model through its family.

:mod:`.protocol` holds :class:`Family` and the registry (:func:`register`,
:func:`lookup`, :func:`family_of`); :mod:`.energy`, :mod:`.directed` and :mod:`.dbn` the
library's kinds of family; :mod:`.library` registers the library's models, one line each.
"""

from .protocol import EVALUATIONS, PICTURES, Family, families, family_of, lookup, names, option_owners, register, \
    unregister
from .arguments import UsageError
from .energy import EnergyFamily, HopfieldFamily
from .directed import DirectedFamily
from .dbn import DBNFamily
from . import library
from .dispatch import fit

__all__ = ["EVALUATIONS", "PICTURES", "Family", "EnergyFamily", "HopfieldFamily", "DirectedFamily", "DBNFamily",
           "UsageError", "families", "family_of", "fit", "lookup", "names", "option_owners", "register", "unregister"]
