"""Wannier90 tight-binding files: ``seedname_hr.dat`` (read and write), the lattice from
``seedname_tb.dat`` or ``seedname.win``, the Wannier centres from ``seedname_centres.xyz``.

``seedname_hr.dat`` (Wannier90 user guide, section "seedname_hr.dat"): a header line; num_wann;
nrpts; the nrpts degeneracies ndegen(R), 15 per line; then nrpts num_wann^2 lines
``R1 R2 R3 m n Re(H_mn(R)) Im(H_mn(R))`` with m running fastest, 1-based, H_mn(R) =
<0 m|H|R n> in eV.  The Bloch Hamiltonian is H(k) = sum_R H(R) exp(i k.R) / ndegen(R), so
the reader returns h(R) = H(R) / ndegen(R).  Lengths in the files are in Angstrom (or Bohr
where a ``.win`` says so); the package works in nm.

The package is two-dimensional: R3 != 0, or a lattice whose a1, a2 are not in the xy plane
or whose a3 is not along z, is an error.
"""

import re
from pathlib import Path

import numpy as np
import scipy.constants

from .. import _checks
from ..errors import ParameterError

ANGSTROM_NM = scipy.constants.angstrom / scipy.constants.nano
BOHR_NM = scipy.constants.physical_constants["Bohr radius"][0] / scipy.constants.nano
DEGENERACIES_PER_LINE = 15
# a1, a2 in the xy plane and a3 along z to this fraction of the longest lattice vector.
PLANARITY_RTOL = 1e-6
# Hermiticity of the file: h(-R) = h(R)^dagger to this fraction of max |h| plus one unit of
# the last printed digit (Wannier90 prints F12.6, so h(R) and h(-R) may differ by 1e-6 eV
# where a value sits at a rounding boundary); within that the reader symmetrizes, so that
# the model is Hermitian to rounding (TightBindingModel checks 1e-10 relative).
HERMITICITY_RTOL = 1e-10


def _fail(path, line, message):
    where = f"{path}, line {line}" if line is not None else f"{path}"
    raise ParameterError(f"hr_file {where}: {message}")


def _read_lines(path, name):
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{name} = '{path}': no such file")
    return path, path.read_text().splitlines()


def _positive_int(path, lines, index, what):
    if index >= len(lines):
        _fail(path, index + 1, f"the file ends before the {what} line")
    parts = lines[index].split()
    if len(parts) != 1 or not re.fullmatch(r"[+]?\d+", parts[0]) or int(parts[0]) < 1:
        _fail(path, index + 1, f"{what} = {lines[index].strip()!r} must be one positive "
                               "integer")
    return int(parts[0])


def _r(vector):
    """A lattice vector as a tuple of Python ints (for keys and messages)."""
    return tuple(int(x) for x in vector)


def _last_digit(tokens):
    """One unit of the last printed digit of the finest-printed number among ``tokens``.

    Rounded values are printed with the full format width (Wannier90: F12.6 -> 1e-6); a
    short token such as "1.0" or "0" is an exact value, so the finest digit is the file's
    precision."""
    unit = np.inf
    for token in tokens:
        mantissa, _, exponent = token.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        unit = min(unit, 10.0 ** (int(exponent or 0) - decimals))
    return 0.0 if not np.isfinite(unit) else unit


def _matrix_lines(path, first, body):
    """The matrix lines as an (n, 7) float array; a line without 7 numbers is an error
    naming its line number (numpy's C parser first, then line by line to find the culprit)."""
    try:
        data = np.loadtxt(body, dtype=float, ndmin=2, comments=None)
        if data.shape == (len(body), 7):
            return data
    except ValueError:
        pass
    for i, line in enumerate(body):
        row = line.split()
        if len(row) != 7:
            _fail(path, first + i + 1, f"{len(row)} columns, expected 7 (R1 R2 R3 m n Re Im)")
        try:
            [float(x) for x in row]
        except ValueError:
            _fail(path, first + i + 1, f"bad number in {' '.join(row)!r}")
    raise AssertionError("unreachable: numpy rejected lines that parse one by one")


def read_hr(path):
    """Read a Wannier90 ``seedname_hr.dat``.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    num_wann : int
    R : (nrpts, 3) int array
        Lattice vectors in units of a1, a2, a3 (in the order of the file).
    degeneracies : (nrpts,) int array
        ndegen(R).
    h : (nrpts, num_wann, num_wann) complex array
        h(R) = H(R) / ndegen(R) in eV, h[r, m, n] = <0 m|H|R n> / ndegen.

    Raises
    ------
    ParameterError
        Naming the file and the line number: a missing file, counts that are not positive
        integers, a wrong number of degeneracies per line or of matrix lines, a line without
        seven columns or with bad numbers, indices out of range, duplicate entries, R3 != 0
        (the package is 2D) and a non-Hermitian H (h(-R) != h(R)^dagger).
    """
    path, lines = _read_lines(path, "hr_file")
    num_wann = _positive_int(path, lines, 1, "num_wann")
    nrpts = _positive_int(path, lines, 2, "nrpts")
    n_deg_lines = -(-nrpts // DEGENERACIES_PER_LINE)
    degeneracies = []
    for i in range(3, 3 + n_deg_lines):
        if i >= len(lines):
            _fail(path, i + 1, f"the file ends inside the degeneracies ({nrpts} expected, "
                               f"{DEGENERACIES_PER_LINE} per line)")
        parts = lines[i].split()
        want = min(DEGENERACIES_PER_LINE, nrpts - len(degeneracies))
        if len(parts) != want:
            _fail(path, i + 1, f"{len(parts)} degeneracies on this line, expected {want} "
                               f"(nrpts = {nrpts}, {DEGENERACIES_PER_LINE} per line)")
        for p in parts:
            if not re.fullmatch(r"[+]?\d+", p) or int(p) < 1:
                _fail(path, i + 1, f"degeneracy {p!r} must be a positive integer")
        degeneracies += [int(p) for p in parts]
    degeneracies = np.array(degeneracies, dtype=int)

    first = 3 + n_deg_lines
    body = lines[first:]
    while body and not body[-1].strip():
        body.pop()
    expected = nrpts * num_wann * num_wann
    if len(body) != expected:
        _fail(path, first + min(len(body), expected) + 1,
              f"{len(body)} matrix lines after the degeneracies, expected nrpts x num_wann^2 "
              f"= {nrpts} x {num_wann}^2 = {expected}")
    data = _matrix_lines(path, first, body)
    ints = data[:, :5]
    bad = np.nonzero(~np.isfinite(data).all(axis=1) | (ints != np.round(ints)).any(axis=1))[0]
    if bad.size:
        _fail(path, first + bad[0] + 1, f"bad numbers in {body[bad[0]].strip()!r}: R1 R2 R3 m n "
                                        "must be integers, Re Im finite")
    ints = ints.astype(int)
    bad = np.nonzero(((ints[:, 3:5] < 1) | (ints[:, 3:5] > num_wann)).any(axis=1))[0]
    if bad.size:
        _fail(path, first + bad[0] + 1, f"orbital index in {body[bad[0]].strip()!r} outside "
                                        f"1..num_wann = 1..{num_wann}")

    # Blocks of num_wann^2 lines share one R, each (m, n) once, each R once.
    block = num_wann * num_wann
    r_vectors = ints[::block, :3]
    same_r = (ints[:, :3].reshape(nrpts, block, 3) == r_vectors[:, None, :]).all(axis=2)
    if not same_r.all():
        r, j = np.argwhere(~same_r)[0]
        line = first + r * block + j + 1
        _fail(path, line, f"R = {_r(ints[r * block + j, :3])} inside the block of "
                          f"R = {_r(r_vectors[r])} (lines {first + r * block + 1}-"
                          f"{first + (r + 1) * block}): each R has num_wann^2 = {block} "
                          "consecutive lines")
    flat = (ints[:, 3] - 1) + num_wann * (ints[:, 4] - 1)
    seen = {}
    for r in range(nrpts):
        key = _r(r_vectors[r])
        if key in seen:
            _fail(path, first + r * block + 1,
                  f"duplicate entries: R = {key} appears again (first block at line "
                  f"{first + seen[key] * block + 1})")
        seen[key] = r
        counts = np.bincount(flat[r * block:(r + 1) * block], minlength=block)
        if counts.max() > 1:
            mn = int(np.argmax(counts))
            lines_mn = first + r * block + 1 + np.nonzero(
                flat[r * block:(r + 1) * block] == mn)[0]
            _fail(path, int(lines_mn[1]),
                  f"duplicate entries: R = {key}, m = {mn % num_wann + 1}, "
                  f"n = {mn // num_wann + 1} also on line {int(lines_mn[0])}")
    nonplanar = np.nonzero(r_vectors[:, 2] != 0)[0]
    if nonplanar.size:
        r = nonplanar[0]
        _fail(path, first + r * block + 1,
              f"R = {_r(r_vectors[r])} has R3 = {int(r_vectors[r, 2])} != 0: kubo_sot models are "
              "two-dimensional (hoppings only within the plane of a1, a2; R3 must be 0)")

    h = np.zeros((nrpts, num_wann, num_wann), dtype=complex)
    r_index = np.repeat(np.arange(nrpts), block)
    h[r_index, ints[:, 3] - 1, ints[:, 4] - 1] = data[:, 5] + 1j * data[:, 6]
    h /= degeneracies[:, None, None]
    line_of = np.zeros((nrpts, num_wann, num_wann), dtype=int)
    line_of[r_index, ints[:, 3] - 1, ints[:, 4] - 1] = first + 1 + np.arange(len(body))
    _check_and_symmetrize(path, line_of, r_vectors, degeneracies, h,
                          _last_digit([t for line in body[:2000] for t in line.split()[5:7]]))
    return num_wann, r_vectors, degeneracies, h


def _check_and_symmetrize(path, line_of, r_vectors, degeneracies, h, digit):
    """h(-R) = h(R)^dagger within the file's precision; then made exact (the mean)."""
    index = {_r(r): i for i, r in enumerate(r_vectors)}
    scale = float(np.max(np.abs(h)))
    for key, r in index.items():
        partner = (-key[0], -key[1], -key[2])
        if partner not in index:
            _fail(path, int(line_of[r, 0, 0]),
                  f"R = {key} has no partner -R = {partner}: a Hermitian H needs both")
        p = index[partner]
        deviation = np.abs(h[p] - h[r].conj().T)
        tolerance = HERMITICITY_RTOL * scale + digit / min(degeneracies[r], degeneracies[p])
        if deviation.max() > tolerance:
            # deviation[a, b] = |h(-R)_ab - conj(h(R)_ba)|: name the entry of h(R).
            a, b = np.unravel_index(np.argmax(deviation), deviation.shape)
            line_r, line_p = int(line_of[r, b, a]), int(line_of[p, a, b])
            _fail(path, line_r,
                  f"H is not Hermitian: h(-R) != h(R)^dagger at R = {key}, m = {b + 1}, "
                  f"n = {a + 1} (line {line_r}) against -R, m = {a + 1}, n = {b + 1} "
                  f"(line {line_p}): |difference| = "
                  f"{deviation.max():.3e} eV, allowed {tolerance:.3e} eV "
                  f"({HERMITICITY_RTOL:g} x max|h| plus the printed precision)")
    for key, r in index.items():
        p = index[(-key[0], -key[1], -key[2])]
        if r < p:
            mean = 0.5 * (h[r] + h[p].conj().T)
            h[r], h[p] = mean, mean.conj().T
        elif r == p:
            h[r] = 0.5 * (h[r] + h[r].conj().T)


def write_hr(path, R, h, *, degeneracies=None, header=None):
    """Write a Wannier90 ``seedname_hr.dat``.

    Parameters
    ----------
    path : str or path-like
    R : (nrpts, 2) or (nrpts, 3) int array
        Lattice vectors in units of a1, a2 (R3 = 0 added when 2 columns).
    h : (nrpts, N, N) complex array
        h(R) in eV as in the Bloch sum H(k) = sum_R h(R) exp(i k.R), i.e. already divided by
        the degeneracies: the file gets ndegen(R) h(R).
    degeneracies : (nrpts,) int array, optional
        ndegen(R) (default all 1).
    header : str, optional
        The first line (default "written by kubo_sot").

    Notes
    -----
    The layout is Wannier90's (num_wann, nrpts, degeneracies 15 per line, then
    ``R1 R2 R3 m n Re Im`` with m fastest, 1-based); the numbers are printed with 17
    significant digits (Wannier90 itself prints F12.6), so that a round trip is exact.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from kubo_sot.models.wannier90 import write_hr, read_hr
    >>> f = os.path.join(tempfile.mkdtemp(), "x_hr.dat")
    >>> write_hr(f, [[0, 0], [1, 0], [-1, 0]], [[[0.0]], [[-1.0]], [[-1.0]]])
    >>> read_hr(f)[0]
    1
    """
    R = np.asarray(R, dtype=int)
    if R.ndim != 2 or R.shape[1] not in (2, 3):
        raise ParameterError(f"R has shape {R.shape}, must be (nrpts, 2) or (nrpts, 3)")
    if R.shape[1] == 2:
        R = np.concatenate([R, np.zeros((R.shape[0], 1), int)], axis=1)
    h = np.asarray(h, dtype=complex)
    if h.ndim != 3 or h.shape[0] != R.shape[0] or h.shape[1] != h.shape[2]:
        raise ParameterError(f"h has shape {h.shape}, must be (nrpts, N, N) = "
                             f"({R.shape[0]}, N, N)")
    nrpts, n = h.shape[:2]
    deg = np.ones(nrpts, int) if degeneracies is None else np.asarray(degeneracies, int)
    if deg.shape != (nrpts,) or np.any(deg < 1):
        raise ParameterError(f"degeneracies must be {nrpts} positive integers, got {deg!r}")
    out = [header if header is not None else "written by kubo_sot", f"{n:12d}", f"{nrpts:12d}"]
    for start in range(0, nrpts, DEGENERACIES_PER_LINE):
        out.append("".join(f"{d:5d}" for d in deg[start:start + DEGENERACIES_PER_LINE]))
    values = h * deg[:, None, None]
    # Rows (R1 R2 R3 m n Re Im) with m fastest: h[r, m, n] in the order r, n, m.
    m_index, n_index = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1))
    table = np.empty((nrpts, n * n, 7))
    table[:, :, :3] = R[:, None, :]
    table[:, :, 3] = m_index.reshape(-1)
    table[:, :, 4] = n_index.reshape(-1)
    flat = np.swapaxes(values, 1, 2).reshape(nrpts, n * n)
    table[:, :, 5], table[:, :, 6] = flat.real, flat.imag
    with open(path, "w") as stream:
        stream.write("\n".join(out) + "\n")
        np.savetxt(stream, table.reshape(-1, 7), fmt="%5d%5d%5d%5d%5d % .16e % .16e")


def write_model_hr(path, model, *, header=None):
    """Write a :class:`TightBindingModel` at its magnetization, H0(R) + M.X(R), as
    ``seedname_hr.dat`` (degeneracies 1); the file then holds H at ``model.magnetization``."""
    keys = sorted(set(model.hoppings) | set(model.exchange))
    n = model.n_bands
    h = np.zeros((len(keys), n, n), complex)
    for i, key in enumerate(keys):
        if key in model.hoppings:
            h[i] += model.hoppings[key]
        if key in model.exchange:
            h[i] += np.tensordot(model.magnetization, model.exchange[key], axes=1)
    write_hr(path, keys, h, header=header)


def _seed(hr_file):
    name = Path(hr_file).name
    if not name.endswith("_hr.dat"):
        return None
    return Path(hr_file).with_name(name[: -len("_hr.dat")])


def _lattice_files(seed):
    """The files read_lattice looks for, in its order: seedname_tb.dat, seedname.win."""
    return seed.with_name(seed.name + "_tb.dat"), seed.with_name(seed.name + ".win")


def _centres_file(seed):
    return seed.with_name(seed.name + "_centres.xyz")


def companion_files(hr_file):
    """(seedname, lattice file, centres file) of ``seedname_hr.dat``: the files that
    :func:`hr_file_fields` reads when lattice_vectors / orbital_positions are not given
    (each None where none exists; seedname None when the file is not named *_hr.dat)."""
    seed = _seed(hr_file)
    if seed is None:
        return None, None, None
    lattice = next((f for f in _lattice_files(seed) if f.is_file()), None)
    centres = _centres_file(seed)
    return seed, lattice, centres if centres.is_file() else None


def _planar(path, cell):
    """The (x, y) parts of a1, a2 (nm) after checking a1, a2 in the xy plane, a3 along z."""
    scale = float(np.max(np.linalg.norm(cell, axis=1)))
    tol = PLANARITY_RTOL * scale
    if abs(cell[0, 2]) > tol or abs(cell[1, 2]) > tol:
        raise ParameterError(
            f"lattice in {path}: a1 = {cell[0].tolist()}, a2 = {cell[1].tolist()} nm must lie "
            f"in the xy plane (|z| <= {tol:.1e} nm): kubo_sot models are two-dimensional")
    if abs(cell[2, 0]) > tol or abs(cell[2, 1]) > tol:
        raise ParameterError(
            f"lattice in {path}: a3 = {cell[2].tolist()} nm must be along z (|x|, |y| <= "
            f"{tol:.1e} nm): kubo_sot models are two-dimensional")
    return cell[:2, :2].copy()


def _three_vectors(path, lines, start, what):
    cell = []
    for i in range(start, start + 3):
        parts = lines[i].split() if i < len(lines) else []
        try:
            vector = [float(x) for x in parts[:3]]
        except ValueError:
            vector = []
        if len(vector) != 3 or not np.all(np.isfinite(vector)):
            got = lines[i].strip() if i < len(lines) else "the end of the file"
            raise ParameterError(f"lattice file {path}, line {i + 1}: {what} needs three "
                                 f"numbers (a lattice vector), got {got!r}")
        cell.append(vector)
    return np.array(cell)


def read_lattice(seedname):
    """Lattice vectors a1, a2 (rows, (x, y) parts, nm) from ``seedname_tb.dat`` or
    ``seedname.win``.

    ``seedname_tb.dat``: a comment line, then a1, a2, a3 in Angstrom (one per line).
    ``seedname.win``: the ``begin unit_cell_cart`` ... ``end unit_cell_cart`` block, with an
    optional first line ``bohr`` or ``ang`` (default Angstrom); keywords case-insensitive,
    comments after ``!`` or ``#``.  a1, a2 must lie in the xy plane and a3 along z.

    Raises
    ------
    ParameterError
        Naming both files if neither exists, or the file and line of a malformed block.
    """
    tb, win = _lattice_files(Path(seedname))
    if tb.is_file():
        lines = tb.read_text().splitlines()
        return _planar(tb, ANGSTROM_NM * _three_vectors(tb, lines, 1, "a lattice vector"))
    if win.is_file():
        lines = [re.split(r"[!#]", line)[0] for line in win.read_text().splitlines()]
        begin = [i for i, line in enumerate(lines)
                 if re.fullmatch(r"\s*begin\s+unit_cell_cart\s*", line, re.IGNORECASE)]
        if not begin:
            raise ParameterError(f"lattice file {win}: no 'begin unit_cell_cart' block")
        start = begin[0] + 1
        unit = ANGSTROM_NM
        first = lines[start].strip().lower() if start < len(lines) else ""
        if first in ("bohr", "ang"):
            unit = BOHR_NM if first == "bohr" else ANGSTROM_NM
            start += 1
        end = start + 3
        if end >= len(lines) or not re.fullmatch(r"\s*end\s+unit_cell_cart\s*", lines[end],
                                                 re.IGNORECASE):
            raise ParameterError(f"lattice file {win}, line {end + 1}: expected 'end "
                                 "unit_cell_cart' after three lattice vectors")
        return _planar(win, unit * _three_vectors(win, lines, start, "unit_cell_cart"))
    raise ParameterError(
        f"lattice_vectors not given and neither {tb} nor {win} exists: pass "
        "lattice_vectors=(2, 2) in nm or put one of these files next to the _hr.dat")


def read_centres(seedname, num_wann=None):
    """Wannier centres (x, y) in nm from ``seedname_centres.xyz``.

    XYZ format: the number of entries, a comment line, then ``X x y z`` (Angstrom) for each
    Wannier centre; the atoms that follow are ignored.

    Returns
    -------
    (num_wann, 2) float array in nm, or None when the file does not exist.
    """
    path = _centres_file(Path(seedname))
    if not path.is_file():
        return None
    lines = path.read_text().splitlines()
    if not lines or not re.fullmatch(r"\s*\d+\s*", lines[0]):
        raise ParameterError(f"centres file {path}, line 1: the entry count must be an integer")
    centres = []
    for i, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts or parts[0].upper() != "X":
            break
        try:
            xyz = [float(x) for x in parts[1:4]]
        except ValueError:
            xyz = []
        if len(xyz) != 3 or len(parts) != 4:
            raise ParameterError(f"centres file {path}, line {i}: expected 'X x y z', got "
                                 f"{line.strip()!r}")
        centres.append(xyz)
    if num_wann is not None and len(centres) != num_wann:
        raise ParameterError(f"centres file {path}: {len(centres)} Wannier centres (lines "
                             f"'X x y z'), the _hr.dat has num_wann = {num_wann}")
    return ANGSTROM_NM * np.array(centres, dtype=float).reshape(-1, 3)[:, :2]


def hr_file_fields(hr_file, *, lattice_vectors=None, orbital_positions=None,
                   spin_operators=None, exchange=None, magnetization=None):
    """The fields of :meth:`kubo_sot.TightBindingModel.from_wannier90` (same arguments), read
    and checked: ``lattice_vectors``, ``hoppings`` (the file's H at ``magnetization``),
    ``spin_operators``, ``orbital_positions``, ``exchange``, ``magnetization``.  This module
    reads and writes the formats only; the model class builds itself from these."""
    if spin_operators is None:
        raise ParameterError(
            "spin_operators = None: a Wannier90 file does not say how its orbitals carry "
            "spin; give 'interleaved' (spinor WFs 1up, 1dn, 2up, ...), 'blocks' (all up, "
            "then all down) or a (3, N, N) array of Pauli matrices in the orbital basis")
    if magnetization is None:
        if exchange is not None:
            raise ParameterError(
                "magnetization = None with an exchange given: say at which M the file's H "
                "was computed (a unit vector), since H0 = H_file - M.X depends on it")
        magnetization = (0.0, 0.0, 1.0)
    magnetization = _checks.unit_vector("magnetization", magnetization)  # before any reading
    num_wann, r_vectors, _, h = read_hr(hr_file)
    seed = _seed(hr_file)
    if lattice_vectors is None:
        if seed is None:
            raise ParameterError(
                f"lattice_vectors not given and hr_file = '{hr_file}' is not named "
                "seedname_hr.dat, so no seedname_tb.dat or seedname.win can be found: pass "
                "lattice_vectors=(2, 2) in nm")
        lattice_vectors = read_lattice(seed)
    if orbital_positions is None and seed is not None:
        orbital_positions = read_centres(seed, num_wann)
    hoppings = {(int(r[0]), int(r[1])): h[i] for i, r in enumerate(r_vectors)}
    return dict(lattice_vectors=lattice_vectors, hoppings=hoppings,
                spin_operators=spin_operators, orbital_positions=orbital_positions,
                exchange=exchange, magnetization=magnetization)


__all__ = ["read_hr", "write_hr", "write_model_hr", "read_lattice", "read_centres",
           "companion_files", "hr_file_fields"]
