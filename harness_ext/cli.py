"""``dq``: eval (lm_eval with dq_tasks and two_stage), compare, tasks, models, study."""

from __future__ import annotations

import json
import os
import re
import sys

from dq_tasks.constants import TASKS_DIR
from harness_ext.errors import DQError
from harness_ext.model.runtime import offline_defaults

USAGE = """usage: dq <command> [args]

commands:
  eval      run lm-eval (every lm_eval flag) with dq_tasks included and the two_stage model
  compare   paired significance tests and reports over lm-eval runs (dq compare -h)
  study     run a decomposer x solver x task grid from a study file (dq study -h)
  tasks     list the dq task suite (dq tasks --path: the directory for lm_eval --include_path)
  models    list packaged models (and convert them: dq models --prepare NAME)
  serve     serve a packaged model over the OpenAI API with llama.cpp (dq serve -h)
  distill   export SFT data from two_stage runs and train student models (dq distill -h)
  view      write a static HTML leaderboard / pair / doc explorer over results (dq view -h)
"""


def _resolve_packaged_args(argv: list[str]) -> list[str]:
    """``pretrained=smollm2-135m`` -> the converted local directory, for any backend."""
    from harness_ext.serve.packaged import PACKAGED, resolve_pretrained

    names = "|".join(map(re.escape, PACKAGED))
    pattern = re.compile(rf"(^|,)((?:[a-z_]+\.)?pretrained=)({names})(?=,|$)")
    out, in_args = [], False
    for arg in argv:
        if in_args and not arg.startswith("--"):
            if arg.lstrip().startswith("{"):
                data = json.loads(arg)
                data = {k: resolve_pretrained(v) if k.endswith("pretrained") else v for k, v in data.items()}
                arg = json.dumps(data)
            else:
                arg = pattern.sub(lambda m: m[1] + m[2] + str(resolve_pretrained(m[3])), arg)
        in_args = arg in ("--model_args", "-a") or (in_args and not arg.startswith("-"))
        out.append(arg)
    return out


EVAL_HELP = """usage: dq eval --model two_stage --model_args ARGS --tasks TASKS [any lm_eval flag]

`dq eval` is `lm_eval run` plus three conveniences: dq_tasks/ is on --include_path, packaged
model names (smollm2-135m, gemma3-270m) work in any pretrained= argument, and two_stage's
model_args are checked before lm-eval indexes tasks. Plain `lm_eval --model two_stage
--include_path "$(dq tasks --path)" ...` runs the same model.

two_stage model_args (flat key=value, or JSON):
  decomposer=BACKEND|none|oracle|replay
                                  any lm-eval backend (hf, vllm, local-completions, ...);
                                  none = single-stage baseline; oracle = gold sub-questions;
                                  replay = recorded sub-questions (needs decomposer.path=RUN)
  decomposer.path=RUN             replay: a two_stage run folder, study cell or traces_*.jsonl
  solver=BACKEND                  required
  decomposer.KEY=V, solver.KEY=V  passed to that stage's backend (pretrained, dtype, base_url, ...)
  decomposer_gen.KW=V, solver_gen.KW=V
                                  generation kwargs per stage (until, max_gen_toks, do_sample, ...)
  prompts=NAME|DIR                jinja2 prompt set (default: default)
  max_subquestions=N              cap (default: the task's, else 3 as in the paper)
  mode=static|dynamic             dynamic: self-ask rounds, one sub-question at a time
  baseline=single|cot             the solver's prompt when there are no sub-questions
  cache=PATH                      SQLite stage cache shared by reruns and studies

example:
  dq eval --model two_stage --tasks gsm8k_dq --limit 20 --apply_chat_template --log_samples \
    --output_path out --model_args decomposer=hf,decomposer.pretrained=smollm2-135m,solver=hf,solver.pretrained=smollm2-135m

lm-eval's own flags follow.
"""


def _check_two_stage(args) -> None:
    if getattr(args, "model", None) == "two_stage":
        from harness_ext.lmeval.models import parse_model_args

        config = parse_model_args(dict(args.model_args or {}))  # bad args fail now, before lm-eval indexes tasks
        tasks = getattr(args, "tasks", None) or []
        tasks = tasks.split(",") if isinstance(tasks, str) else list(tasks)
        if config.decomposer.backend == "oracle":
            _check_oracle_tasks(tasks)
        if config.decomposer.backend == "replay":
            _check_replay_tasks(config.decomposer.args["path"], tasks)


def _check_oracle_tasks(tasks: list[str]) -> None:
    """decomposer=oracle needs gold sub-questions: refuse tasks without them before any model loads."""
    from dq_tasks.registry import has_gold_subquestions, leaf_tasks

    leaves = [t for name in tasks if name.strip() for t in leaf_tasks(name.strip())]
    lacking = [t for t in leaves if has_gold_subquestions(t) is False]
    if lacking:
        raise DQError(
            f"decomposer=oracle needs gold sub-questions, which {', '.join(lacking)} lacks; "
            "pick tasks with gold_subquestions = yes in `dq tasks`, or another decomposer"
        )


def _check_replay_tasks(path: str, tasks: list[str]) -> None:
    """decomposer=replay needs recorded traces of every task: refuse others before any model loads."""
    from dq_tasks.registry import leaf_tasks
    from harness_ext.rundir import traces_files

    recorded = traces_files(path)
    lacking = [t for name in tasks if name.strip() for t in leaf_tasks(name.strip()) if t not in recorded]
    if lacking:
        raise DQError(
            f"decomposer.path={path} has no traces for {', '.join(lacking)} (it has {', '.join(sorted(recorded))}); "
            "point it at a run of these tasks"
        )


def run_eval(argv: list[str]) -> int:
    offline_defaults()
    from harness_ext.lmeval import cli as lmeval_cli
    from harness_ext.lmeval.compat import check_lm_eval
    from harness_ext.lmeval.plugin import register_model

    if not argv or argv[0] in ("-h", "--help"):
        print(EVAL_HELP + "\n" + lmeval_cli.help_text())
        return 0 if argv else 2
    check_lm_eval()
    register_model()  # also when the post-import hook is not installed (a bare checkout)
    lmeval_cli.run(_resolve_packaged_args(argv), check=_check_two_stage)
    return 0


def run_tasks(argv: list[str]) -> int:
    from dq_tasks import catalog

    if argv[:1] == ["--path"]:
        print(TASKS_DIR)  # for lm_eval --include_path
        return 0
    if argv:
        raise DQError(f"dq tasks takes no arguments but --path, got {' '.join(argv)!r}")

    rows = catalog()
    cols = list(rows[0].keys()) if rows else []
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        cells = [{True: "yes", False: "no"}.get(row[c], row[c]) if isinstance(row[c], bool) else row[c] for c in cols]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    return 0


def run_models(argv: list[str]) -> int:
    from harness_ext.serve.packaged import PACKAGED, cache_dir, hf_dir

    if argv[:1] == ["--prepare"]:
        for name in argv[1:] or list(PACKAGED):
            if name not in PACKAGED:
                raise DQError(f"unknown packaged model {name!r}; known: {', '.join(PACKAGED)}")
            print(f"{name}: {hf_dir(name)}")
        return 0
    import importlib.util

    for name, model in PACKAGED.items():
        if importlib.util.find_spec(model.module) is None:
            state = f"not installed: {model.install}"
        elif (cache_dir() / "hf" / name / "config.json").exists():
            state = f"ready (converted under {cache_dir() / 'hf' / name})"
        else:
            state = f"installed; converted on first use (or now: dq models --prepare {name})"
        print(f"{name}\t{state}")
    return 0


def _compare(argv: list[str]) -> int:
    from harness_ext.compare.cli import main as compare_main

    return compare_main(argv)


def _study(argv: list[str]) -> int:
    from harness_ext.study.command import main as study_main

    return study_main(argv)


def _serve(argv: list[str]) -> int:
    from harness_ext.serve.server import main as serve_main

    return serve_main(argv)


def _distill(argv: list[str]) -> int:
    from harness_ext.distill import main as distill_main

    return distill_main(argv)


def _view(argv: list[str]) -> int:
    from harness_ext.view.site import main as view_main

    return view_main(argv)


COMMANDS = {
    "eval": run_eval,
    "compare": _compare,
    "study": _study,
    "tasks": run_tasks,
    "models": run_models,
    "serve": _serve,
    "distill": _distill,
    "view": _view,
}


def _take_threads(argv: list[str]) -> list[str]:
    """``dq [COMMAND] ... --threads N``: torch threads for CPU models (default 1, see README)."""
    if "--threads" not in argv:
        return argv
    i = argv.index("--threads")
    if i + 1 >= len(argv) or not argv[i + 1].isdigit() or int(argv[i + 1]) < 1:
        raise DQError("--threads needs a positive number, e.g. --threads 1")
    os.environ["DQ_THREADS"] = argv[i + 1]
    return argv[:i] + argv[i + 2 :]


def main(argv: list[str] | None = None) -> int:
    # Before torch loads OpenMP: passive waiting keeps threads from spinning on a busy machine
    # (harness_ext/model/runtime.py has the measurement).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from harness_ext import __version__

        print(f"dq-harness {__version__}")
        return 0
    command = argv[0]
    if command not in COMMANDS:
        print(f"dq: error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        rest = _take_threads(argv[1:])
        return int(COMMANDS[command](rest) or 0)
    except DQError as exc:
        print(f"dq: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
