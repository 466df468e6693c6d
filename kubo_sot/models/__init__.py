"""Band models behind one protocol (:class:`~kubo_sot.models.base.BandModel`)."""

from .base import BandModel
from .rashba import RashbaFerromagnet, SquareLatticeRashbaFerromagnet

__all__ = ["BandModel", "RashbaFerromagnet", "SquareLatticeRashbaFerromagnet"]
