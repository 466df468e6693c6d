"""Validation protocol: the seed paper's spin-force results and closed forms of the
literature against the Kubo-Bastin engine, written as a report (report.md, results.json,
figures).  Run ``python -m validation [--quick] [--out DIR]`` or ``kubo-sot validate``."""
