"""Import nolds' estimators on every Python we support.

nolds 0.6.3 reads its bundled data sets at import time with ``importlib.resources.files`` on a
plain module, which only Python >= 3.12 accepts: on 3.10 and 3.11 ``import nolds`` fails with
``TypeError: 'nolds.datasets' is not a package``. The estimators themselves live in
``nolds.measures``, which needs nothing from the data sets, so when the package import fails we
load that module alone (under a bare ``nolds`` package object) and use it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import lru_cache


@lru_cache(maxsize=1)
def nolds_measures() -> types.ModuleType:
    """The module holding ``lyap_r``, ``lyap_e``, ``corr_dim`` and friends."""
    try:
        import nolds

        return nolds.measures
    except TypeError:
        for name in [m for m in sys.modules if m == "nolds" or m.startswith("nolds.")]:
            del sys.modules[name]
        spec = importlib.util.find_spec("nolds")
        package = types.ModuleType("nolds")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["nolds"] = package
        measures = importlib.import_module("nolds.measures")
        package.measures = measures
        return measures
