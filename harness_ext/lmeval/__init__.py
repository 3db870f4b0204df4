"""The only package that touches lm-eval internals (registry hook, tracker, runner, API backends)."""
