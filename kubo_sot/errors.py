"""Exceptions and warnings of kubo_sot."""


class ParameterError(ValueError):
    """A parameter is outside its allowed range; raised before any computation."""


class ConvergenceWarning(RuntimeWarning):
    """A numerical integral did not reach the requested tolerance.

    The message gives the requested tolerance and the achieved error estimate.
    """


class ConvergenceError(RuntimeError):
    """A numerical integral missed its tolerance by more than the warning margin."""


class StoreWarning(UserWarning):
    """A file of a checkpoint store was bad (moved aside, the point recomputed), or the store
    holds points of another configuration.  The message names the file or store."""
