"""Sweep records -> labelled xarray.Dataset (swept parameters as coordinates)."""

import datetime
import json
import os

import numpy as np

from .. import __version__
from .grid import PARAMETERS
from .store import NUMERICS_VERSION

TENSOR_DIMS = {"conductivity": ("current", "field"), "spin_density": ("spin", "field"),
               "torkance": ("torque_component", "field"),
               "resistivity": ("current", "field")}
COMPONENTS = {"current": ["x", "y"], "field": ["x", "y"], "spin": ["x", "y", "z"],
              "torque_component": ["x", "y", "z"]}
UNITS = {"conductivity": "e^2/h", "spin_density": "1/(V nm)", "torkance": "e/nm",
         "resistivity": "h/e^2", "field_like": "e/nm", "damping_like": "e/nm",
         "rho_ee": "h/e^2", "alpha_kF_over_J": "1", "n_minus": "1/nm^2", "n_plus": "1/nm^2",
         "electron_density": "1/nm^2", "n_kpoints": "1"}
PARTS = ("total", "fermi_surface", "fermi_sea", "error")


def _variables(quantities, tight_binding=False):
    names = []
    for q in quantities:
        if q in ("conductivity", "spin_density", "torkance"):
            names += [f"{q}_{p}" for p in PARTS]
        elif q == "torque":
            names += [f"{k}_{p}" for k in ("field_like", "damping_like") for p in PARTS]
        elif q == "resistivity":
            names += ["resistivity_total", "rho_ee", "rho_ee_error"]
    bands = ["electron_density"] if tight_binding else ["alpha_kF_over_J", "n_minus", "n_plus"]
    return names + bands + ["n_kpoints"]


def _jsonable(value):
    """A path as its string, any other sequence (tuple, array) as a list."""
    return os.fspath(value) if isinstance(value, os.PathLike) else list(value)


def _unit(name):
    for key, unit in UNITS.items():
        if name.startswith(key):
            return unit
    return "1"


def to_dataset(axes, specs, results, quantities, base, backend):
    import xarray as xr
    tight_binding = "model" in specs[0]  # all points of a sweep share the kind of model
    if axes is not None:
        dims = list(axes)
        shape = [len(v) for v in axes.values()]
        coords = {name: (name, np.asarray(v), {"units": PARAMETERS[name]})
                  for name, v in axes.items()}
    else:
        dims, shape = ["point"], [len(specs)]
        coords = {"point": np.arange(len(specs))}
        for name in ("alpha", "exchange", "mass", "fermi_energy", "broadening",
                     "temperature"):
            if name not in specs[0]:  # a tight-binding model has no alpha, J, m
                continue
            coords[name] = ("point", [s[name] for s in specs], {"units": PARAMETERS[name]})
        for i, c in enumerate("xyz"):
            coords[f"magnetization_{c}"] = ("point", [s["magnetization"][i] for s in specs])
    data_vars = {}
    for name in _variables(quantities, tight_binding):
        stem = name.split("_")[0] if not name.startswith("spin_density") else "spin_density"
        extra = TENSOR_DIMS.get(stem, ())
        values = np.array([r[name] for r in results], dtype=float)
        data_vars[name] = (dims + list(extra), values.reshape(shape + list(values.shape[1:])),
                           {"units": _unit(name)})
        for d in extra:
            coords.setdefault(d, (d, COMPONENTS[d]))
    ds = xr.Dataset(data_vars, coords=coords)
    what = "a tight-binding model" if tight_binding else "the Rashba ferromagnet"
    ds.attrs.update({
        "title": f"kubo_sot sweep: Kubo-Bastin linear response of {what}",
        "package": "kubo_sot", "version": __version__, "numerics_version": NUMERICS_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "rtol": float(specs[0]["rtol"]), "backend": backend,
        "disorder": specs[0]["disorder"],
        "vertex_corrections": int(specs[0]["vertex_corrections"]),
        "field_direction": json.dumps(specs[0]["field_direction"]),
        "base_parameters": json.dumps(base, sort_keys=True, default=_jsonable),
        **({"model": json.dumps(specs[0]["model"], sort_keys=True)} if tight_binding else {}),
        "conventions": "docs/conventions.md sections 3-5: sigma_ij (j_i = sigma_ij E_j), "
                       "chi_aj, t_aj = J (M x chi_:,j)_a; "
                       "parts total = fermi_surface + fermi_sea; "
                       "error = k-integration error estimate of total",
    })
    return ds
