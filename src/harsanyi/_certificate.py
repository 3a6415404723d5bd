"""Certificates: the evidence every result carries, checked on the whole value table.

A check is an identity that must hold exactly in real arithmetic (universal matching, efficiency, agreement with a
recomputation). In float64 it holds up to rounding; the tolerance is a rounding bound, not a fudge factor:
a butterfly sends every entry through n additions, so the error of any entry is at most about n · ε · (the sum of
the magnitudes that entered it). We bound that sum by the L1 norm of the dividends (or of the table, whichever is
larger) and allow a factor 16 of headroom: tol = 16 · (n + 1) · ε₆₄ · magnitude.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .exceptions import CertificateError

__all__ = ["Check", "Certificate", "rounding_tolerance"]

EPS = float(np.finfo(np.float64).eps)


def rounding_tolerance(n_players: int, magnitude: float) -> float:
    """The float64 rounding bound used by every check (see the module docstring)."""
    return 16.0 * (n_players + 1) * EPS * max(float(magnitude), 1e-300)


@dataclass(frozen=True)
class Check:
    """One identity checked on ``n_checked`` coalitions (or equations): its largest violation and its tolerance."""

    name: str
    residual: float
    tolerance: float
    n_checked: int
    over: str = "coalitions"  # what was checked: "coalitions", "pairs", "equation"

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.residual) and self.residual <= self.tolerance)


@dataclass(frozen=True)
class Certificate:
    """The evidence a result carries: the checks that were run, the scale |v(N) − v(∅)| and the dtype."""

    checks: tuple[Check, ...]
    scale: float
    n_players: int
    dtype: str = "float64"

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def residual(self) -> float:
        """The largest violation over all checks (absolute, in the units of v)."""
        return max((check.residual for check in self.checks), default=0.0)

    @property
    def relative_residual(self) -> float:
        """:attr:`residual` divided by |v(N) − v(∅)| (inf when the scale is zero and the residual is not)."""
        if self.scale > 0:
            return self.residual / self.scale
        return 0.0 if self.residual == 0 else float("inf")

    def check(self, name: str) -> Check:
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(f"no check named {name!r}; this certificate has {[c.name for c in self.checks]}")

    def raise_if_failed(self) -> "Certificate":
        failed = [c for c in self.checks if not c.passed]
        if failed:
            raise CertificateError(
                "Certificate failed: "
                + "; ".join(f"{c.name}: residual {c.residual:.3g} > tolerance {c.tolerance:.3g}" for c in failed)
                + ". The result does not reproduce its value table; do not use it. If the table holds values far "
                "apart in magnitude, rescale the model output (e.g. log-odds instead of probabilities)."
            )
        return self

    def __str__(self) -> str:
        lines = []
        for c in self.checks:
            verdict = "holds" if c.passed else "FAILS"
            rel = f" ({c.residual / self.scale:.2e} of |v(N) − v(∅)| = {self.scale:.4g})" if self.scale > 0 else ""
            lines.append(
                f"{c.name} {verdict} on all {c.n_checked:,} {c.over}: largest error {c.residual:.2e}{rel}, "
                f"tolerance {c.tolerance:.2e} ({self.dtype})."
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"checks": [asdict(c) for c in self.checks], "scale": self.scale, "n_players": self.n_players,
                "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict) -> "Certificate":
        return cls(tuple(Check(**c) for c in data["checks"]), float(data["scale"]), int(data["n_players"]),
                   str(data["dtype"]))
