"""Caching results that depend on a model, when the model can be hashed."""

import functools


def cached_if_hashable(maxsize):
    """``functools.lru_cache(maxsize)`` for a function of positional arguments, one of which
    is a model: calls whose arguments hash (the frozen-dataclass models of this package
    hash by value) are cached; others (e.g. a user's unhashable model) are computed each
    time.  The wrapper keeps ``cache_clear``."""
    def decorate(function):
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def wrapper(*args):
            try:
                hash(args)
            except TypeError:
                return function(*args)
            return cached(*args)
        wrapper.cache_clear = cached.cache_clear
        return wrapper
    return decorate
