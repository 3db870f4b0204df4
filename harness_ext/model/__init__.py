"""The two-stage core: doc -> decompose prompt -> decomposer -> parse -> solve prompt -> solver.

No lm-eval here: the adapter (harness_ext/lmeval/) depends on this package, never the reverse,
and passes in what the core needs from lm-eval through the protocols of model/backends.py.
"""
