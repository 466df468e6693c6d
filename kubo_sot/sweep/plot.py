"""Plots of a sweep result (netCDF): line plots or colour maps with units on the axes."""

import numpy as np

from ..errors import ParameterError

#: --relative-to matches a grid value within this relative tolerance (absolute below 1).
RELATIVE_TO_MATCH = 1e-9


def _select(ds, name):
    """Variable name with an optional component, e.g. conductivity_total:x,y."""
    var, _, comp = name.partition(":")
    if var not in ds:
        raise ParameterError(f"--y {name!r}: no variable {var!r}; available: "
                             f"{sorted(ds.data_vars)}")
    da = ds[var]
    tensor_dims = [d for d in da.dims if d in ("current", "field", "spin", "torque_component")]
    if tensor_dims:
        labels = comp.split(",") if comp else ["x"] * len(tensor_dims)
        if len(labels) != len(tensor_dims):
            raise ParameterError(f"--y {name!r}: give {len(tensor_dims)} components "
                                 f"({', '.join(tensor_dims)}), e.g. {var}:x,x")
        da = da.sel(dict(zip(tensor_dims, labels)))
        var = f"{var}[{','.join(labels)}]"
    return da, var


def plot_dataset(ds, y, x=None, out="sweep.png", relative_to=None):
    """Write a PNG: lines of ``y`` against ``x`` (one per value of a second swept
    parameter, at most 10), or a colour map when two parameters are swept and no ``x``.

    ``relative_to="name=value"`` plots y / y(name=value) - 1 instead, e.g.
    ``magnetization_azimuth_deg=90`` shows the AMR angular law rho(theta)/rho(90) - 1;
    value must be on the grid of name (within 1e-9), else ParameterError lists the grid."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("matplotlib is needed for plots: pip install 'kubo_sot[plot]'") \
            from None
    da, label = _select(ds, y)
    unit = da.attrs.get("units", "")
    if relative_to:
        name, _, value = relative_to.partition("=")
        if name not in da.dims:
            raise ParameterError(f"--relative-to {relative_to!r}: {name!r} is not swept")
        try:
            value = float(value)
        except ValueError:
            raise ParameterError(f"--relative-to {relative_to!r}: value must be a number") \
                from None
        # An exact grid value, never the nearest one: the title states the reference.
        grid = np.asarray(ds[name].values, float)
        match = np.flatnonzero(np.abs(grid - value) <= RELATIVE_TO_MATCH * max(1.0, abs(value)))
        if match.size == 0:
            unit = ds[name].attrs.get("units", "")
            raise ParameterError(
                f"--relative-to {relative_to!r}: {value:g} {unit} is not on the grid of "
                f"{name}; available: {', '.join(f'{v:.10g}' for v in grid)}")
        ref = da.isel({name: int(match[0])})
        da = da / ref - 1
        label, unit = f"{label} / ref - 1", "1"
    swept = [d for d in da.dims]
    if not swept:
        raise ParameterError("nothing was swept: no axis to plot against")
    if x is not None and x not in swept:
        raise ParameterError(f"--x {x!r} is not a swept parameter; swept: {swept}")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    if relative_to:
        ax.set_title(f"ref: {relative_to}", fontsize=9)
    if len(swept) == 2 and x is None:
        a, b = swept
        mesh = ax.pcolormesh(ds[b].values, ds[a].values, da.transpose(a, b).values,
                             shading="auto")
        fig.colorbar(mesh, ax=ax, label=f"{label} ({unit})")
        ax.set_xlabel(f"{b} ({ds[b].attrs.get('units', '')})")
        ax.set_ylabel(f"{a} ({ds[a].attrs.get('units', '')})")
    else:
        x = x or swept[0]
        others = [d for d in swept if d != x]
        flat = da.transpose(x, *others).values.reshape(da.sizes[x], -1)
        labels = [""] if not others else [
            ", ".join(f"{d}={ds[d].values[i]:.4g}" for d, i in zip(others, idx))
            for idx in np.ndindex(*[da.sizes[d] for d in others])]
        for column, text in list(zip(flat.T, labels))[:10]:
            ax.plot(ds[x].values, column, "o-", ms=3, label=text or None)
        ax.set_xlabel(f"{x} ({ds[x].attrs.get('units', '')})")
        ax.set_ylabel(f"{label} ({unit})")
        if others:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
