"""The examples in the package's docstrings run as written."""

import doctest
import importlib
import pkgutil

import pytest

import harsanyi

MODULES = sorted(m.name for m in pkgutil.iter_modules(harsanyi.__path__, "harsanyi."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
