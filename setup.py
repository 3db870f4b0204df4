"""Only one job beyond pyproject.toml: put the lm-eval post-import hook (dq_harness.pth and the
module it imports) at the root of the wheel, so plain `lm_eval --model two_stage` works after
`pip install`. Editable installs get the same two files from `make setup`
(python -m harness_ext.lmeval.hookfiles)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HOOK_FILES = ("dq_harness.pth", "dq_harness_hook.py")


class BuildPyWithHook(build_py):
    def run(self) -> None:
        super().run()
        for name in HOOK_FILES:
            self.copy_file(name, str(Path(self.build_lib) / name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *(str(Path(self.build_lib) / n) for n in HOOK_FILES)]


setup(cmdclass={"build_py": BuildPyWithHook})
