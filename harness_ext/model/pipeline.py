"""Streaming between the stages: a doc's solve request goes out as soon as its decomposition
has returned and been parsed, so the decomposer's and the solver's servers work at once.

The barrier path (every decomposition of a batch, then every solution) takes the *sum* of both
stages' time; here each doc is a short chain of awaits (decompose -> accept -> solve), all docs'
chains run at once, and each stage bounds its own requests in flight by its backend's
``num_concurrent``. A lane per stage serves the chains:

- ``ApiLane`` (lm-eval's TemplateAPI backends: local-completions, local-chat-completions,
  openai-*): one request per doc through the backend's own ``amodel_call``, retry policy and
  timeout; seconds are measured per request (from when it holds a slot to its answer).
- ``BatchLane`` (in-process backends, hf): requests that arrive while a batch runs wait for the
  next batch, which runs on a worker thread, so a mixed pair overlaps the in-process batches
  with the served requests. Two in-process stages keep the barrier (one device, no gain).

Both lanes read the stage cache first (a hit skips the backend) and commit each finished
generation at once, so an interrupted run keeps every decomposition and solution it finished.
Outputs come back in the items' order whatever the order requests finish in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from harness_ext.model.items import Item
from harness_ext.model.spec import TwoStageConfig
from harness_ext.model.stages import STAGE_LABELS, Generation, Request, Stage, progress_bar

# Docs per in-process batch while streaming when the stage names no numeric batch_size: small
# enough that the served stage gets work early, large enough to batch on the device.
STREAM_BATCH = 8


class Lane(Protocol):
    async def submit(self, req: Request, chat_ready: bool) -> Generation: ...


Lanes = dict[str, Lane]
Chain = Callable[[Item, Lanes], Coroutine[Any, Any, Generation]]


def streams(config: TwoStageConfig, stages: dict[str, Stage]) -> bool:
    """Stream when it is on (``pipeline=``), a stage is served, and there are two stages to
    overlap (a model decomposer, or dynamic mode whose rounds need not wait for each other)."""
    if not config.pipeline or not any(s.served for s in stages.values()):
        return False
    return config.decomposer.is_model or config.mode == "dynamic"


class ApiLane:
    """A served stage: every doc its own request, at most ``num_concurrent`` in flight."""

    def __init__(self, stage: Stage, bar: Any) -> None:
        self.stage, self.bar = stage, bar
        limit = stage.backends.concurrency(stage.lm)
        self.slots = asyncio.Semaphore(limit)  # ours: bounds the requests and times them
        self.inner = asyncio.Semaphore(limit)  # lm-eval's amodel_call takes one; never waits
        self.session: Any = None

    async def __aenter__(self) -> ApiLane:
        self.session = self.stage.backends.open_session(self.stage.lm)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        self.stage.backends.reset_usage(self.stage.lm)

    async def submit(self, req: Request, chat_ready: bool) -> Generation:
        stage = self.stage
        prompt = stage.prompts([req], chat_ready)[0]
        key = stage.keys([req], [prompt])[0]
        gen = stage.lookup([key], [prompt]).get(0)
        if gen is None:
            gen = await self._send(req, prompt)
            stage.store([key], [gen])
        stage.finish([req], [gen])
        self.bar.update(1)
        return gen

    async def _send(self, req: Request, prompt: Any) -> Generation:
        stage = self.stage
        async with self.slots:
            start = time.perf_counter()
            text = await stage.backends.generate_one(
                stage.spec.role, stage.spec.backend, stage.lm, self.session, self.inner, prompt, dict(req.gen_kwargs)
            )
            seconds = time.perf_counter() - start
        stage.stats.calls += 1
        return stage.generation(prompt, text, seconds)


class BatchLane:
    """An in-process stage: queued requests run in batches on a worker thread."""

    def __init__(self, stage: Stage, bar: Any) -> None:
        self.stage, self.bar = stage, bar
        size = stage.spec.args.get("batch_size")
        numeric = isinstance(size, int) or (isinstance(size, str) and size.isdigit())
        self.size = max(int(size), 1) if numeric else STREAM_BATCH  # type: ignore[arg-type]
        self.queue: list[tuple[Request, Any, str, asyncio.Future[Generation]]] = []
        self.worker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BatchLane:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.worker is not None:
            self.worker.cancel()

    async def submit(self, req: Request, chat_ready: bool) -> Generation:
        stage = self.stage
        prompt = stage.prompts([req], chat_ready)[0]
        key = stage.keys([req], [prompt])[0]
        gen = stage.lookup([key], [prompt]).get(0)
        if gen is None:
            done: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
            self.queue.append((req, prompt, key, done))
            if self.worker is None:
                self.worker = asyncio.create_task(self._drain())
            gen = await done
        stage.finish([req], [gen])
        self.bar.update(1)
        return gen

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue[: self.size], self.queue[self.size :]
                reqs, prompts = [b[0] for b in batch], [b[1] for b in batch]
                try:
                    gens = await asyncio.to_thread(self.stage._call, reqs, prompts)
                except Exception as exc:
                    for *_, done in batch:
                        done.set_exception(exc)
                    continue
                # The cache is written here, on the loop's thread (sqlite connections are not
                # shared across threads).
                self.stage.store([b[2] for b in batch], gens)
                for (*_, done), gen in zip(batch, gens):
                    done.set_result(gen)
        finally:
            self.worker = None


def lane(stage: Stage, bar: Any) -> ApiLane | BatchLane:
    return ApiLane(stage, bar) if stage.served else BatchLane(stage, bar)


def stream(
    stages: dict[str, Stage], items: list[Item], chain: Chain, totals: dict[str, int | None]
) -> list[Generation]:
    """Run ``chain`` for every item at once; the solutions in the items' order. ``totals``: the
    progress bar's length per stage (None: open-ended, as dynamic mode's)."""
    return asyncio.run(_stream(stages, items, chain, totals))


async def _stream(
    stages: dict[str, Stage], items: list[Item], chain: Chain, totals: dict[str, int | None]
) -> list[Generation]:
    async with contextlib.AsyncExitStack() as stack:
        lanes: Lanes = {}
        for position, (role, stage) in enumerate(stages.items()):
            bar = stack.enter_context(progress_bar(STAGE_LABELS[role], totals.get(role), position=position))
            lanes[role] = await stack.enter_async_context(lane(stage, bar))
        tasks = [asyncio.create_task(chain(item, lanes)) for item in items]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            # One clear error (the first): the other chains stop; what they finished is cached.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


@dataclass(frozen=True)
class StaticPlan:
    """Static mode's chain for one doc, from the model's per-doc halves (the decomposer seam)."""

    decompose: Callable[[Item], Request]  # the decompose prompt for one doc
    accept: Callable[[Item, Generation], None]  # parse it: sub-questions and flags
    solve: Callable[[Item], Request]  # the solve request, chat-ready for the solver

    async def __call__(self, item: Item, lanes: Lanes) -> Generation:
        gen = await lanes["decomposer"].submit(self.decompose(item), chat_ready=False)
        self.accept(item, gen)
        return await lanes["solver"].submit(self.solve(item), chat_ready=True)
