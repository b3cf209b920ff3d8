"""proctor: face-verification identity core and 学法减分 rules.

Importing the package loads no vision library; adapters are imported lazily.
"""

__version__ = "0.1.0"
