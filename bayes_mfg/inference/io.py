"""Saving and loading a fit's ArviZ ``DataTree`` as NetCDF (h5netcdf; no pickle).

Integrity: :func:`save` stores a SHA-256 digest of the tree's content (every group's
variables: names, dims, dtypes, values; and attributes) as the root attribute
``bayes_mfg_sha256``, computed on the file as written and read back. :func:`load` recomputes
it and refuses a file whose content no longer matches (flipped bytes, an edited value), so a
damaged file never yields different numbers silently. Numeric variables are stored with
HDF5's Fletcher-32 checksum and gzip compression as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import warnings

import numpy as np
import xarray as xr

DIGEST_ATTR = "bayes_mfg_sha256"

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
        If ``tree`` is not a ``DataTree`` or ``path`` is not a file name (e.g. ``None``).
    ValueError
        If the folder of ``path`` does not exist.

    Examples
    --------
    >>> bm.save(fit.to_arviz(), "fit.nc")  # doctest: +SKIP
    """
    if not isinstance(tree, xr.DataTree):
        raise TypeError(f"tree must be an xarray.DataTree (e.g. fit.to_arviz()), got {type(tree).__name__}")
    p = _path(path)
    if not p.parent.is_dir():
        raise ValueError(f"path: folder {str(p.parent)!r} does not exist")
    encoding = {node.path: {name: {"compression": "gzip", "compression_opts": 4, "fletcher32": True}
                            for name, v in node.dataset.variables.items() if v.ndim > 0 and v.dtype.kind in "biuf"}
                for node in tree.subtree}
    tree.to_netcdf(p, engine="h5netcdf", encoding={k: v for k, v in encoding.items() if v})
    import h5py

    with xr.open_datatree(p, engine="h5netcdf") as written:
        digest = content_digest(written.load())
    with h5py.File(p, "a") as fh:
        fh.attrs[DIGEST_ATTR] = digest


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
        If ``path`` is not a NetCDF/HDF5 file, or its content does not match the digest
        :func:`save` wrote (a corrupted or edited file).

    Examples
    --------
    >>> tree = bm.load("fit.nc")  # doctest: +SKIP
    >>> tree["sample_stats"]["solver_residual"].max()  # doctest: +SKIP
    """
    p = _path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r}")
    try:
        with xr.open_datatree(p, engine="h5netcdf") as opened:
            tree = opened.load()
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        # h5py reports a failed Fletcher-32 check or a damaged structure as OSError/RuntimeError
        raise ValueError(f"path: {str(path)!r} is not a NetCDF file written by bayes_mfg.save, or it is damaged "
                         f"({type(e).__name__}: {e})") from None
    stored = tree.attrs.pop(DIGEST_ATTR, None)
    if stored is None:
        warnings.warn(f"load: {str(path)!r} has no content digest (not written by this version of bayes_mfg.save): "
                      "its integrity is not checked", UserWarning, stacklevel=2)
    elif content_digest(tree) != str(stored):
        raise ValueError(f"path: {str(path)!r} is corrupted: its content does not match the digest written by "
                         "bayes_mfg.save (flipped bytes or an edited value); re-create it from the fit")
    return tree


def _path(path: object) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"path must be a file name (str or os.PathLike), got {type(path).__name__} {path!r}")
    return pathlib.Path(path)


def content_digest(tree: xr.DataTree) -> str:
    """SHA-256 of a tree's content: per group, every variable's name, dims, dtype, shape and
    values, and the attributes (except the digest itself), in a fixed order."""
    h = hashlib.sha256()
    for node in sorted(tree.subtree, key=lambda n: n.path):
        ds = node.dataset
        attrs = {k: v for k, v in ds.attrs.items() if k != DIGEST_ATTR}
        h.update(f"group {node.path}\x1f{_attrs_text(attrs)}".encode())
        for name in sorted(ds.variables, key=str):
            v = ds.variables[name]
            a = np.asarray(v.values)
            h.update(f"var {name}\x1f{v.dims}\x1f{a.dtype.str}\x1f{a.shape}\x1f{_attrs_text(v.attrs)}".encode())
            if a.dtype.kind in "biufcmM":
                h.update(np.ascontiguousarray(a).tobytes())
            else:
                h.update("\x1f".join(map(str, a.ravel().tolist())).encode())
    return h.hexdigest()


def _attrs_text(attrs: dict) -> str:
    return json.dumps({str(k): (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in attrs.items()},
                      sort_keys=True, default=str)
