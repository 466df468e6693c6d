"""Command line of the validation protocol (also ``kubo-sot validate``)."""

import argparse
import time
from pathlib import Path

from .report import write_figures, write_report, write_results
from . import vertex
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
    write_results(records, out)
    figures = write_figures(cfg, responses, out, vc_responses)
    write_report(records, cfg, responses, out, quick, time.perf_counter() - start, figures,
                 vertex.section(vc_records, vc_responses))
    return records


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true", help="quick protocol (< 2 min)")
    parser.add_argument("--out", default="validation_report",
                        help="output folder (default %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers (default 1)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m validation",
                                     description="kubo_sot validation report")
    add_arguments(parser)
    args = parser.parse_args(argv)
    records = run_validation(args.quick, args.out, args.n_jobs)
    held = sum(r["holds"] for r in records)
    print(f"{held} of {len(records)} checks hold; report: {Path(args.out) / 'report.md'}")
    return 0
