"""Band models behind one protocol (:class:`~kubo_sot.models.base.BandModel`)."""

from .base import BandModel
from .lattices import honeycomb_kane_mele_ferromagnet, square_rashba_ferromagnet, supercell
from .rashba import RashbaFerromagnet, SquareLatticeRashbaFerromagnet
from .tight_binding import TightBindingModel

__all__ = ["BandModel", "RashbaFerromagnet", "SquareLatticeRashbaFerromagnet",
           "TightBindingModel", "square_rashba_ferromagnet", "honeycomb_kane_mele_ferromagnet",
           "supercell"]
