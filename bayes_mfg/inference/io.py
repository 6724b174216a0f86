"""Saving and loading a fit's ArviZ ``DataTree`` as NetCDF (h5netcdf; no pickle)."""

from __future__ import annotations

import pathlib

import xarray as xr

__all__ = ["save", "load"]


def save(tree, path) -> None:
    """Write an ArviZ ``DataTree`` to NetCDF (all groups, coords and attributes).

    Parameters
    ----------
    tree
        An ``xarray.DataTree``, e.g. ``fit.to_arviz()``.
    path
        File to write (``.nc``); overwritten if it exists.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``tree`` is not a ``DataTree``.

    Examples
    --------
    >>> bm.save(fit.to_arviz(), "fit.nc")  # doctest: +SKIP
    """
    if not isinstance(tree, xr.DataTree):
        raise TypeError(f"tree must be an xarray.DataTree (e.g. fit.to_arviz()), got {type(tree).__name__}")
    tree.to_netcdf(path, engine="h5netcdf")


def load(path):
    """Read a ``DataTree`` written by :func:`save` (NetCDF through h5netcdf: no pickle).

    Parameters
    ----------
    path
        A file written by :func:`save`.

    Returns
    -------
    xarray.DataTree
        With every group, coordinate and attribute that was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a NetCDF/HDF5 file.

    Examples
    --------
    >>> tree = bm.load("fit.nc")  # doctest: +SKIP
    >>> tree["sample_stats"]["solver_residual"].max()  # doctest: +SKIP
    """
    p = pathlib.Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r}")
    try:
        return xr.open_datatree(p, engine="h5netcdf").load()
    except OSError as e:
        raise ValueError(f"path: {str(path)!r} is not a NetCDF file written by bayes_mfg.save ({e})") from None
