"""Parameter sweeps: grids, back ends (serial, joblib, Dask), checkpoint store, xarray."""

from .runner import sweep

__all__ = ["sweep"]
