"""Write report.md, results.json and the figures of a validation run."""

import json
from pathlib import Path

import numpy as np

import kubo_sot

from . import formulas as F
from .protocol import KINDS, PAPER_CLAIM_VARIANTS, REGIME_POINTS, TOLERANCE_REASONS
from .run import ALPHA_SWEEP, ANGLE_POINT, E_FIELD, SCALING_QUANTITIES, gamma_series

TRANSLATION = r"""
## How the paper's formulas are translated

The paper writes per-electron rates for one occupied band; the engine gives per-area
responses (docs/conventions.md §3): spin density chi (1/(V nm)), torkance t = J M x chi
(e/nm, torque per area per field), conductivity sigma (e^2/h).  With c = hbar^2/2m:

* **Torque.**  Paper Eq. (4): T = (J/hbar) M x S, the rate of change of the Pauli spin S.
  Per area, tau = hbar T = J M x delta<s>, which is the package's torkance times E.
* **Field-like torque** (Eq. 5, App. A): T1 = -gamma M x H_fl, H_fl = (m alpha/(e hbar)) z x j.
  In torque-per-area form tau_FL = -(m alpha/(e hbar)) M x (z x j).  With j = sigma_xx E along
  x and e_FL = M x (z x E): **t_FL = -(m alpha/(e hbar)) sigma_xx = -alpha sigma_xx/(4 pi c)**
  (m alpha/hbar^2 = alpha/2c and (hbar/e) e^2/h = e/2pi).  Derivation of the translation
  for two bands: to first order in alpha the lower (upper) band spin is
  +M (-M) - alpha (k x z)_perp / J, so delta<s>_perp = (alpha/J)(K_+ - K_-) x z with
  K_n = sum_k delta f_n k = -(m/(e hbar)) j_n; the minority current enters with the opposite
  sign: **j -> j_- - j_+ = P j**, P = (sigma_- - sigma_+)/(sigma_- + sigma_+), the band
  conductivities being those of the alpha -> 0 model (exact constant-Gamma parabolic bands).
* **Damping-like torque** (Eqs. 10, 13, 14): per electron T2 = (e alpha/(hbar J))
  M x (M x (E x z)).  Summed over the n electrons that feel the spin force and multiplied by
  hbar: tau_DL = (e alpha n / J) M x (M x (E x z)) = -(e alpha n/J) M x (M x (z x E)), so
  **t_DL = -alpha n / J** with e_DL = M x (M x (z x E)).  As written n = n_- (one band);
  translated n = n_- - n_+ (in Eq. 12 Omega -> -Omega for the upper band: opposite force).
  Note: the paper's reduction of Eq. (13) to F_so = eta e (E.M) M holds only for in-plane M;
  for M = z Eq. (13) gives F_so = eta e E (and Eq. 14 a non-zero torque), which is what is
  tested here.
* **AMR** (Eq. 18): rho(theta)/rho(pi/2) = 1 + eta cos^2 theta, eta = m alpha^2/(hbar^2 J)
  = alpha^2/(2cJ).  Translated: the extra Joule heat sum_n j_n.F_n/e has opposite forces in
  the two bands, **eta -> eta P** (a correction derived in this report, not a law of the
  paper).
* **Energy** (Eqs. 15-17): Q_e = j.E + j.F_so/e and Q_M = -eta rho_0 (M.j)^2 with
  F_so = eta e (E.M) M (in-plane M), checked at theta_EM = pi/4 with j = sigma E from the
  engine and E = 1 V/nm along x (Q in (e^2/h)(V/nm)^2).  The measured Q_M is minus the extra
  Joule heat, j.E - rho_0 |j|^2 (the paper's energy balance); the relative deviation of Q_e
  is taken relative to its spin-orbit part j.F_so/e, the only part the formula predicts.
"""


def _cell(value, unit, digits=4):
    text = f"{value:.{digits}g}" if np.isfinite(value) else str(value)
    return text if unit == "1" else f"{text} {unit}"


def _digits(r):
    """Significant digits that show the deviation: 4, plus as many as the reference of the
    deviation is smaller than the predicted value (Q_e = rho_0 j^2 + j.F_so/e: the
    spin-orbit part is 1e-4 of the total)."""
    scale, predicted = r["deviation_scale"], abs(r["predicted"])
    if not (scale > 0 and np.isfinite(predicted) and predicted > scale):
        return 4
    return 4 + min(8, int(np.ceil(np.log10(predicted / scale))))


def _summary(records):
    """Headline per kind, the paper's own claims per regime, one table per kind."""
    lines = [f"**{headline(records)}.**", ""]
    for kind, text in KINDS.items():
        rs = [r for r in records if r["kind"] == kind]
        lines.append(f"* {sum(r['holds'] for r in rs)} of {len(rs)} checks hold: {text}.")
    lines += ["", "The paper's own claims (its formulas as written, and its statement that the "
              "damping-like torque vanishes at strong Rashba coupling), per regime:", "",
              "| claim | " + " | ".join(label for *_, label in REGIME_LABELS) + " |",
              "|---|" + "---|" * len(REGIME_LABELS)]
    claims = [r for r in records if r["kind"] == "seed_paper"
              and r["variant"] in PAPER_CLAIM_VARIANTS and not r["formula"].startswith("vc_")]
    for formula in dict.fromkeys(r["formula"] for r in claims):
        for variant in dict.fromkeys(r["variant"] for r in claims if r["formula"] == formula):
            cells = []
            for regime, filling, _ in REGIME_LABELS:
                hit = [r for r in claims if (r["formula"], r["variant"], r["regime"],
                                             r["filling"]) == (formula, variant, regime, filling)]
                cells.append("" if not hit else "holds" if hit[0]["holds"] else "**fails**")
            name = formula if variant == "as_written" else f"{formula} ({variant})"
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = []
    for regime, filling, _ in REGIME_LABELS:
        hit = [r for r in claims if (r["regime"], r["filling"]) == (regime, filling)]
        totals.append(f"{sum(r['holds'] for r in hit)}/{len(hit)}")
    lines += ["| **held** | " + " | ".join(totals) + " |", ""]
    lines += ["Deviations are relative to the predicted value unless the column *relative to* "
              "names another reference (an exponent or a ratio that should vanish is compared "
              "in absolute terms; the Joule heat Q_e relative to its spin-orbit part j.F_so/e, "
              "the only part the formula predicts beyond Ohm's law).", ""]
    for kind in KINDS:
        rs = [r for r in records if r["kind"] == kind]
        title = KIND_TITLES[kind]
        lines += [f"### {title}: {sum(r['holds'] for r in rs)} of {len(rs)} hold", "",
                  "| formula | variant | regime | filling | measured | predicted | rel. dev. | "
                  "relative to | tolerance | verdict |", "|---|" + "---|" * 9]
        for r in rs:
            lines.append(
                f"| {r['formula']} | {r['variant']} | {r['regime']} | {r['filling']} | "
                f"{_cell(r['measured'], r['unit'], _digits(r))} | "
                f"{_cell(r['predicted'], r['unit'], _digits(r))} | "
                f"{_fmt(r['relative_deviation'])} | "
                f"{r['deviation_reference'].replace('|', chr(92) + '|')} | "
                f"{_fmt(r['tolerance'])} | {'holds' if r['holds'] else '**fails**'} |")
        lines.append("")
    return lines


def headline(records):
    """One line: how many checks hold, per kind (protocol.KINDS), with the paper's own
    claims (its formulas as written) per regime and filling after the seed-paper count."""
    claims = []
    for regime, filling, label in REGIME_LABELS:
        rs = [r for r in records if r["kind"] == "seed_paper" and r["regime"] == regime
              and r["filling"] == filling and r["variant"] in PAPER_CLAIM_VARIANTS]
        claims.append(f"{label} {sum(r['holds'] for r in rs)}/{len(rs)}")
    parts = []
    for kind in KINDS:
        rs = [r for r in records if r["kind"] == kind]
        if kind == "lattice" and not rs:
            continue  # a run without the lattice section
        text = f"{sum(r['holds'] for r in rs)} of {len(rs)} {KIND_HEADLINES[kind]} hold"
        if kind == "seed_paper":
            text += " (the paper's own claims: " + ", ".join(claims) + ")"
        parts.append(text)
    return "; ".join(parts)


#: Titles of the per-kind tables of the summary, and the words of the headline.
KIND_TITLES = {"closed_form": "Literature closed forms",
               "seed_paper": "The seed paper's formulas and hypotheses",
               "lattice": "Lattice models"}
KIND_HEADLINES = {"closed_form": "literature closed forms",
                  "seed_paper": "seed-paper formulas and hypotheses",
                  "lattice": "lattice-model checks"}

REGIME_LABELS = [("weak_rashba", "majority_only", "weak Rashba one band"),
                 ("weak_rashba", "both_bands", "weak Rashba both bands"),
                 ("strong_rashba", "majority_only", "strong Rashba one band"),
                 ("strong_rashba", "both_bands", "strong Rashba both bands")]


def _fmt(x):
    return f"{x:.4g}" if np.isfinite(x) else str(x)


def write_results(records, out):
    (out / "results.json").write_text(json.dumps(records, indent=1))


def write_report(records, cfg, responses, out, quick, seconds, figures, vertex_section="",
                 lattice_section=""):
    lines = ["# kubo_sot validation report", "",
             f"kubo_sot {kubo_sot.__version__}; mode: {'quick' if quick else 'full'}; "
             f"wall time {seconds:.0f} s.  Seed paper: Ho, Tan, Shen & Jalil, *Newton's "
             "second law in spin-orbit torque* (equation numbers of its text).", "",
             "## Summary", ""] + _summary(records)
    lines += ["", _conclusions(records), vertex_section, lattice_section, TRANSLATION,
              "## Regime points", ""]
    lines += ["| regime | filling | alpha (eV nm) | J (eV) | mu (eV) | Gamma (eV) | "
              "alpha k_F/J | n_- (nm^-2) | n_+ (nm^-2) | P | eta |", "|---|" * 1 + "---|" * 10]
    seen = set()
    for r in records:
        key = (r["regime"], r["filling"])
        if key in seen or r["formula"].startswith(("gamma_scaling", "vc_")) \
                or r["kind"] == "lattice":
            continue
        seen.add(key)
        p, i = r["parameters"], r["indicators"]
        lines.append(f"| {key[0]} | {key[1]} | {p['alpha_eV_nm']} | {p['exchange_eV']} | "
                     f"{p['fermi_energy_eV']} | {p['broadening_eV']} | "
                     f"{_fmt(i['alpha_kF_over_J'])} | {_fmt(i['n_minus_per_nm2'])} | "
                     f"{_fmt(i['n_plus_per_nm2'])} | {_fmt(i['current_polarization_P'])} | "
                     f"{_fmt(i['eta'])} |")
    lines += ["", "## Tolerances", "", "Each tolerance is the order of the terms the formula "
              "neglects, fixed before the comparison:", ""]
    lines += [f"* **{k}**: {v}" for k, v in TOLERANCE_REASONS.items()]
    lines += ["", "## Checks", ""]
    for r in records:
        lines += [f"### {r['formula']} ({r['variant']}), {r['regime']}, {r['filling']}", "",
                  f"* source: {r['source']}",
                  f"* as written: {r['as_written']}", f"* translated: {r['translated']}",
                  f"* measured {r['measured']:.8g}, predicted {r['predicted']:.8g}, "
                  f"relative deviation {r['relative_deviation']:.3g}, tolerance "
                  f"{r['tolerance']:.3g} ({r['tolerance_reason']}): "
                  f"**{'holds' if r['holds'] else 'fails'}**",
                  f"* reproduce: `{r['call']}`", ""]
    if figures:
        lines += ["## Figures", ""]
        for n, (name, caption) in enumerate(figures, 1):
            lines += [f"![Figure {n}: {name}]({name})", "", f"*Figure {n}.* {caption}", ""]
    else:
        lines += ["## Figures", "", "matplotlib is not installed (pip install "
                  "'kubo_sot[plot]'): no figures were written."]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def _conclusions(records):
    def find(formula, variant, regime, filling):
        for r in records:
            if (r["formula"], r["variant"], r["regime"], r["filling"]) == \
                    (formula, variant, regime, filling):
                return r
        return None

    out = ["## What the data say", ""]
    for filling in ("majority_only", "both_bands"):
        fl = find("field_like_torque", "translated", "weak_rashba", filling)
        dl = find("damping_like_torque", "translated", "weak_rashba", filling)
        half = find("damping_like_torque", "corrected_law", "weak_rashba", filling)
        amr = find("amr", "translated", "weak_rashba", filling)
        if fl and dl and half and amr:
            out.append(
                f"* Weak Rashba, {filling}: the field-like torque (translated) deviates by "
                f"{fl['relative_deviation']:.2g}, the AMR ratio by {amr['relative_deviation']:.2g} "
                f"(both within the expansion estimate).  The damping-like torque of Eq. (14) is "
                f"off by {dl['relative_deviation']:.2g}: the engine gives "
                f"{half['measured']:.4g} e/nm, i.e. **half** of Eq. (14) "
                f"(t_DL = -alpha (n_- - n_+)/(2J), deviation "
                f"{half['relative_deviation']:.2g}), which is the Berry-phase (intrinsic) "
                "torque of the constant-Gamma model.")
    for filling in ("majority_only", "both_bands"):
        fl = find("field_like_torque", "as_written", "strong_rashba", filling)
        van = find("damping_like_torque", "claim_vanishes", "strong_rashba", filling)
        amr = find("amr", "as_written", "strong_rashba", filling)
        ed = find("edelstein_field_like_torque", "j_to_zero", "strong_rashba", filling)
        if fl and van and amr and ed:
            out.append(
                f"* Strong Rashba, {filling}: the paper's formulas fail (field-like off by a "
                f"factor {abs(fl['predicted'] / fl['measured']):.3g}, AMR ratio measured "
                f"{amr['measured']:.2g} vs eta = {amr['predicted']:.3g}).  The claim that the "
                f"damping-like torque vanishes holds: |t_DL/t_FL| = {van['measured']:.2g}.  "
                f"The field-like torque follows the Edelstein law t_FL = J chi_yx, "
                f"chi_yx = -(sum_c s_c k_c)/(8 pi Gamma) (deviation "
                f"{ed['relative_deviation']:.2g}).")
    out.append("* Writing the paper's single-band formulas with the total current for two "
               "occupied bands (variant as_written, both_bands) fails; the band-resolved "
               "translation (current polarization P) is needed.")
    return "\n".join(out) + "\n"


REGIME_NAMES = {("weak_rashba", "majority_only"): "weak Rashba, one band",
                ("weak_rashba", "both_bands"): "weak Rashba, both bands",
                ("strong_rashba", "majority_only"): "strong Rashba, one band",
                ("strong_rashba", "both_bands"): "strong Rashba, both bands"}


def _point_text(p):
    return (f"alpha = {p.alpha} eV nm, J = {p.exchange} eV, mu = {p.fermi_energy} eV, "
            f"Gamma = {p.broadening} eV")


def write_figures(cfg, responses, out, vertex_responses=None):
    """PNG figures; returns [(file name, caption)] ([] without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    figures = []

    # 1. Torques vs alpha k_F / J with the analytic curves.
    alphas = cfg["alphas"]
    rs = [responses[("alpha", float(a))][3] for a in alphas]
    x = np.array([r.bands.rashba_to_exchange for r in rs])
    fl = np.array([abs(r.torque_coefficients(E_FIELD).field_like) for r in rs])
    dl = np.array([abs(r.torque_coefficients(E_FIELD).damping_like) for r in rs])
    j, mu, g = ALPHA_SWEEP["exchange"], ALPHA_SWEEP["fermi_energy"], ALPHA_SWEEP["broadening"]
    fl_paper = [abs(F.field_like_paper(a, r.conductivity.total[0, 0],
                                       polarization=F.current_polarization(mu, j, g)))
                for a, r in zip(alphas, rs)]
    dl_paper = [abs(F.damping_like_paper(a, j, r.bands.occupations[0] - r.bands.occupations[1]))
                for a, r in zip(alphas, rs)]
    dl_int = [abs(F.intrinsic_damping_like_perpendicular(a, j, mu)[1]) for a in alphas]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.loglog(x, fl, "o-", label="|t_FL| Kubo-Bastin")
    ax.loglog(x, dl, "s-", ms=8, mfc="none", label="|t_DL| Kubo-Bastin")
    ax.loglog(x, fl_paper, "--", label="|t_FL| paper (H_fl, translated)")
    ax.loglog(x, dl_paper, ":", label="|t_DL| paper Eq. (14)")
    ax.loglog(x, dl_int, "-.", label="|t_DL| intrinsic closed form")
    ax.set_xlabel("alpha k_F / J (1)")
    ax.set_ylabel("|torkance| (e/nm)")
    ax.set_title(f"M = z, E = x; J = {j} eV, mu = {mu} eV, Gamma = {g} eV", fontsize=10)
    ax.legend(fontsize=8)
    figures.append((_save(fig, out, "torques_vs_rashba.png"),
                    "Field-like and damping-like torkances |t_FL|, |t_DL| (e/nm) against "
                    "alpha k_F / J, the Rashba parameter alpha swept from "
                    f"{min(alphas):g} to {max(alphas):g} eV nm at J = {j} eV, mu = {mu} eV "
                    f"(majority band only), Gamma = {g} eV, M = z, E = x.  Markers: the "
                    "Kubo-Bastin engine; lines: the paper's field-like torque (translated, "
                    "with the current polarization P), its damping-like Eq. (14), and the "
                    "intrinsic (Berry-phase) closed form, which the damping-like torque follows "
                    "at all alpha while Eq. (14) is twice it at weak Rashba coupling and fails "
                    "at strong coupling, as does the paper's field-like torque above "
                    "alpha k_F / J ~ 1."))

    # 2. Gamma scaling (log-log) with the fitted exponents.
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2))
    quantities = (("sigma_xx", "sigma_xx (e^2/h)"), ("field_like", "|t_FL| (e/nm)"),
                  ("damping_like", "|t_DL| (e/nm)"), ("sigma_xy", "|sigma_xy| (e^2/h)"))
    markers = "os^D"
    for ax, i in zip(axes, (0, 3)):
        gammas, rs = gamma_series(cfg, responses, i)
        p = REGIME_POINTS[i]
        for (name, label), marker in zip(quantities, markers):
            get, expected = SCALING_QUANTITIES[name]
            values = np.abs([get(r) for r in rs])
            slope, offset = np.polyfit(np.log(gammas), np.log(values), 1)
            line, = ax.loglog(gammas, values, marker, ms=7, mfc="none", ls="none")
            fine = np.geomspace(gammas.min(), gammas.max(), 20)
            ax.loglog(fine, np.exp(offset) * fine ** slope, "-", color=line.get_color(),
                      lw=1, label=f"{label}: fitted slope {slope:.3f} (expected "
                                  f"{expected:g})")
            line.set_label(None)
        ax.set_xlabel("Gamma (eV)")
        ax.set_ylabel("|X| (unit in the legend)")
        ax.set_title(f"{REGIME_NAMES[p.regime, p.filling]}\n(alpha = {p.alpha} eV nm, "
                     f"J = {p.exchange} eV, mu = {p.fermi_energy} eV)", fontsize=9)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1,
                  frameon=False)
    figures.append((_save(fig, out, "gamma_scaling.png"),
                    "Scaling with the broadening Gamma (log-log), M = z, E = x, at the weak-"
                    "Rashba one-band and strong-Rashba two-band points: open markers are the "
                    "Kubo-Bastin values, lines the power laws |X| ~ Gamma^p fitted to them, "
                    "with the fitted exponent p in the legend.  Fermi-surface (Drude-like) "
                    "terms, sigma_xx and t_FL, go as 1/Gamma (p = -1); the intrinsic ones, "
                    "t_DL and the anomalous Hall conductivity sigma_xy, as Gamma^0 (p = 0).  "
                    "The gamma_scaling_* checks of the summary are these slopes."))

    # 3. Torques vs magnetization angle (M in the xz plane, E = x).
    angles = cfg["angles"]
    rs = [responses[("angle", float(t))][3] for t in angles]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, (key, label) in zip(axes, (("field_like", "t_FL"), ("damping_like", "t_DL"))):
        parts = [r.torque_coefficients(E_FIELD).parts[key] for r in rs]
        for part, style in (("total", dict(marker="o", ms=5, ls="-")),
                            ("fermi_surface", dict(marker="s", ms=9, mfc="none", ls="--")),
                            ("fermi_sea", dict(marker="D", ms=12, mfc="none", ls=":"))):
            ax.plot(np.degrees(angles), [q[part] for q in parts], label=f"{label} "
                    f"{part.replace('fermi_', 'Fermi ')}", **style)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("polar angle of M from z (deg), M in the xz plane")
        ax.set_ylabel(f"{label} (e/nm)")
        ax.legend(fontsize=8)
    fig.suptitle(f"{_point_text(ANGLE_POINT)} (both bands); E = x", fontsize=10)
    figures.append((_save(fig, out, "torques_vs_angle.png"),
                    f"Field-like (left) and damping-like (right) torkances (e/nm) at "
                    f"{len(angles)} polar angles of M from z to the plane (M in the xz plane, "
                    f"E = x; {_point_text(ANGLE_POINT)}, both bands occupied), with their "
                    "Fermi-surface (I(a) + I(b)) and Fermi-sea (II) parts; total = surface + "
                    "sea.  Markers of different sizes stay visible where the parts "
                    "coincide."))

    # 4. rho_EE(theta) with the paper's law and the P-corrected law of this report.
    fig, axes = plt.subplots(2, 2, figsize=(10, 8), layout="constrained")
    for ax, i in zip(axes.flat, range(4)):
        p = REGIME_POINTS[i]
        keys = sorted(k for k in responses if k[0] == "amr_angle" and k[1] == i)
        if keys:
            theta = np.array([k[2] for k in keys])
            rho = np.array([_rho(responses[k][3]) for k in keys])
        else:
            theta = np.array([0.0, np.pi / 4, np.pi / 2])
            rho = np.array([_rho(responses[(f"amr{n}", i)][3]) for n in ("0", "45", "90")])
        perp = _rho(responses[("amr90", i)][3])
        fine = np.linspace(0, theta.max(), 200)
        eta = F.eta(p.alpha, p.exchange, p.mass)
        pol = F.current_polarization(p.fermi_energy, p.exchange, p.broadening)
        measured = rho / perp - 1
        ax.plot(np.degrees(fine), eta * np.cos(fine) ** 2, "--", color="C1",
                label="eta cos^2 theta: the paper's law, Eq. (18)")
        ax.plot(np.degrees(fine), eta * pol * np.cos(fine) ** 2, "-", color="C2", lw=1,
                label="eta P cos^2 theta: P-corrected law of this report (not the paper's)")
        ax.plot(np.degrees(theta), measured, "o", color="C0", ms=6, label="Kubo-Bastin")
        if p.regime == "strong_rashba":
            ax.text(0.5, 0.5, f"the law fails: measured |rho/rho_90 - 1| <= "
                    f"{np.max(np.abs(measured)):.1g}\nagainst eta P = {eta * pol:.3g}",
                    transform=ax.transAxes, ha="center", fontsize=8,
                    bbox=dict(fc="white", ec="0.7"))
        ax.set_xlabel("theta_EM, angle of in-plane M from E (deg)")
        ax.set_ylabel("rho_EE(theta) / rho_EE(90 deg) - 1 (1)")
        ax.set_title(f"{REGIME_NAMES[p.regime, p.filling]}: eta = {eta:.3g}, P = {pol:.3g}\n"
                     f"{_point_text(p)}", fontsize=8.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    figures.append((_save(fig, out, "amr_angular_law.png"),
                    "AMR angular law rho_EE(theta)/rho_EE(90 deg) - 1 (dimensionless) for "
                    "in-plane M at angle theta from E = x, at the four regime points.  "
                    "Markers: Kubo-Bastin; dashed: the paper's law 1 + eta cos^2 theta "
                    "(Eq. 18, eta = m alpha^2/(hbar^2 J)); solid: eta P cos^2 theta, the "
                    "two-band correction derived in this report (P the current polarization, "
                    "section 'How the paper's formulas are translated'), not a law of the "
                    "paper.  At weak Rashba coupling the cos^2 shape holds and eta P sets its "
                    "amplitude (with one band P ~ 1 and the two laws coincide); at strong "
                    "Rashba coupling (lower panels) both laws fail by many orders of "
                    "magnitude: the measured AMR is zero to the accuracy of the ratio."))

    # 5. Fermi-surface vs Fermi-sea parts at the regime points.
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.6), sharey=True, layout="constrained")
    names = [f"{p.regime.split('_')[0]}\n{p.filling.replace('majority_only', 'one band')}"
             .replace("both_bands", "both bands") for p in REGIME_POINTS]
    idx = np.arange(len(REGIME_POINTS))
    panels = (("t_FL (field-like torkance)", "field_like"),
              ("t_DL (damping-like torkance)", "damping_like"),
              ("sigma_xy (anomalous Hall conductivity)", None))
    for ax, (title, key) in zip(axes, panels):
        surface, sea = [], []
        for i, p in enumerate(REGIME_POINTS):
            r = responses[("z", i)][3]
            if key is None:
                part = {"total": r.conductivity.total[0, 1],
                        "fermi_surface": r.conductivity.fermi_surface[0, 1],
                        "fermi_sea": r.conductivity.fermi_sea[0, 1]}
            else:
                part = r.torque_coefficients(E_FIELD).parts[key]
            total = abs(part["total"]) or 1.0
            surface.append(part["fermi_surface"] / total)
            sea.append(part["fermi_sea"] / total)
        ax.bar(idx - 0.2, surface, 0.4, label="Fermi surface I(a) + I(b)")
        ax.bar(idx + 0.2, sea, 0.4, label="Fermi sea II")
        ax.set_xticks(idx, names, fontsize=8.5)
        ax.set_xlabel("Rashba coupling, filling")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("part / |total| (1)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8.5, frameon=False)
    fig.suptitle("Fermi-surface and Fermi-sea parts relative to |total| at the four regime "
                 "points (M = z, E = x)", fontsize=10)
    figures.append((_save(fig, out, "surface_vs_sea.png"),
                    "Fermi-surface (I(a) + I(b)) and Fermi-sea (II) parts of the field-like "
                    "torkance t_FL, the damping-like torkance t_DL and the anomalous Hall "
                    "conductivity sigma_xy (the off-diagonal conductivity, e^2/h), each "
                    "divided by the absolute value of its total, at the four regime points "
                    "(parameters in the table 'Regime points'; M = z, E = x).  The two bars "
                    "of a quantity add up to +1 or -1, the sign of the total."))

    # 6. Bare vs ladder-corrected torques (white-noise disorder).
    if vertex_responses is not None:
        from .vertex import figure, figure_caption
        figures.append((_save(figure(vertex_responses, out, plt), out,
                              "vertex_corrections.png"), figure_caption(vertex_responses)))
    return figures


def _rho(response):
    return float(np.linalg.inv(response.conductivity.total)[0, 0])


def _save(fig, out, name):
    if fig.get_layout_engine() is None:  # a figure may bring its own (constrained) layout
        fig.tight_layout()
    fig.savefig(Path(out) / name, dpi=110)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return name
