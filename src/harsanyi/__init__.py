"""harsanyi — exact, certified interaction explanations of any model.

The one way through: model + input → :class:`Game` → :class:`ValueTable` (2ⁿ values, index = bitmask) →
fast transforms → :class:`Interactions` (indices, dividends, concepts) with a :class:`Certificate`.
"""

from . import _builders  # noqa: F401 (gives Game.tabular / image / text their builders' parameters and docs)
from ._andor import Concepts, SharedConcepts, SolverReport, shared_concepts
from ._baselines import BaselineResult
from ._certificate import Certificate, Check
from ._explanation import Explanation, explain
from ._game import Game
from ._indices import INDICES
from ._interactions import Interactions
from ._recurrence import Agreement, ConceptStatistics, RecurringConcept, concept_statistics
from ._sampling import MultiOrderEstimate
from ._sparsity import Concept, FidelityCurve, fidelity_curve, salient_concepts
from ._text import content_words
from ._tree import InteractionTree, TreeNode
from ._values import MultiOrder, ValueTable
from .exceptions import (
    CacheError,
    CertificateError,
    ExponentialCostWarning,
    HarsanyiError,
    HarsanyiValueError,
    MemoryBudgetError,
    ModelInputError,
    ModelOutputError,
)

__version__ = "0.1.0"

__all__ = [
    "Game",
    "ValueTable",
    "Interactions",
    "MultiOrder",
    "MultiOrderEstimate",
    "InteractionTree",
    "TreeNode",
    "Explanation",
    "explain",
    "Concepts",
    "SolverReport",
    "SharedConcepts",
    "shared_concepts",
    "BaselineResult",
    "Concept",
    "FidelityCurve",
    "fidelity_curve",
    "salient_concepts",
    "content_words",
    "concept_statistics",
    "ConceptStatistics",
    "RecurringConcept",
    "Agreement",
    "Certificate",
    "Check",
    "INDICES",
    "HarsanyiError",
    "HarsanyiValueError",
    "CertificateError",
    "MemoryBudgetError",
    "ModelOutputError",
    "ModelInputError",
    "CacheError",
    "ExponentialCostWarning",
]
