"""An odor panel: glomerular ORN responses (Δspikes/s from spontaneous) of a set of odors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["OdorPanel", "OdorTableError"]


class OdorTableError(ValueError):
    """An odor table or panel argument is invalid; the message names the offending item."""


@dataclass(frozen=True, eq=False)
class OdorPanel:
    """Odor responses over glomeruli, in Δspikes/s relative to spontaneous ORN firing.

    Attributes
    ----------
    responses : (n_odors, n_glomeruli) array of Δrates in Hz
    names : odor names (unique)
    glomeruli : glomerulus or receptor names
    spontaneous : optional (n_glomeruli,) spontaneous ORN rates in Hz (None = preset's value)
    info : free-form provenance (source, seed, target similarities...) kept in result attrs
    """

    responses: np.ndarray
    names: tuple
    glomeruli: tuple
    spontaneous: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        responses = np.asarray(self.responses, dtype=float)
        if responses.ndim != 2 or responses.shape[0] == 0 or responses.shape[1] == 0:
            raise OdorTableError(
                f"odor responses must be a non-empty 2-D array (odors x "
                f"glomeruli), got shape {responses.shape}"
            )
        if not np.all(np.isfinite(responses)):
            row, col = np.argwhere(~np.isfinite(responses))[0]
            raise OdorTableError(
                f"odor responses contain a non-finite value at odor {row}, glomerulus {col}"
            )
        names, glomeruli = tuple(map(str, self.names)), tuple(map(str, self.glomeruli))
        if len(names) != responses.shape[0] or len(glomeruli) != responses.shape[1]:
            raise OdorTableError(
                f"{len(names)} names and {len(glomeruli)} glomeruli do not "
                f"match responses of shape {responses.shape}"
            )
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise OdorTableError(f"duplicated odor names: {duplicates}")
        duplicates = sorted({g for g in glomeruli if glomeruli.count(g) > 1})
        if duplicates:
            raise OdorTableError(f"duplicated glomerulus names: {duplicates}")
        responses.flags.writeable = False
        object.__setattr__(self, "responses", responses)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "glomeruli", glomeruli)
        if self.spontaneous is not None:
            spont = np.asarray(self.spontaneous, dtype=float)
            if (
                spont.shape != (responses.shape[1],)
                or not np.all(np.isfinite(spont))
                or np.any(spont < 0)
            ):
                raise OdorTableError("spontaneous rates must be finite, >= 0, one per glomerulus")
            object.__setattr__(self, "spontaneous", spont)

    @property
    def n_odors(self) -> int:
        return self.responses.shape[0]

    @property
    def n_glomeruli(self) -> int:
        return self.responses.shape[1]

    def __len__(self) -> int:
        return self.n_odors

    def select(self, names) -> OdorPanel:
        """The sub-panel of the given odor names (in that order)."""
        index = [self.names.index(n) for n in names]
        return OdorPanel(
            self.responses[index],
            [self.names[i] for i in index],
            self.glomeruli,
            self.spontaneous,
            dict(self.info),
        )

    def to_dataarray(self):
        import xarray as xr

        return xr.DataArray(
            self.responses,
            dims=("odor", "glomerulus"),
            coords={"odor": list(self.names), "glomerulus": list(self.glomeruli)},
            attrs={"units": "Hz", "long_name": "ORN response (Δrate)"},
        )
