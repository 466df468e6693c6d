"""Sphinx directive ``example-output``: run commands during the build and show their output.

The tutorial pages include the scripts of ``examples/`` with ``literalinclude`` and show
what they print with this directive, so that the documentation always shows what the code
of the same tree prints: a script that fails, or prints to stderr with a non-zero exit
status, fails the build.

Usage (MyST)::

    ```{example-output}
    :workdir: sweep
    :images: amr_rho_ee.png
    kubo-sot sweep examples/sweep_amr.toml --out amr.nc
    kubo-sot plot amr.nc --y rho_ee
    ```

Every line of the content is one command, run in order without a shell in the folder
``docs/_build/examples/<workdir>`` (default: the page's name), with this tree's package
first on ``PYTHONPATH``.  A leading ``python`` is this interpreter, a leading ``kubo-sot``
is ``python -m kubo_sot.cli``, and arguments that start with ``examples/`` or ``docs/``
are paths in the repository.  The page shows each command (``$ ...``) and its standard
output; ``:clean:`` empties the folder first; ``:images:`` lists PNG files that the
commands write into the folder, shown below the output (the build fails if one is missing).
"""

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
WORK = DOCS / "_build" / "examples"
# Generous: the slowest page (the CLI sweep) takes well under a minute on one core.
TIMEOUT_S = 600


def _argv(command):
    words = shlex.split(command)
    if words[0] == "python":
        words = [sys.executable] + words[1:]
    elif words[0] == "kubo-sot":
        words = [sys.executable, "-m", "kubo_sot.cli"] + words[1:]
    return [str(ROOT / w) if w.startswith(("examples/", "docs/")) else w for w in words]


def _environment():
    env = dict(os.environ)
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + inherited)
    env["MPLBACKEND"] = "Agg"
    # tqdm progress bars go to stderr, which is not shown; keep them short anyway.
    env.setdefault("TQDM_MININTERVAL", "5")
    return env


class ExampleOutput(Directive):
    has_content = True
    option_spec = {"workdir": directives.unchanged, "images": directives.unchanged,
                   "clean": directives.flag}

    def run(self):
        env = self.state.document.settings.env
        workdir = WORK / self.options.get("workdir", env.docname.replace("/", "_"))
        if "clean" in self.options and workdir.exists():
            shutil.rmtree(workdir)  # a rebuilt page starts from scratch (e.g. no old store)
        workdir.mkdir(parents=True, exist_ok=True)
        commands = [line for line in self.content if line.strip()]
        if not commands:
            raise self.error("example-output needs at least one command")
        shown = []
        for command in commands:
            argv = _argv(command)
            for word in argv:
                if word.startswith(str(ROOT)) and Path(word).is_file():
                    env.note_dependency(word)
            start = time.perf_counter()
            try:
                done = subprocess.run(argv, cwd=workdir, env=_environment(),
                                      capture_output=True, text=True, timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise self.error(f"{command!r} took longer than {TIMEOUT_S} s") from None
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise self.error(f"{command!r} exited with status {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
            logger.info(f"example-output: {command!r} ran in {elapsed:.1f} s")
            shown.append(f"$ {command}\n{done.stdout.rstrip()}")
        text = "\n\n".join(shown)
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        result = [block]
        for name in (self.options.get("images") or "").split():
            path = workdir / name
            if not path.is_file():
                raise self.error(f"the commands did not write {name} in {workdir}")
            # Image URIs starting with "/" are relative to the source folder.
            result.append(nodes.image(uri="/" + path.relative_to(DOCS).as_posix(),
                                      alt=name, width="70%"))
        return result


def setup(app):
    app.add_directive("example-output", ExampleOutput)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
