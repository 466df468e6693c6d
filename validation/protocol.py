"""The validation protocol: parameter points, response tasks, checks and records.

Every check produces a record with the measured and predicted values, the relative
deviation, the tolerance with its reason, the verdict and the library call that reproduces
the measured value.  Tolerances are set from the order of the terms each formula neglects
(listed in ``TOLERANCE_REASONS``), times SAFETY, never from the measured deviation.
"""

from dataclasses import dataclass

import kubo_sot


SAFETY = 3.0
TOLERANCE_REASONS = {
    "weak_expansion": "next order of the weak-Rashba expansion, (alpha k_F/J)^2, plus the "
                      "broadening correction (Gamma/J)^2 of the spin response, times 3",
    "strong_expansion": "the paper's formulas are a series in alpha k_F / J; at "
                        "alpha k_F/J > 20 the neglected terms exceed the leading one, so the "
                        "tolerance is the expansion estimate capped at 1 (100 %)",
    "vanishing": "leading correction J/(alpha k_F) of the strong-Rashba limit, times 3",
    "drude": "constant-Gamma Kubo minus Boltzmann is second order in Gamma / Delta "
             "(Delta: distance of mu to the nearest band edge), times 3",
    "intrinsic": "first order in Gamma / Delta (disorder corrections to the Gamma -> 0 "
                 "limit), times 3",
    "edelstein": "next order J/(alpha k_F) of the spin texture plus (Gamma/Delta)^2, times 3",
    "scaling": "curvature of log X over the fitted Gamma range: Gamma_max / Delta, times 3",
    "lattice_expansion": "next orders of the lattice expansion: (k_F a)^2/16 (the (ka)^4 terms), "
                         "Gamma/Delta and (alpha k_F/J)^2 relative to the leading correction "
                         "-(k_F a)^2/16, times 3, plus the integration errors of both models "
                         "relative to that correction",
    "lattice_scaling": "curvature of log|X_lattice - X_continuum| over the k_F a range "
                       "((k_F a)_max^2/16) plus twice the largest relative integration error of "
                       "the deviations, divided by ln((k_F a)_max/(k_F a)_min), times 3",
    "lattice_route": "the adaptive error estimate plus the mesh error (difference of two "
                     "mesh sizes); for all components: their ratio <= 1",
    "ladder": "the non-crossing (SCBA + ladder) result and the leading-order statement differ "
              "at first order in Gamma / Delta, times 3",
}


@dataclass(frozen=True)
class RegimePoint:
    regime: str  # weak_rashba | strong_rashba
    filling: str  # majority_only | both_bands
    alpha: float
    exchange: float
    fermi_energy: float
    broadening: float
    mass: float = 1.0

    def model(self, magnetization=(0.0, 0.0, 1.0)):
        return kubo_sot.RashbaFerromagnet(alpha=self.alpha, exchange=self.exchange,
                                          magnetization=magnetization, mass=self.mass)

    def parameters(self):
        return {"alpha_eV_nm": self.alpha, "exchange_eV": self.exchange,
                "fermi_energy_eV": self.fermi_energy, "broadening_eV": self.broadening,
                "mass_me": self.mass, "temperature_K": 0.0}

    @property
    def delta(self):
        """Distance (eV) of mu to the nearest band edge (band bottom and +/- J)."""
        bottom = self.model().band_bottom()
        edges = [self.fermi_energy - bottom, abs(self.fermi_energy - self.exchange),
                 abs(self.fermi_energy + self.exchange)]
        return min(edges)


REGIME_POINTS = [
    RegimePoint("weak_rashba", "majority_only", 0.002, 0.2, 0.1, 0.005),
    RegimePoint("weak_rashba", "both_bands", 0.002, 0.2, 0.5, 0.005),
    RegimePoint("strong_rashba", "majority_only", 0.3, 0.005, 0.0, 0.001),
    RegimePoint("strong_rashba", "both_bands", 0.3, 0.005, 0.1, 0.001),
]


def call_string(point, magnetization, rtol, tail):
    m = tuple(float(x) for x in magnetization)
    return (f"kubo_sot.linear_response(kubo_sot.RashbaFerromagnet(alpha={point.alpha}, "
            f"exchange={point.exchange}, magnetization={m}, mass={point.mass}), "
            f"fermi_energy={point.fermi_energy}, broadening={point.broadening}, "
            f"rtol={rtol:g}){tail}")


#: Kinds of checks, by the source of the prediction (see :func:`check_kind`).
KINDS = {
    "closed_form": "closed forms of the literature (and the leading-order ladder law of this "
                   "package): tests of the engine",
    "seed_paper": "the seed paper's formulas and hypotheses: as written, translated to two "
                  "bands, corrected by this report, and under vertex corrections",
    "lattice": "lattice models: the continuum limit k_F a << 1 of the square lattice, the "
               "adaptive Brillouin-zone integral against a uniform periodic mesh, and the C3 "
               "symmetry of the honeycomb (validation/lattice.py)",
}
#: The paper's own claims: its formulas as written, and its strong-Rashba statement.
PAPER_CLAIM_VARIANTS = ("as_written", "claim_vanishes")
_SEED_PAPER_SOURCES = ("seed paper", "this report", "bare bubble")
_LATTICE_SOURCES = ("lattice model",)


#: Unit of the measured and predicted values of each formula (variants that compare a
#: ratio or an exponent instead in VARIANT_UNITS).
UNITS = {
    "field_like_torque": "e/nm", "damping_like_torque": "e/nm",
    "intrinsic_damping_like_torque": "e/nm", "edelstein_field_like_torque": "e/nm",
    "amr": "1", "joule_heating": "(e^2/h)(V/nm)^2", "magnetization_dissipation":
    "(e^2/h)(V/nm)^2", "drude_conductivity": "e^2/h", "anomalous_hall_intrinsic": "e^2/h",
    "vc_field_like_torque": "e/nm", "vc_damping_like_torque": "e/nm", "vc_amr": "1",
    "vc_edelstein_only": "1/(V nm)", "vc_damping_like_vanishes": "1",
    "vc_anomalous_hall": "e^2/h", "vc_drude_conductivity": "e^2/h",
    "lattice_sigma_xx": "e^2/h", "lattice_spin_density_yx": "1/(V nm)",
    "lattice_field_like_torque": "e/nm", "lattice_damping_like_torque": "e/nm",
    "route_sigma_xx": "e^2/h", "route_sigma_xy": "e^2/h", "route_spin_density_yx": "1/(V nm)",
    "route_field_like_torque": "e/nm", "route_damping_like_torque": "e/nm",
    "route_all_components": "1", "c3_sigma_yy": "e^2/h",
}
VARIANT_UNITS = {"claim_vanishes": "1", "one_band_ladder_ratio": "1",
                 "power_law": "1", "deviation_power_law": "1"}  # fitted exponents


def unit_of(formula, variant):
    """Unit of a check's measured and predicted values (KeyError for an undeclared one)."""
    return VARIANT_UNITS.get(variant) or UNITS[formula]


def check_kind(source):
    """"seed_paper" for a prediction taken from the seed paper (or derived from it here:
    its translation, its correction, its bare-bubble counterpart), "lattice" for the checks
    of the lattice models (validation/lattice.py), else "closed_form"."""
    if source.startswith(_LATTICE_SOURCES):
        return "lattice"
    return "seed_paper" if source.startswith(_SEED_PAPER_SOURCES) else "closed_form"


def record(formula, variant, point, measured, predicted, tolerance, reason, call,
           indicators, source, written, translated, scale=None, scale_name=None):
    """One check.  relative_deviation = |measured - predicted| / |scale or predicted|;
    ``scale_name`` says what the scale is (recorded as ``deviation_reference``)."""
    denom = abs(scale if scale is not None else predicted)
    if scale is None:
        reference = "predicted"
    elif scale_name is not None:
        reference = f"{scale_name} = {denom:.4g}"
    else:
        reference = "1 (absolute deviation)" if denom == 1.0 else f"{denom:.4g}"
    deviation = abs(measured - predicted) / denom if denom > 0 else float("inf")
    return {
        "formula": formula, "variant": variant, "kind": check_kind(source),
        "regime": point.regime,
        "filling": point.filling, "measured": float(measured), "predicted": float(predicted),
        "unit": unit_of(formula, variant), "relative_deviation": float(deviation),
        "deviation_reference": reference, "deviation_scale": float(denom),
        "tolerance": float(tolerance),
        "tolerance_reason": TOLERANCE_REASONS[reason], "holds": bool(deviation <= tolerance),
        "parameters": point.parameters(), "indicators": indicators, "call": call,
        "source": source, "as_written": written, "translated": translated,
    }
