"""Interaction trees (SPEC §6; Zhang et al., AAAI 2021): words merged bottom-up into constituents, adjacent pairs
first where they interact most.

Players are taken in a reading order (by default their numbering; a text game numbers its words as read). Each
constituent is a span of players consecutive in it. Merging the adjacent spans L and R into A = L ∪ R records the
interaction *between* them,

    B(L, R) = T(A) − T(L) − T(R),   T(A) = Σ_{S: |S∩A| ≥ 2} I(S) / (|S∖A| + 1)   (T of one player = 0),

the coalition interaction of SPEC §6 minus what the two parts hold on their own. In a game whose dividends are all
pairwise, B(L, R) is the sum of the |L|·|R| pair dividends across the two spans, so the density
B / (|L|·|R|) is the interaction per pair across the split; the tree merges the adjacent pair of largest |density|
(the paper's "interaction density"; its exact normaliser was not published, this one is ours and is stated).
Telescoping, the B of all merges sum to T(N) = v(N) − Σ_i v({i}) + (n − 1)·v(∅), which the certificate checks
against the value table itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._certificate import Certificate, Check, rounding_tolerance

__all__ = ["TreeNode", "InteractionTree", "interaction_tree"]


@dataclass(frozen=True)
class TreeNode:
    """A constituent: the players at positions ``start`` … ``stop − 1`` of the tree's order. Leaves have no
    children and ``interaction`` 0; a merge holds B(left, right) in ``interaction``, B / (|left|·|right|) in
    ``density`` and T of its whole span in ``total``."""

    start: int  # positions in the tree's order of the players (their reading order)
    stop: int
    label: str
    players: tuple[int, ...] = ()  # the players' indices in the game
    left: "TreeNode | None" = None
    right: "TreeNode | None" = None
    interaction: float = 0.0
    density: float = 0.0
    total: float = 0.0
    step: int = 0  # 0 for a leaf, else the merge's place in the order (1 = first)

    @property
    def is_leaf(self) -> bool:
        return self.left is None

    @property
    def mask(self) -> int:
        return sum(1 << p for p in self.players)

    def __repr__(self) -> str:
        return f"TreeNode({self.bracketed()!r}, B={self.interaction:+.4g})"

    def bracketed(self) -> str:
        """The constituent as nested brackets, e.g. ``((not good) movie)``."""
        if self.is_leaf:
            return self.label
        return f"({self.left.bracketed()} {self.right.bracketed()})"


@dataclass(frozen=True)
class InteractionTree:
    """The binary tree over the players: ``root``, and ``merges`` in the order they were made."""

    root: TreeNode
    merges: tuple[TreeNode, ...]
    certificate: Certificate
    scale: float  # |v(N) − v(∅)|, the unit the B are read in

    def __repr__(self) -> str:
        verdict = "holds" if self.certificate.passed else "FAILS"
        return f"InteractionTree({self.root.bracketed()!r}, {len(self.merges)} merges, certificate {verdict})"

    def __str__(self) -> str:
        """One line per merge, the strongest constituents recognisable at a glance."""
        lines = [self.root.bracketed()]
        for node in self.merges:
            lines.append(f"  {node.step:>2}. {node.left.bracketed()} + {node.right.bracketed()}: "
                         f"B = {node.interaction:+.4g} (per pair {node.density:+.4g})")
        return "\n".join(lines)


def interaction_tree(dividends: np.ndarray, n: int, labels, table: np.ndarray, certify, order) -> InteractionTree:
    """Build the tree from the (certified) dividends over the players in ``order``; ``table`` (the values v) feeds
    the check that ``certify`` turns into the tree's certificate."""
    masks = np.arange(1 << n, dtype=np.uint64)
    full = np.uint64((1 << n) - 1)

    def total(mask: int) -> float:
        inside = np.bitwise_count(masks & np.uint64(mask))
        outside = np.bitwise_count(masks & (full & ~np.uint64(mask))).astype(np.float64)
        return float(dividends[inside >= 2] @ (1.0 / (outside[inside >= 2] + 1.0)))

    def merged(left: TreeNode, right: TreeNode) -> TreeNode:
        whole = total(left.mask | right.mask)
        between = whole - left.total - right.total
        size = (left.stop - left.start) * (right.stop - right.start)
        return TreeNode(left.start, right.stop, f"{left.label} {right.label}", left.players + right.players, left,
                        right, between, between / size, whole)

    nodes = [TreeNode(k, k + 1, str(labels[p]), (p,)) for k, p in enumerate(order)]
    candidates = [merged(a, b) for a, b in zip(nodes, nodes[1:])]  # candidates[j] merges nodes[j] and nodes[j + 1]
    merges = []
    while candidates:
        j = max(range(len(candidates)), key=lambda c: (abs(candidates[c].density), -c))  # ties: leftmost
        chosen = candidates[j]
        node = dataclasses.replace(chosen, step=len(merges) + 1)
        merges.append(node)
        nodes[j:j + 2] = [node]
        candidates[max(j - 1, 0):j + 2] = [merged(a, b) for a, b in
                                           zip(nodes[max(j - 1, 0):j + 2], nodes[max(j - 1, 0) + 1:j + 2])]
    root = nodes[0]
    # the B of all merges telescope to T(N) = v(N) − Σ_i v({i}) + (n − 1)·v(∅), read off the table itself
    direct = float(table[-1] - table[1 << np.arange(n)].sum() + (n - 1) * table[0])
    summed = float(sum(node.interaction for node in merges))
    magnitude = max(float(np.abs(dividends).sum()), float(np.abs(table).max()) * (n + 1))
    check = Check("merges sum to v(N) − Σ v({i}) + (n−1)·v(∅)", abs(summed - direct),
                  rounding_tolerance(n, magnitude) * max(n, 1), 1, "equation")
    return InteractionTree(root, tuple(merges), certify(check), abs(float(table[-1] - table[0])))
