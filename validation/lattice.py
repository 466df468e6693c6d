"""Lattice models: the continuum limit of the square lattice and the independent route.

**Continuum limit** (docs/conventions.md §2.3).  The square-lattice Rashba ferromagnet

    H = 2t (2 - cos k_x a - cos k_y a) + (alpha/a)(sin k_y a s_x - sin k_x a s_y) - J M.s

becomes the continuum model of §2.2 for k a << 1 with hbar^2/2m = c = t a^2, the same alpha
and the same zero of energy (the bottom of the kinetic band).  Expanding
cos(ka) ~ 1 - (ka)^2/2 + (ka)^4/24 gives the lattice corrections.  For one spin-split band
(alpha -> 0, Gamma -> 0) integrating by parts over the zone,

    sigma_xx = (pi/Gamma) Int_BZ d^2k/(2 pi)^2 (dE/dk_x)^2 delta(E - mu)
             = (pi/Gamma) Int_{E < mu} d^2k/(2 pi)^2 d^2E/dk_x^2,   d^2E/dk_x^2 = 2 t a^2 cos k_x a.

The Fermi sea of 2t(2 - cos - cos) = c q^2 (q^2 = (mu +- J)/c) has
k^2(phi) = q^2 [1 + (q a)^2 (cos^4 phi + sin^4 phi)/12], so n = q^2/(4 pi) [1 + (q a)^2/16],
and Int_sea cos k_x a = n - (a^2/2) Int_sea k_x^2 = q^2/(4 pi) [1 - (q a)^2/16].  Carried
one order further (the k^6 terms of E and the (ka)^4/24 of the cosine; angular averages
<cos^4 + sin^4> = 3/4, <(cos^4 + sin^4)^2> = 19/32, <cos^6 + sin^6> = 5/8) the bracket is
1 - (q a)^2/16 - (q a)^4/256.  Hence at fixed mu, per band,

    sigma_lattice / sigma_continuum = 1 - (q a)^2/16 - (q a)^4/256 + O((q a)^6).

The torques need the same integral.  To first order in alpha the lattice's Rashba field
b = (alpha/a)(sin k_y a, -sin k_x a) is proportional to the velocity 2 t a sin(k a)/hbar
along the field, so the field-like spin density is alpha/(4 pi c) times the band-resolved
current exactly as in the continuum (K_n proportional to j_n); and the Berry-phase
(damping-like) part involves d b_y/d k_x = -alpha cos k_x a integrated over the Fermi sea of
each band with its spin sign s_n.  So sigma_xx, the spin density perpendicular to M, t_FL
and t_DL all get the relative correction

    delta X / X = -(a^2/16) sum_n w_n q_n^4 / sum_n w_n q_n^2,

w_n = 1 for sigma_xx and w_n = s_n (+1 majority, -1 minority) for the spin quantities; with
only the majority band occupied all four are -(k_F a)^2/16, k_F^2 = (mu + J)/c.  The next
terms, relative to this correction, are (k_F a)^2/16 (the order (ka)^4 above), Gamma/Delta
(a broadened Fermi surface; Delta the distance of mu to the nearest band edge) and
(alpha k_F/J)^2 (the Rashba field beyond first order).  sigma_xx of a
parabolic band, (mu + J)/(2 Gamma), does not depend on the mass; the spin quantities scale
as 1/c, so a wrong mass mapping shows in them (tests/test_validation_lattice.py).

**Independent route.**  The adaptive Brillouin-zone integral
(:func:`kubo_sot.observables.lattice_response.lattice_response`) against a uniform periodic
n x n mesh of the same per-k integrand (midpoints in reduced coordinates), which converges
like exp(-2 pi Gamma/(hbar v dk)) for Gamma > 0.  The mesh error is estimated as the
difference of two mesh sizes (an over-estimate for geometric convergence: it is about the
error of the coarser one).  The check holds when |adaptive - mesh| <= adaptive error +
mesh error, for each of sigma_xx, sigma_xy, chi_yx, t_FL, t_DL and for all 44 packed
components (sigma I and II, spin density and torkance I(a), I(b), II) together.
**C3**: the honeycomb with M along z has sigma_xx = sigma_yy.
"""

import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from joblib import Parallel, delayed

import kubo_sot
from kubo_sot.integrate.uniform_mesh import integrate_uniform_mesh
from kubo_sot.models.lattices import honeycomb_kane_mele_ferromagnet, square_rashba_ferromagnet
from kubo_sot.observables.lattice_response import assemble, lattice_integrand, lattice_response

from .protocol import SAFETY, record

E_FIELD = (1.0, 0.0)
TILTED = (0.6, 0.0, 0.8)
#: Continuum-limit point: weak Rashba (alpha k_F/J = 0.14), majority band only,
#: Gamma/Delta = 0.05 (Delta = J - mu); tilted M in the xz plane.
CONTINUUM = dict(alpha=0.01, exchange=0.2, fermi_energy=0.1, broadening=0.005, mass=1.0)
#: Independent-route models (Gamma = 0.05 eV: the mesh converges in seconds).
SQUARE = dict(hopping=0.5, lattice_constant=0.5, alpha=0.1, exchange=0.2)
SQUARE_MU = 1.0
HONEYCOMB = dict(hopping=1.0, spin_orbit=0.05, rashba=0.05, sublattice=0.1, exchange=0.1)
HONEYCOMB_MU = 0.5
ROUTE_GAMMA = 0.05
QUANTITIES = ("sigma_xx", "spin_density_yx", "field_like_torque", "damping_like_torque")
ROUTE_QUANTITIES = ("sigma_xx", "sigma_xy", "spin_density_yx", "field_like_torque",
                    "damping_like_torque")
UNITS = {"sigma_xx": "e^2/h", "sigma_xy": "e^2/h", "sigma_yy": "e^2/h",
         "spin_density_yx": "1/(V nm)", "field_like_torque": "e/nm",
         "damping_like_torque": "e/nm", "all_components": "1"}
SOURCE = "lattice model"  # protocol.check_kind: records of kind "lattice"


def settings(quick):
    """k_F a values and rtol of the continuum limit, and its lattice model: quick,
    SquareLatticeRashbaFerromagnet (polar rays over the zone, ~1 s); full, also its
    TightBindingModel writing through the adaptive Brillouin-zone integrator (~10 s each at
    Gamma = 0.005 eV).  rtol and mesh sizes of the independent route."""
    if quick:
        return dict(kfa=(0.4, 0.2, 0.1), rtol_limit=1e-6, tight_binding=False,
                    rtol_route=1e-4, meshes=(192, 256))
    return dict(kfa=(0.4, 0.2, 0.1, 0.05), rtol_limit=1e-5, tight_binding=True,
                rtol_route=1e-6, meshes=(384, 512))


@dataclass(frozen=True)
class LatticePoint:
    regime: str
    filling: str
    params: dict

    def parameters(self):
        return dict(self.params)


def kinetic_coefficient(mass=1.0):
    """hbar^2/2m (eV nm^2)."""
    return kubo_sot.RashbaFerromagnet(alpha=0.0, exchange=0.0, magnetization=(0, 0, 1),
                                      mass=mass).kinetic_coefficient


def fermi_wavevectors(fermi_energy, exchange, mass=1.0):
    """q_n = sqrt((mu +- J)/c) (nm^-1) of the alpha -> 0 bands (0 for an empty band)."""
    c = kinetic_coefficient(mass)
    return tuple(float(np.sqrt(max(fermi_energy + s * exchange, 0.0) / c)) for s in (1, -1))


def lattice_correction(quantity, lattice_constant, fermi_energy, exchange, mass=1.0):
    """Leading relative lattice correction delta X / X (module docstring):
    -(a^2/16) sum_n w_n q_n^4 / sum_n w_n q_n^2, w = 1 (sigma_xx) or the spin sign s_n."""
    q2 = np.array(fermi_wavevectors(fermi_energy, exchange, mass)) ** 2
    w = np.ones(2) if quantity == "sigma_xx" else np.array([1.0, -1.0])
    return float(-(lattice_constant ** 2 / 16) * np.sum(w * q2 ** 2) / np.sum(w * q2))


def square_lattice_for(kfa, mass_error=1.0, tight_binding=False):
    """SquareLatticeRashbaFerromagnet (or, ``tight_binding``, its TightBindingModel
    writing) of the continuum point with k_F a = ``kfa``: a = kfa / k_F, t = c / a^2 (times
    ``mass_error``: a wrong mapping, for the tests)."""
    kf = fermi_wavevectors(CONTINUUM["fermi_energy"], CONTINUUM["exchange"],
                           CONTINUUM["mass"])[0]
    a = kfa / kf
    build = square_rashba_ferromagnet if tight_binding else \
        kubo_sot.SquareLatticeRashbaFerromagnet
    return build(hopping=mass_error * kinetic_coefficient(CONTINUUM["mass"]) / a ** 2,
                 lattice_constant=a, alpha=CONTINUUM["alpha"], exchange=CONTINUUM["exchange"],
                 magnetization=TILTED)


def continuum_model():
    return kubo_sot.RashbaFerromagnet(alpha=CONTINUUM["alpha"], exchange=CONTINUUM["exchange"],
                                      magnetization=TILTED, mass=CONTINUUM["mass"])


def _continuum_response(model, rtol):
    return kubo_sot.linear_response(model, CONTINUUM["fermi_energy"], CONTINUUM["broadening"],
                                    rtol=rtol)


def quantity_and_error(response, quantity):
    """A scalar of a LinearResponse and its error estimate (FL/DL: the torkance error
    projected with absolute values on e_FL, e_DL by ``torque_coefficients``,
    docs/conventions.md §5)."""
    if quantity.startswith("sigma"):
        i, j = {"sigma_xx": (0, 0), "sigma_xy": (0, 1), "sigma_yy": (1, 1)}[quantity]
        return (float(response.conductivity.total[i, j]),
                float(response.conductivity.error[i, j]))
    if quantity == "spin_density_yx":
        return float(response.spin_density.total[1, 0]), float(response.spin_density.error[1, 0])
    key = "field_like" if quantity == "field_like_torque" else "damping_like"
    part = response.torque_coefficients(E_FIELD).parts[key]
    return float(part["total"]), float(part["error"])


def continuum_limit_value(quantity, kfa, rtol=1e-6, mass_error=1.0, tight_binding=False):
    """The lattice value of ``quantity`` at k_F a = ``kfa`` (the measured value of a
    continuum-limit record)."""
    model = square_lattice_for(kfa, mass_error, tight_binding)
    return quantity_and_error(_continuum_response(model, rtol), quantity)[0]


def deviation_exponent(quantity, kfas, rtol=1e-6, tight_binding=False):
    """Fitted p of |X_lattice - X_continuum| ~ (k_F a)^p."""
    ref = quantity_and_error(_continuum_response(continuum_model(), rtol), quantity)[0]
    devs = [abs(continuum_limit_value(quantity, x, rtol, tight_binding=tight_binding) - ref)
            for x in kfas]
    return float(np.polyfit(np.log(kfas), np.log(devs), 1)[0])


def route_model(name, magnetization=TILTED):
    if name == "square":
        return square_rashba_ferromagnet(magnetization=magnetization, **SQUARE), SQUARE_MU
    return honeycomb_kane_mele_ferromagnet(magnetization=magnetization, **HONEYCOMB), \
        HONEYCOMB_MU


def _adaptive(name, rtol, magnetization=TILTED):
    model, mu = route_model(name, magnetization)
    result, _, response = lattice_response(model, mu, ROUTE_GAMMA, 0.0, rtol)
    return result.estimate, result.error, response


def _mesh(name, n):
    model, mu = route_model(name)
    return integrate_uniform_mesh(model, lattice_integrand(model, mu, ROUTE_GAMMA, 0.0), n)


def mesh_response(name, coarse, fine):
    """LinearResponse of the ``fine`` mesh with error |mesh(fine) - mesh(coarse)|."""
    model, mu = route_model(name)
    est = fine
    result = SimpleNamespace(estimate=est, error=np.abs(fine - coarse), converged=True,
                             n_kpoints=0)
    response = assemble(model, result, mu, ROUTE_GAMMA, 0.0, 0.0, "eigenbasis")
    return response


def adaptive_value(name, quantity, rtol=1e-4, magnetization=TILTED):
    """Adaptive Brillouin-zone value of ``quantity`` (the measured value of a route
    record; ``sigma_yy`` with M along z for the C3 record)."""
    return quantity_and_error(_adaptive(name, rtol, magnetization)[2], quantity)[0]


def worst_route_ratio(name, rtol=1e-4, meshes=(192, 256)):
    """max over the 44 packed components of |adaptive - mesh| / (adaptive + mesh error)."""
    est, err, _ = _adaptive(name, rtol)
    coarse, fine = (_mesh(name, n) for n in meshes)
    return _worst(est, err, coarse, fine)


def _worst(est, err, coarse, fine):
    bound = err + np.abs(fine - coarse)
    diff = np.abs(est - fine)
    return float(np.max(np.where(diff > 0, diff / np.maximum(bound, 1e-300), 0.0)))


def compute(quick, n_jobs=1):
    """All responses of the lattice section; returns (settings, data, wall time s)."""
    start = time.perf_counter()
    cfg = settings(quick)
    tasks = [(("continuum",), _continuum_response, (continuum_model(), cfg["rtol_limit"]))]
    tasks += [(("limit", x), _continuum_response,
               (square_lattice_for(x, tight_binding=cfg["tight_binding"]), cfg["rtol_limit"]))
              for x in cfg["kfa"]]
    for name in ("square", "honeycomb"):
        tasks.append((("adaptive", name), _adaptive, (name, cfg["rtol_route"])))
        tasks += [(("mesh", name, n), _mesh, (name, n)) for n in cfg["meshes"]]
    tasks.append((("c3",), _adaptive, ("honeycomb", cfg["rtol_route"], (0.0, 0.0, 1.0))))
    out = Parallel(n_jobs=n_jobs)(delayed(f)(*args) for _, f, args in tasks)
    data = {key: value for (key, _, _), value in zip(tasks, out)}
    return cfg, data, time.perf_counter() - start


def continuum_limit_records(cfg, data, mass_error=1.0):
    """Records of the continuum limit (``mass_error`` != 1 recomputes the lattice
    responses with t = mass_error c / a^2: a wrong mapping the check must reject)."""
    p = CONTINUUM
    c = kinetic_coefficient(p["mass"])
    kf = fermi_wavevectors(p["fermi_energy"], p["exchange"], p["mass"])[0]
    delta = min(p["fermi_energy"] + p["exchange"], abs(p["fermi_energy"] - p["exchange"]))
    params = {"alpha_eV_nm": p["alpha"], "exchange_eV": p["exchange"],
              "fermi_energy_eV": p["fermi_energy"], "broadening_eV": p["broadening"],
              "mass_me": p["mass"], "magnetization": TILTED, "temperature_K": 0.0,
              "hbar2_over_2m_eV_nm2": c}
    point = LatticePoint("square_lattice", "majority_only", params)
    cont = data[("continuum",)]
    tb = ", tight_binding=True" if cfg["tight_binding"] else ""
    records = []
    for quantity in QUANTITIES:
        x_cont, e_cont = quantity_and_error(cont, quantity)
        devs, errs = [], []
        for kfa in cfg["kfa"]:
            lat = data[("limit", kfa)] if mass_error == 1.0 else _continuum_response(
                square_lattice_for(kfa, mass_error, cfg["tight_binding"]), cfg["rtol_limit"])
            x_lat, e_lat = quantity_and_error(lat, quantity)
            a = kfa / kf
            corr = lattice_correction(quantity, a, p["fermi_energy"], p["exchange"], p["mass"])
            scale = abs(x_cont * corr)
            tol = SAFETY * (kfa ** 2 / 16 + p["broadening"] / delta
                            + (p["alpha"] * kf / p["exchange"]) ** 2) + (e_lat + e_cont) / scale
            devs.append(abs(x_lat - x_cont))
            errs.append((e_lat + e_cont) / devs[-1] if devs[-1] > 0 else np.inf)
            ind = {"kF_a": kfa, "kF_per_nm": kf, "lattice_constant_nm": a,
                   "hopping_eV": mass_error * c / a ** 2, "correction": corr}
            records.append(record(
                f"lattice_{quantity}", f"continuum_limit_kFa_{kfa:g}", point, x_lat,
                x_cont * (1 + corr), tol, "lattice_expansion",
                f"validation.lattice.continuum_limit_value({quantity!r}, {kfa!r}, "
                f"rtol={cfg['rtol_limit']:g}{tb})", ind,
                f"{SOURCE}: continuum limit of the square lattice, cos(ka) ~ 1 - (ka)^2/2 "
                "+ (ka)^4/24 (validation/lattice.py)",
                "X_lattice = X_continuum (hbar^2/2m = t a^2, same alpha and band bottom)",
                "X_lattice = X_continuum (1 - (k_F a)^2/16)", scale=scale,
                scale_name="lattice correction |X (k_F a)^2/16|"))
        kfas = np.array(cfg["kfa"])
        slope = float(np.polyfit(np.log(kfas), np.log(devs), 1)[0])
        tol = SAFETY * (kfas.max() ** 2 / 16 + 2 * max(errs)) / np.log(kfas.max() / kfas.min())
        records.append(record(
            f"lattice_{quantity}", "deviation_power_law", point, slope, 2.0, tol,
            "lattice_scaling", f"validation.lattice.deviation_exponent({quantity!r}, "
            f"{tuple(cfg['kfa'])!r}, rtol={cfg['rtol_limit']:g}{tb})",
            {"kF_a": list(cfg["kfa"]), "deviations": devs},
            f"{SOURCE}: lattice corrections are O((k_F a)^2)",
            "|X_lattice - X_continuum| ~ (k_F a)^p", "p = 2", scale=1.0))
    return records


def route_records(cfg, data):
    records = []
    for name in ("square", "honeycomb"):
        model, mu = route_model(name)
        est, err, adaptive = data[("adaptive", name)]
        coarse, fine = (data[("mesh", name, n)] for n in cfg["meshes"])
        mesh = mesh_response(name, coarse, fine)
        params = dict(SQUARE if name == "square" else HONEYCOMB, fermi_energy_eV=mu,
                      broadening_eV=ROUTE_GAMMA, magnetization=TILTED, temperature_K=0.0)
        point = LatticePoint(f"{name}_lattice", "both_bands" if name == "square"
                             else "valleys_K_K'", params)
        ind = {"adaptive_kpoints": adaptive.provenance["n_kpoints"],
               "mesh_kpoints": cfg["meshes"][1] ** 2, "mesh_sizes": list(cfg["meshes"])}
        what = ("square Rashba ferromagnet as a TightBindingModel" if name == "square" else
                "honeycomb Kane-Mele + Rashba + sublattice + exchange (4 bands)")
        for quantity in ROUTE_QUANTITIES:
            x_ad, e_ad = quantity_and_error(adaptive, quantity)
            x_me, e_me = quantity_and_error(mesh, quantity)
            records.append(record(
                f"route_{quantity}", "adaptive_vs_mesh", point, x_ad, x_me,
                (e_ad + e_me) / abs(x_me), "lattice_route",
                f"validation.lattice.adaptive_value({name!r}, {quantity!r}, "
                f"rtol={cfg['rtol_route']:g})", ind,
                f"{SOURCE}: adaptive Brillouin zone against a uniform periodic mesh, {what}",
                "adaptive = mesh", f"|adaptive - mesh| <= adaptive error + mesh error "
                f"(mesh {cfg['meshes'][1]}^2, error from {cfg['meshes'][0]}^2)"))
        records.append(record(
            "route_all_components", "adaptive_vs_mesh", point,
            _worst(est, err, coarse, fine), 0.0, 1.0, "lattice_route",
            f"validation.lattice.worst_route_ratio({name!r}, rtol={cfg['rtol_route']:g}, "
            f"meshes={tuple(cfg['meshes'])!r})", ind,
            f"{SOURCE}: every packed component (sigma I, II; spin density and torkance I(a), "
            f"I(b), II), {what}", "adaptive = mesh",
            "max_i |adaptive - mesh|_i / (adaptive error + mesh error)_i <= 1", scale=1.0))
    _, _, rz = data[("c3",)]
    s_xx, e_xx = quantity_and_error(rz, "sigma_xx")
    s_yy, e_yy = quantity_and_error(rz, "sigma_yy")
    params = dict(HONEYCOMB, fermi_energy_eV=HONEYCOMB_MU, broadening_eV=ROUTE_GAMMA,
                  magnetization=(0.0, 0.0, 1.0), temperature_K=0.0)
    records.append(record(
        "c3_sigma_yy", "symmetry", LatticePoint("honeycomb_lattice", "valleys_K_K'", params),
        s_yy, s_xx, (e_xx + e_yy) / abs(s_xx), "lattice_route",
        f"validation.lattice.adaptive_value('honeycomb', 'sigma_yy', "
        f"rtol={cfg['rtol_route']:g}, magnetization=(0.0, 0.0, 1.0))",
        {"adaptive_kpoints": rz.provenance["n_kpoints"]},
        f"{SOURCE}: C3 rotation symmetry of the honeycomb with M along z",
        "sigma_yy = sigma_xx", "|sigma_yy - sigma_xx| <= their error estimates"))
    return records


def build_records(cfg, data):
    return continuum_limit_records(cfg, data) + route_records(cfg, data)


def section(records, cfg, seconds):
    """Markdown of the section "Lattice models"."""
    lat = [r for r in records if r["kind"] == "lattice"]

    def held(prefix, variant=None):
        rs = [r for r in lat if r["formula"].startswith(prefix)
              and (variant is None or r["variant"].startswith(variant))]
        return f"{sum(r['holds'] for r in rs)} of {len(rs)}"

    p = CONTINUUM
    lines = [
        "## Lattice models", "",
        f"This section took {seconds:.1f} s (wall time).  Two kinds of checks (table in the "
        "summary, details under Checks).", "",
        "**Continuum limit k_F a << 1 of the square lattice.**  "
        + ("The square Rashba ferromagnet as a TightBindingModel (adaptive Brillouin-zone "
           "integral)" if cfg["tight_binding"] else "kubo_sot.SquareLatticeRashbaFerromagnet")
        + f" at rtol {cfg['rtol_limit']:g} with hbar^2/2m = t a^2, the same alpha and "
        "the same band bottom, against kubo_sot.RashbaFerromagnet, at "
        f"alpha = {p['alpha']} eV nm, J = {p['exchange']} eV, mu = {p['fermi_energy']} eV, "
        f"Gamma = {p['broadening']} eV (majority band only), M = {TILTED}, E = x, at "
        f"k_F a = {', '.join(f'{x:g}' for x in cfg['kfa'])}.  Expanding "
        "cos(ka) ~ 1 - (ka)^2/2 + (ka)^4/24 (derivation in validation/lattice.py): at fixed "
        "mu, sigma_xx, the spin density chi_yx and the torkances t_FL, t_DL all get the "
        "relative correction -(k_F a)^2/16 (sigma_xx = (pi/Gamma) Int_sea d^2E/dk_x^2 "
        "contains Int_sea cos k_x a = (k_F^2/4 pi)(1 - (k_F a)^2/16), while the density is "
        "n = (k_F^2/4 pi)(1 + (k_F a)^2/16); the lattice Rashba field "
        "(alpha/a) sin ka is parallel to the velocity, and d b_y/dk_x = -alpha cos k_x a).  "
        "The check holds when the lattice value minus the continuum value times "
        "(1 - (k_F a)^2/16) is within 3 ((k_F a)^2/16 + Gamma/Delta + (alpha k_F/J)^2) of "
        "the correction (the next orders; the first, -(k_F a)^4/256 for sigma_xx, is derived "
        "too) plus the integration errors; the fitted power of "
        "|X_lattice - X_continuum| in k_F a must be 2.  Held: coefficient "
        f"{held('lattice_', 'continuum_limit')}, power law "
        f"{held('lattice_', 'deviation_power_law')}.  sigma_xx of a parabolic band is "
        "(mu + J)/(2 Gamma) whatever the mass, so a wrong mass mapping shows only in the spin "
        "quantities (they scale as 1/m): with t off by 10 % they fail "
        "(tests/test_validation_lattice.py).", "",
        "Measured lattice correction in units of the derived one, "
        "(X_lattice / X_continuum - 1) / (-(k_F a)^2/16): it is 1 where the expansion holds, "
        "and its drift with k_F a is the next order (+(k_F a)^2/16 for sigma_xx).  For this M "
        "(in the xz plane, E = x) e_FL = M x y, so chi_yx and t_FL carry the same "
        "information (t = J M x chi: the spin-density tensor is checked as such, the torques "
        "as the user reads them).  The spin density along M is of order alpha^2 and has no "
        "derived lattice coefficient; it is not checked.", "",
        "| quantity | X_continuum | " + " | ".join(f"k_F a = {x:g}" for x in cfg["kfa"])
        + " | fitted power p |", "|---|---|" + "---|" * (len(cfg["kfa"]) + 1)]
    for quantity in QUANTITIES:
        rs = [r for r in lat if r["formula"] == f"lattice_{quantity}"]
        limit = [r for r in rs if r["variant"].startswith("continuum_limit")]
        power = [r for r in rs if r["variant"] == "deviation_power_law"]
        if not limit or not power:
            continue
        x_cont = limit[0]["predicted"] / (1 + limit[0]["indicators"]["correction"])
        ratios = [(r["measured"] / x_cont - 1) / r["indicators"]["correction"] for r in limit]
        lines.append(f"| {quantity} | {x_cont:.6g} {UNITS[quantity]} | "
                     + " | ".join(f"{q:.4f}" for q in ratios)
                     + f" | {power[0]['measured']:.4f} |")
    lines += [
        "",
        "**Independent route.**  The adaptive Brillouin-zone integral at rtol "
        f"{cfg['rtol_route']:g} against a uniform periodic {cfg['meshes'][1]} x "
        f"{cfg['meshes'][1]} mesh of the same per-k integrand (mesh error: its difference to "
        f"{cfg['meshes'][0]} x {cfg['meshes'][0]}; both use the same per-k kernel, so this "
        "checks the k-space strategy and its error estimate; the kernel is checked against "
        f"explicit Green's functions in tests/test_nband_kernel.py), Gamma = {ROUTE_GAMMA} eV, "
        f"M = {TILTED}: "
        f"the square Rashba ferromagnet as a TightBindingModel (t = {SQUARE['hopping']} eV, "
        f"a = {SQUARE['lattice_constant']} nm, alpha = {SQUARE['alpha']} eV nm, "
        f"J = {SQUARE['exchange']} eV, mu = {SQUARE_MU} eV, both bands), held "
        f"{_held_regime(lat, 'square_lattice', 'route_')}, "
        f"and the honeycomb Kane-Mele ferromagnet (t = {HONEYCOMB['hopping']} eV, "
        f"lambda_SO = {HONEYCOMB['spin_orbit']} eV, lambda_R = {HONEYCOMB['rashba']} eV, "
        f"Delta = {HONEYCOMB['sublattice']} eV, J = {HONEYCOMB['exchange']} eV, "
        f"mu = {HONEYCOMB_MU} eV, pockets at K and K'), held "
        f"{_held_regime(lat, 'honeycomb_lattice', 'route_')}.  C3 of the honeycomb with M "
        f"along z (sigma_xx = sigma_yy within the error estimates): {held('c3_')}.", ""]
    return "\n".join(lines)


def _held_regime(records, regime, prefix):
    rs = [r for r in records if r["regime"] == regime and r["formula"].startswith(prefix)]
    return f"{sum(r['holds'] for r in rs)} of {len(rs)}"
