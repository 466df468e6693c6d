"""Helpers of the command lines (``kubo-sot``, ``python -m validation``): an argument parser
whose subcommands report a mistyped option with their own usage and a suggestion, option
types that reject bad values before anything runs, and up-front checks that an output path
can be written."""

import argparse
import difflib
import os
import tempfile
from pathlib import Path

from .errors import ParameterError

#: difflib similarity above which a known option is suggested for a mistyped one
#: (--angel -> --angles scores 0.73, --fermi-enrgy -> --fermi-energy 0.96).
SUGGESTION_CUTOFF = 0.7


class ArgumentParser(argparse.ArgumentParser):
    """argparse.ArgumentParser that rejects unknown options itself, with its own usage and
    a "did you mean" from the options it knows (difflib).

    A plain subparser hands unknown options back to the top-level parser, whose error shows
    the top-level usage, which does not list the subcommand's options."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self.unknown_message(extras))
        return namespace, extras

    def unknown_message(self, extras):
        # Compared without the leading dashes, which every option shares.
        known = [s[2:] for s in self._option_string_actions if s.startswith("--")]
        parts = []
        for text in extras:
            option = text.split("=", 1)[0].lstrip("-")
            close = difflib.get_close_matches(option, known, n=1, cutoff=SUGGESTION_CUTOFF) \
                if text.startswith("-") else []
            parts.append(f"{text} (did you mean --{close[0]}?)" if close else text)
        return "unrecognized arguments: " + " ".join(parts)


N_JOBS_RULE = "the number of workers must be a positive integer or -1 (all cores)"


def n_jobs(text):
    """argparse type of --n-jobs: a positive integer or -1 (all cores)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not (value >= 1 or value == -1):
        raise argparse.ArgumentTypeError(f"{text!r}: {N_JOBS_RULE}")
    return value


def check_n_jobs(value, option="--n-jobs"):
    """Raise ParameterError unless ``value`` is a positive integer or -1."""
    if not (value >= 1 or value == -1):
        raise ParameterError(f"{option} {value}: {N_JOBS_RULE}")


def check_input_file(path, name):
    """Raise ParameterError unless ``path`` is an existing file (not a folder)."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"{name} {path} does not exist")
    if not p.is_file():
        raise ParameterError(f"{name} {path} is not a file")


def _probe(folder, option, path):
    """Create and remove a file in ``folder``: the only check that holds for every file
    system and user (os.access says yes to root on a read-only mount)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".kubo_sot_probe_"):
            pass
    except OSError as err:
        raise ParameterError(f"{option} {path}: folder {folder} cannot be written "
                             f"({err.strerror})") from None


def check_output_file(path, option="--out"):
    """Raise ParameterError unless ``path`` can be written as a file: its folder exists and
    accepts a new file, and the path is not a folder.  Called before any computation."""
    p = Path(path)
    folder = p.parent
    if p.is_dir():
        raise ParameterError(f"{option} {path} is a folder: give a file name")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ParameterError(f"{option} {path}: folder {folder} {what}")
    if p.exists() and not os.access(p, os.W_OK):
        raise ParameterError(f"{option} {path} exists and cannot be overwritten")
    _probe(folder, option, path)


def check_output_folder(path, option="--out"):
    """Raise ParameterError unless ``path`` is, or can be created as, a writable folder
    (missing parents are created, as ``mkdir -p`` does)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{option} {path} is a file, not a folder")
    existing = p
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ParameterError(f"{option} {path}: {existing} is a file, not a folder")
    _probe(existing, option, path)
