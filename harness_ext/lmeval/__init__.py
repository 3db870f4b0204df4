"""The lm-eval adapter, the only package that touches lm-eval: the ``two_stage`` model over the
core (two_stage), the core's backends and registry (backends, models, pool), the registry hook,
tracker, runner and API backends. It depends on harness_ext.model, never the reverse."""
