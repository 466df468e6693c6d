"""kubo_sot: Kubo-Bastin spin-orbit torques, spin density, conductivity and AMR of 2D
ferromagnets with spin-orbit coupling (Rashba ferromagnet of Ho et al.)."""

__version__ = "0.1.0"

from .errors import ConvergenceError, ConvergenceWarning, ParameterError  # noqa: E402
from .models import RashbaFerromagnet, SquareLatticeRashbaFerromagnet  # noqa: E402
from .models import TightBindingModel  # noqa: E402
from .models.disorder import WhiteNoiseDisorder  # noqa: E402
from .observables.amr import anisotropic_magnetoresistance  # noqa: E402
from .observables.response import linear_response  # noqa: E402
from .sweep import sweep  # noqa: E402
from .sweep.labelled import response_dataset, responses_to_xarray  # noqa: E402

__all__ = ["RashbaFerromagnet", "SquareLatticeRashbaFerromagnet", "TightBindingModel",
           "WhiteNoiseDisorder",
           "linear_response",
           "anisotropic_magnetoresistance", "sweep", "responses_to_xarray",
           "response_dataset",
           "ParameterError", "ConvergenceWarning", "ConvergenceError", "__version__"]
