"""Post-import hook for lm-eval, installed at interpreter start by ``dq_harness.pth``.

It adds one meta-path finder and imports nothing else: when lm-eval's model registry or its
evaluation tracker module finishes loading, dq-harness registers ``two_stage`` and its trace
writer (harness_ext/lmeval/plugin.py). Cost at start-up: see README ("Plain lm-eval works").
"""

import sys

_AFTER = {
    "lm_eval.api.registry": "on_registry",
    "lm_eval.loggers.evaluation_tracker": "on_tracker",
}


class _AfterImport:
    def find_spec(self, name, path=None, target=None):
        if name not in _AFTER:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                _wrap(spec.loader, _AFTER[name])
                return spec
        return None


def _wrap(loader, callback_name):
    exec_module = loader.exec_module

    def exec_then_register(module):
        exec_module(module)
        try:
            from harness_ext.lmeval import plugin
        except ImportError:  # dq-harness uninstalled but this file left behind
            return
        getattr(plugin, callback_name)(module)

    loader.exec_module = exec_then_register


def install():
    if not any(type(f).__name__ == "_AfterImport" for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


install()
