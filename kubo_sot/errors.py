"""Exceptions and warnings of kubo_sot."""


class ParameterError(ValueError):
    """A parameter is outside its allowed range; raised before any computation."""


class ConvergenceWarning(RuntimeWarning):
    """A numerical integral did not reach the requested tolerance.

    The message gives the requested tolerance and the achieved error estimate.
    """


class ConvergenceError(RuntimeError):
    """A numerical integral missed its tolerance by more than the warning margin, or ran
    out of its k-point budget (``max_kpoints``) before meeting it.

    Attributes
    ----------
    result : object or None
        The estimate reached (for :func:`kubo_sot.linear_response`, a LinearResponse whose
        tensors carry their error estimates), or None.
    n_kpoints : int or None
        The k-points used.
    ratio : float or None
        The largest error estimate in units of its tolerance.
    """

    def __init__(self, message, result=None, n_kpoints=None, ratio=None):
        super().__init__(message)
        self.result, self.n_kpoints, self.ratio = result, n_kpoints, ratio

    def __reduce__(self):  # joblib / Dask workers send it back to the caller
        return (type(self), (str(self), self.result, self.n_kpoints, self.ratio))


class StoreWarning(UserWarning):
    """A file of a checkpoint store was bad (moved aside, the point recomputed), or the store
    holds points of another configuration.  The message names the file or store."""
