"""The examples in the package's docstrings run as written."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import harsanyi

MODULES = sorted(m.name for m in pkgutil.iter_modules(harsanyi.__path__, "harsanyi."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    # a module whose docstrings hold examples has them run (not skipped by a collection that found none)
    assert (result.attempted > 0) == (">>> " in inspect.getsource(module))
