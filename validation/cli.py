"""Command line of the validation protocol (also ``kubo-sot validate``)."""

import sys
import time
from pathlib import Path

from kubo_sot._cliutil import ArgumentParser, check_output_folder, n_jobs
from kubo_sot.errors import ConvergenceError, ParameterError

from .report import headline, write_figures, write_report, write_results
from . import lattice, vertex
from .run import build_records, compute_responses


def run_validation(quick=True, out="validation_report", n_jobs=1):
    """Run the protocol and write report.md, results.json and the figures to ``out``.

    Returns the list of records.
    """
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg, responses = compute_responses(quick, n_jobs)
    records = build_records(cfg, responses)
    vc_rtol, vc_responses = vertex.compute(quick, n_jobs)
    vc_records = vertex.build_records(vc_rtol, vc_responses)
    records += vc_records
    lattice_cfg, lattice_data, lattice_seconds = lattice.compute(quick, n_jobs)
    records += lattice.build_records(lattice_cfg, lattice_data)
    write_results(records, out)
    figures = write_figures(cfg, responses, out, vc_responses)
    write_report(records, cfg, responses, out, quick, time.perf_counter() - start, figures,
                 vertex.section(vc_records, vc_responses),
                 lattice.section(records, lattice_cfg, lattice_seconds))
    return records


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true", help="quick protocol (< 1 min)")
    parser.add_argument("--out", default="validation_report",
                        help="output folder (default %(default)s)")
    parser.add_argument("--n-jobs", type=n_jobs, default=1,
                        help="joblib workers, a positive integer or -1 (default 1)")


def main(argv=None):
    parser = ArgumentParser(prog="python -m validation",
                            description="kubo_sot validation report")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        check_output_folder(args.out)
        records = run_validation(args.quick, args.out, args.n_jobs)
    except (ParameterError, ConvergenceError) as err:
        kind = "" if isinstance(err, ParameterError) else f"{type(err).__name__}: "
        print(f"{parser.prog}: error: {kind}{' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(headline(records) + f"; report: {Path(args.out) / 'report.md'}")
    return 0
