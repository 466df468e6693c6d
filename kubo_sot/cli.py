"""Command line: ``kubo-sot response``, ``amr``, ``sweep``, ``plot``, ``validate``, ``bench``.

Every option has a unit in its help text.  A mistake never ends in a traceback: parameter
errors (the parameter, its value, unit and allowed range), a mistyped option (the
subcommand's usage and a "did you mean"), a missing or unreadable input file and an output
path that cannot be written are reported in one line on stderr with exit status 2, before
anything is computed; a kubo_sot error met during the computation (a ConvergenceError) is
reported the same way.
"""

import argparse
import json
import sys

import numpy as np

from . import __version__
from ._cliutil import (ArgumentParser, check_input_file, check_n_jobs, check_output_file,
                       n_jobs)
from .errors import ConvergenceError, ParameterError
from .models import RashbaFerromagnet
from .observables.amr import anisotropic_magnetoresistance
from .models.disorder import WhiteNoiseDisorder
from .observables.response import linear_response

# The built-in default point: moderate Rashba and exchange, both bands occupied.
DEFAULTS = dict(alpha=0.1, exchange=0.1, magnetization="0,0,1", mass=1.0,
                fermi_energy=0.3, broadening=0.01, temperature=0.0, rtol=1e-6)


def _floats(text, name, count=None):
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ParameterError(f"--{name} = {text!r} must be comma-separated numbers") from None
    if count is not None and len(values) != count:
        raise ParameterError(f"--{name} = {text!r} must have {count} components")
    return values


def _model_arguments(p, magnetization=True):
    # None: not given (filled in from DEFAULTS by _model, which needs to know whether an
    # option was given at all: --model-config rules them out).
    p.add_argument("--alpha", type=float, default=None,
                   help=f"Rashba parameter alpha in eV nm (default {DEFAULTS['alpha']})")
    p.add_argument("--exchange", type=float, default=None,
                   help=f"exchange energy J in eV (default {DEFAULTS['exchange']})")
    if magnetization:
        p.add_argument("--magnetization", default=None,
                       help="unit vector M as mx,my,mz (default: the magnetization of "
                            f"--model-config's [model], else {DEFAULTS['magnetization']})")
    else:  # accepted only to explain why it does not apply
        p.add_argument("--magnetization", default=None,
                       help="not accepted: amr rotates M in the plane itself, at the "
                            "angles theta from E (an error if given)")
    p.add_argument("--mass", type=float, default=None,
                   help=f"effective mass in m_e (default {DEFAULTS['mass']})")
    p.add_argument("--model-config", default=None, metavar="FILE.toml",
                   help="take the model from the [model] table of a TOML file, as a sweep "
                        "does (e.g. a tight-binding model: factory = 'package.module:"
                        "function', or hr_file = a Wannier90 _hr.dat with spin_operators, "
                        "lattice_vectors in nm, exchange J in eV, file_magnetization; "
                        "schema: kubo_sot.sweep.config); not with --alpha, --exchange, "
                        "--mass")
    p.add_argument("--fermi-energy", type=float, default=DEFAULTS["fermi_energy"],
                   help="chemical potential in eV (default %(default)s)")
    p.add_argument("--broadening", type=float, default=DEFAULTS["broadening"],
                   help="Gamma = hbar/2tau in eV (default %(default)s); with --white-noise "
                        "the Born width of the parabolic band, n_i V^2 = 4 (hbar^2/2m) Gamma")
    p.add_argument("--white-noise", action="store_true",
                   help="white-noise disorder in the self-consistent Born approximation "
                        "instead of a constant Gamma (T = 0)")
    p.add_argument("--vertex-corrections", action="store_true",
                   help="with --white-noise: ladder vertex corrections (bare values shown "
                        "alongside)")
    p.add_argument("--temperature", type=float, default=DEFAULTS["temperature"],
                   help="temperature in K (default %(default)s)")
    p.add_argument("--rtol", type=float, default=DEFAULTS["rtol"],
                   help="accuracy relative to each tensor's largest element "
                        "(default %(default)s)")
    p.add_argument("--n-jobs", type=n_jobs, default=1,
                   help="joblib workers, a positive integer or -1 for all cores (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _parser():
    parser = ArgumentParser(
        prog="kubo-sot", description="Kubo-Bastin spin-orbit torques, spin density, "
        "conductivity and AMR of the 2D Rashba ferromagnet (Ho et al., Eq. 1) and of "
        "tight-binding models (response --model-config, sweep).")
    parser.add_argument("--version", action="version", version=f"kubo_sot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    p = sub.add_parser("response", help="linear response at one parameter point")
    _model_arguments(p)
    p.add_argument("--route", default="eigenbasis", choices=["eigenbasis", "green"],
                   help="closed-form eigenbasis route or explicit-Green check route")
    p.add_argument("--field-direction", default="1,0",
                   help="in-plane unit vector E as ex,ey for the FL/DL torques, norm 1 "
                        "within 1e-9 (not normalized for you; default %(default)s)")
    p = sub.add_parser("validate", help="validation report: the seed paper's formulas and "
                       "closed forms of the literature against the engine")
    from validation.cli import add_arguments
    add_arguments(p)
    p = sub.add_parser("sweep", help="parameter sweep from a TOML file, to netCDF")
    p.add_argument("config", help="TOML configuration (schema: kubo_sot.sweep.config)")
    p.add_argument("--out", default="results.nc", help="netCDF output (default %(default)s)")
    p.add_argument("--backend", default="serial", choices=["serial", "joblib", "dask"],
                   help="serial: one process; joblib: --n-jobs local worker processes; "
                        "dask: the Dask scheduler at --scheduler (default %(default)s)")
    p.add_argument("--n-jobs", type=int, default=2, help="joblib workers (default 2)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (backend dask)")
    p.add_argument("--store", default=None,
                   help="checkpoint directory (default: OUT.store next to the output)")
    p.add_argument("--resume", action="store_true",
                   help="continue a sweep whose checkpoint directory already holds points")
    from .sweep.cluster import add_arguments as add_cluster_arguments
    add_cluster_arguments(p)
    p = sub.add_parser("bench", help="benchmarks (same as python -m benchmarks)")
    p.add_argument("--quick", action="store_true",
                   help="time each point once instead of 3 times, with 8 random points instead "
                        "of 32 and 4 vertex-corrected points instead of 8; the other "
                        "measurements are unchanged")
    p.add_argument("--out", default="benchmarks.json")
    p = sub.add_parser("plot", help="PNG plot of a sweep result")
    p.add_argument("results", help="netCDF file written by kubo-sot sweep")
    p.add_argument("--y", default="rho_ee",
                   help="variable, with components for tensors, e.g. conductivity_total:x,y "
                        "(sigma_xy, with --x magnetization_azimuth_deg on the output of "
                        "examples/sweep_amr.toml) (default %(default)s)")
    p.add_argument("--x", default=None, help="swept parameter on the horizontal axis")
    p.add_argument("--relative-to", default=None,
                   help="NAME=VALUE: plot y / y(NAME=VALUE) - 1, e.g. "
                        "magnetization_azimuth_deg=90 for the AMR angular law")
    p.add_argument("--out", default=None, help="PNG file (default RESULTS_Y.png)")
    p = sub.add_parser("amr", help="rho_EE(theta) for in-plane M and the AMR ratio")
    _model_arguments(p, magnetization=False)
    p.add_argument("--angles", type=_angle_count, default=13,
                   help="number N of equally spaced angles theta in [0, pi], exactly the "
                        "ones computed: odd and >= 3, so that theta = 0 and pi/2, which the "
                        "AMR ratio needs, are among them (default %(default)s)")
    p.add_argument("--field-direction", default="1,0",
                   help="in-plane unit vector E as ex,ey, norm 1 within 1e-9 "
                        "(default %(default)s)")
    return parser


def _angle_count(text):
    """argparse type of amr --angles: an odd integer >= 3 (the grid holds 0 and pi/2)."""
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < 3 or n % 2 == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give an odd number >= 3 of angles in [0, pi], so that theta = 0 and "
            "pi/2 (needed by the AMR ratio) are on the grid and no angle is added")
    return n


def amr_angles(count):
    """``count`` (odd, >= 3) equally spaced angles in [0, pi] (rad), with the middle one
    exactly pi/2 so that the AMR ratio adds no angle of its own."""
    theta = np.linspace(0.0, np.pi, count)
    theta[count // 2] = 0.5 * np.pi
    return theta


def _model(args):
    if args.command == "amr" and args.magnetization is not None:
        raise ParameterError(
            f"--magnetization {args.magnetization}: amr rotates M in the plane itself "
            "(M at angle theta from E, theta set by --angles); leave --magnetization out")
    if getattr(args, "model_config", None) is not None:
        return _configured_model(args)
    for name in ("alpha", "exchange", "mass"):
        if getattr(args, name) is None:
            setattr(args, name, DEFAULTS[name])
    if args.command == "amr":
        magnetization = (1.0, 0.0, 0.0)  # replaced by the in-plane directions
    else:
        magnetization = _floats(args.magnetization or DEFAULTS["magnetization"],
                                "magnetization", 3)
    return RashbaFerromagnet(alpha=args.alpha, exchange=args.exchange, mass=args.mass,
                             magnetization=magnetization)


def _configured_model(args):
    """The model of ``--model-config``'s [model] table, checked and built as a sweep's
    point is (:func:`kubo_sot.sweep.grid.point_spec`, :func:`kubo_sot.sweep.evaluate.
    build_model`: a tight-binding model's files are hashed and read once); --magnetization
    replaces the table's magnetization."""
    from .sweep.config import load_model_section
    from .sweep.evaluate import build_model
    from .sweep.grid import point_spec
    check_input_file(args.model_config, "--model-config")
    given = [f"--{name}" for name in ("alpha", "exchange", "mass")
             if getattr(args, name) is not None]
    if given:
        raise ParameterError(f"{', '.join(given)} with --model-config {args.model_config}: "
                             "the model comes from the file's [model] table; set its "
                             "parameters there")
    settings = load_model_section(args.model_config)
    if args.command == "amr":  # M is set in the plane by the AMR angles
        settings["magnetization"] = (1.0, 0.0, 0.0)
    elif args.magnetization is not None:
        settings["magnetization"] = _floats(args.magnetization, "magnetization", 3)
    settings.setdefault("magnetization", _floats(DEFAULTS["magnetization"], "magnetization"))
    spec = point_spec({**settings, "fermi_energy": args.fermi_energy,
                       "broadening": args.broadening, "temperature": args.temperature,
                       "rtol": args.rtol,
                       "disorder": "white_noise" if args.white_noise else "constant_gamma",
                       "vertex_corrections": args.vertex_corrections}, {})
    args.mass = spec.get("mass", DEFAULTS["mass"])  # the Born width of --white-noise
    return build_model(spec)


def _format_matrix(rows, width=13):
    return "\n".join("    [" + " ".join(f"{x:{width}.6e}" for x in row) + " ]" for row in rows)


def _response_table(r, tc, note=""):
    out = []
    p = r.provenance
    out.append(f"kubo_sot {p['version']}  Kubo-Bastin linear response ({p['route']} route)")
    model = p["model"]
    tight_binding = model.get("model") == "TightBindingModel"
    if tight_binding:
        out.append(f"  model: TightBindingModel, {model['n_bands']} bands, a1, a2 = "
                   f"{model['lattice_vectors_nm']} nm, M = {tuple(model['magnetization'])}, "
                   f"fingerprint {model['fingerprint'][:12]}")
    else:
        out.append(f"  model: alpha = {model['alpha']} eV nm, J = {model['exchange']} eV, "
                   f"M = {tuple(model['magnetization'])}, m = {model['mass']} m_e")
    if "disorder" in p:
        sigma = p["self_energy"]["sigma_components_eV"]
        disorder = (f"white noise n_i V^2 = {p['disorder']['strength_eV2_nm2']:.6g} eV^2 nm^2 "
                    f"(Born width {p['disorder']['born_broadening_eV']:.6g} eV), "
                    "Sigma = " + " + ".join(f"({re:.4g}{im:+.4g}i) s_{a}" for (re, im), a
                                            in zip(sigma, "0xyz"))
                    + f" eV, vertex corrections: {p['vertex_corrections']}")
    else:
        disorder = f"Gamma = {p['broadening_eV']} eV"
    out.append(f"  mu = {p['fermi_energy_eV']} eV, {disorder}, "
               f"T = {p['temperature_K']} K, rtol = {p['rtol']:g}, k-points = {p['n_kpoints']}")
    b = r.bands
    if tight_binding:
        out.append(f"  bands: electron density {sum(b.occupations):.6g} 1/nm^2 (per band "
                   + ", ".join(f"{n:.4g}" for n in b.occupations) + ")")
    else:
        out.append(f"  bands: k_F = {b.fermi_wavevectors[0]:.6g}, "
                   f"{b.fermi_wavevectors[1]:.6g} 1/nm; n_-, n_+ = {b.occupations[0]:.6g}, "
                   f"{b.occupations[1]:.6g} 1/nm^2; alpha k_F / J = "
                   f"{b.rashba_to_exchange:.6g}")
    for t in (r.conductivity, r.spin_density, r.torkance):
        out.append(f"\n{t.name} [{t.unit}]  (rows: response, columns: E_x, E_y)")
        for part in ("total", "fermi_surface", "fermi_sea", "error"):
            out.append(f"  {part}:")
            out.append(_format_matrix(getattr(t, part)))
    if tc is None:
        out.append(f"\ntorque coefficients: {note}")
        return "\n".join(out)
    out.append(f"\ntorque coefficients [e/nm] for E along {tc.field_direction}:")
    for key in ("field_like", "damping_like"):
        q = tc.parts[key]
        out.append(f"  {key:13s} total {q['total']: .6e}  surface {q['fermi_surface']: .6e}"
                   f"  sea {q['fermi_sea']: .6e}  error {q['error']:.1e}")
    if r.bare is not None:
        bare = r.bare.torque_coefficients(tc.field_direction)
        out.append(f"  without vertex corrections: field_like {bare.field_like: .6e}  "
                   f"damping_like {bare.damping_like: .6e}; sigma_xx "
                   f"{r.bare.conductivity.total[0, 0]:.6e} e^2/h")
    return "\n".join(out)


def main(argv=None):
    """Run ``kubo-sot``; returns the exit status (0, or 2 after a one-line message)."""
    args = _parser().parse_args(argv)
    try:
        return _run(args, argv)
    except (ParameterError, ConvergenceError, ImportError, FileExistsError) as err:
        kind = "" if isinstance(err, ParameterError) else f"{type(err).__name__}: "
        print(f"kubo-sot: error: {kind}{' '.join(str(err).split())}", file=sys.stderr)
        return 2


def _run(args, argv):
    if args.command == "validate":
        from validation.cli import main as validate
        return validate([a for a in (argv if argv is not None else sys.argv[1:])
                         if a != "validate"])
    if args.command == "bench":
        check_output_file(args.out)
        from benchmarks.__main__ import main as bench
        return bench((["--quick"] if args.quick else []) + ["--out", args.out]) or 0
    if args.command == "sweep":
        check_input_file(args.config, "config")
        check_n_jobs(args.n_jobs)
        check_output_file(args.out)
        return _sweep(args)
    if args.command == "plot":
        return _plot(args)
    model = _model(args)
    field = _field_direction(args.field_direction)
    broadening = args.broadening
    if args.white_noise:
        broadening = WhiteNoiseDisorder.from_born_broadening(args.broadening, args.mass)
    if args.command == "response":
        r = linear_response(model, args.fermi_energy, broadening, args.temperature,
                            args.rtol, route=args.route, n_jobs=args.n_jobs,
                            vertex_corrections=args.vertex_corrections)
        tc, note = None, ""
        try:
            tc = r.torque_coefficients(field)
        except ParameterError as err:  # M parallel to z x E (E was checked): FL/DL undefined
            note = str(err)
        if args.json:
            data = r.to_dict()
            data["torque_coefficients"] = tc.to_dict() if tc else {"undefined": note}
            print(json.dumps(data, indent=1))
        else:
            print(_response_table(r, tc, note))
    else:
        a = anisotropic_magnetoresistance(model, args.fermi_energy, broadening,
                                          amr_angles(args.angles), field, args.temperature,
                                          args.rtol, args.n_jobs, args.vertex_corrections)
        if args.json:
            print(json.dumps(a.to_dict(), indent=1))
        else:
            print("theta [rad]   rho_EE [h/e^2]     error        rho/rho(pi/2)")
            for t, v, e, law in zip(a.angles, a.rho_ee, a.rho_ee_error, a.angular_law):
                print(f"{t:10.6f}  {v:14.8e}  {e:10.2e}  {law:14.10f}")
            print(f"AMR ratio = {a.ratio:.8e} +/- {a.ratio_error:.1e}")
    return 0


def _field_direction(text):
    """--field-direction checked before anything is computed: an in-plane unit vector
    (norm 1 within 1e-9; not normalized, as M is not: a wrong norm is a typo to report)."""
    from .observables.torque import field_direction_vector
    value = _floats(text, "field-direction", 2)
    try:
        field_direction_vector(value)
    except ParameterError as err:
        raise ParameterError(f"--field-direction {text}: {err}") from None
    return value


def _sweep(args):
    """``kubo-sot sweep``: a Ctrl-C prints how many points are safe in the store and exits
    with 130 (128 + SIGINT), so that a batch script sees the interruption; warnings of the
    store (bad files moved aside, points of another configuration) are one line each."""
    import warnings
    from pathlib import Path

    from .errors import StoreWarning
    from .sweep import sweep
    from .sweep.config import load_config
    base, grid, quantities = load_config(args.config)
    store = Path(args.store or f"{args.out}.store")
    if store.is_dir() and any(store.glob("*.json")) and not args.resume:
        raise FileExistsError(f"checkpoint directory {store} already holds points: rerun "
                              "with --resume to continue it, or remove it")
    from .sweep.cluster import settings_from_args, sweep_on_cluster
    from .sweep.config import load_cluster_section
    cluster = settings_from_args(args, load_cluster_section(args.config))

    def show(message, category, *rest, **kwargs):
        print(f"kubo-sot: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", StoreWarning)
            warnings.showwarning = show
            if cluster is not None:  # SLURM/PBS workers (docs/cluster.md)
                ds = sweep_on_cluster(base, grid, settings=cluster, quantities=quantities,
                                      store=store, progress=True)
            else:
                ds = sweep(base, grid, quantities=quantities, backend=args.backend,
                           n_jobs=args.n_jobs, scheduler=args.scheduler, store=store,
                           progress=True)
    except KeyboardInterrupt:  # finished points are in the store (a cluster is closed)
        print(f"{_points_stored(base, grid, store)} points stored in {store}; rerun the "
              "same command with --resume", file=sys.stderr)
        return 130
    ds.to_netcdf(args.out)
    print(f"{ds.attrs['points_computed']} points computed, {ds.attrs['points_reused']} "
          f"reused from {store}; wrote {args.out}")
    return 0


def _points_stored(base, grid, store):
    """How many points of this sweep have a file in the store (after an interrupt)."""
    from .sweep.grid import expand
    from .sweep.store import point_key
    keys = {point_key(spec) for spec in expand(base, grid)[1]}
    return len(keys & {f.stem for f in store.glob("*.json")})


def _plot(args):
    import xarray as xr

    from .sweep.plot import plot_dataset
    from pathlib import Path
    results = Path(args.results)
    if not results.is_file():
        what = "is a folder" if results.is_dir() else "does not exist"
        raise ParameterError(f"results {args.results} {what}: give the netCDF file written "
                             "by kubo-sot sweep")
    out = args.out or f"{results.with_suffix('')}_{args.y.split(':')[0]}.png"
    check_output_file(out)
    try:
        ds = xr.open_dataset(results)
        ds.load()
    except (OSError, ValueError) as err:  # not netCDF, truncated, or no netCDF backend
        reason = f": {err.strerror}" if isinstance(err, OSError) and err.strerror else ""
        raise ParameterError(f"results {args.results} cannot be read as netCDF (the file "
                             f"written by kubo-sot sweep){reason}") from None
    with ds:
        plot_dataset(ds, args.y, args.x, out, args.relative_to)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
