"""Step 1 question stages: prefill, seeded, snippets and docs (paper §2.1; filter is in annotate.py).

Each stage appends new question records to the records it receives::

    {"question_id": "Leetcode_00000012", "subset": "Leetcode", "question": "...",
     "metadata": {"method": "seeded", "prompt_id": 12, "seed_ids": [...], "prompt": "question_from_seeds.txt@<hash>",
                  "model": "...", "finish_reason": "stop"}}

* ``prefill`` (MAGPIE-Prefill): the model's chat template up to the user turn plus a prefix such
  as "Write a python function to", sampled ``n`` times per call, stopped at the first newline.
* ``seeded``: a few example questions from a seed bank, then "write one more" (LeetCode: 3 seeds
  per prompt because its questions are short; every other source: 1).
* ``snippets``: analyse a data-structure/algorithm snippet, then write a question that does not
  copy it (Algorithm, Data_Structure).
* ``docs``: a package documentation page → a question; the model may abstain with BAD_DOCUMENT,
  which drops the row.

Which subsets each stage builds is ``stage.<name>.subsets`` (names of ``subsets.<name>`` entries,
``conf/synth/subset/``).  The prompt list of a subset is built from its seeds with an RNG seeded by
(run seed, stage, subset), before sharding, so every shard of ``shard=i/n`` sees the same list
and takes its slice; question ids are the global prompt index.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from kodcode.config import setting
from kodcode.llm.types import GenerationRequest
from kodcode.synth.extract import ABSTAIN, extract_question
from kodcode.synth import store
from kodcode.synth.runner import StageContext, stage
from kodcode.synth.seeds import Seed, SeedSource, load_seeds
from kodcode.synth.templates import load_prompt


@dataclass
class SubsetConfig:
    name: str  # label in the records: Leetcode, Code_Contests, Data_Structure ... (KodCode-V1 names)
    seeds: SeedSource | None = None
    # prompts (= questions before extraction and dedup) for this subset
    num_prompts: int = setting(100, ge=0)
    seeds_per_prompt: int = setting(1, ge=1)  # paper §2.1: 3 for LeetCode, 1 for the others


@dataclass
class QuestionStageConfig:
    subsets: list[str] = field(default_factory=list)
    role: str = "questions"  # cfg.roles.<role> may point this stage at another llm/model
    temperature: float = 1.0  # KodCode completion_open_model.py default; questions need diversity
    top_p: float = 1.0
    max_tokens: int = 4096
    keep_raw: bool = False  # keep the raw model output in metadata.raw (for extraction audits)
    # An answer cut at max_tokens holds at most part of a question (KodCode keeps such rows, often
    # with the whole analysis as the "question": bench/reports/question_extraction.md).
    drop_truncated: bool = True
    window: int = setting(4096, ge=1, why="prompts per generation call; memory holds one window")


@dataclass
class PrefillConfig:
    subset: str = "prefill"
    role: str = "prefill"
    num_questions: int = 200
    n_per_call: int = setting(200, ge=1)  # KodCode/Magpie: n=200 samples of one prompt per engine call
    window: int = setting(64, ge=1, why="engine calls (of n_per_call samples) per generation call")
    # App. D.2 lists three openings; KodCode's script uses the first by default.
    prefixes: list[str] = setting(default_factory=lambda: ["Write a python function to"], min_len=1,
                                  fix="['Write a python function to']", why="the openings the model continues")
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 2048
    early_stop: bool = True  # stop at the first newline (Magpie's "early stopping")
    stop: list[str] = field(default_factory=lambda: ["Assistant", "assistant"])
    pre_query_template: str | None = None  # None: derived from the model's chat template
    system_prompt: str | None = None  # system turn used when deriving the template


def subset_config(ctx: StageContext, key: str) -> SubsetConfig:
    return _subset_config(ctx.name, ctx.full_cfg, key)


def _subset_config(stage_name: str, full_cfg, key: str) -> SubsetConfig:
    from kodcode.config import ConfigError, validate

    subsets = full_cfg.subsets
    if key not in subsets:
        raise ConfigError(
            [
                f"stage.{stage_name}.subsets names unknown subset {key!r}; defined subsets: "
                f"{', '.join(sorted(subsets)) or '(none)'}. Fix the name or add conf/synth/subset/{key}.yaml"
            ]
        )
    try:
        return validate(subsets[key], SubsetConfig)
    except ConfigError as e:
        raise ConfigError([f"subsets.{key}.{m}" for m in e.problems]) from None


def check_subsets(ctx: StageContext, keys: list[str]) -> list[SubsetConfig]:
    """Resolve every subset name first, so one error lists them all before any generation."""
    from kodcode.config import ConfigError

    out, problems = [], []
    for key in keys:
        try:
            out.append(subset_config(ctx, key))
        except ConfigError as e:
            problems += e.problems
    if problems:
        raise ConfigError(problems)
    return out


def precheck_subsets(keys: list[str], stage_name: str, full_cfg, need_seeds: bool = True) -> list[str]:
    """Startup check: every named subset exists, validates, and has a readable seed source."""
    from kodcode.config import ConfigError
    from kodcode.synth.paths import looked_in, resolve_path

    problems = []
    for key in keys:
        try:
            sub = _subset_config(stage_name, full_cfg, key)
        except ConfigError as e:
            problems += e.problems
            continue
        if need_seeds and sub.seeds is None:
            problems.append(f"subsets.{key}.seeds is required by stage {stage_name} (got null); set a path or hf_name")
        elif need_seeds and sub.seeds.path is not None and not resolve_path(sub.seeds.path).is_file():
            problems.append(
                f"subsets.{key}.seeds.path={sub.seeds.path} does not exist ({looked_in(sub.seeds.path)}): stage "
                f"{stage_name} writes {key} questions from these seeds. Point it at a local seed file "
                f"(JSONL/JSON/Parquet), set subsets.{key}.seeds.hf_name, or leave {key} out of "
                f"stage.{stage_name}.subsets=[...]"
            )
    return problems


def _precheck(stage_name: str):
    return lambda cfg, full_cfg: precheck_subsets(cfg.subsets, stage_name, full_cfg)


def _rng(ctx: StageContext, subset: str) -> random.Random:
    return random.Random(f"{ctx.full_cfg.seed}:{ctx.name}:{subset}")


def _record(ctx, subset: SubsetConfig, method: str, index: int, question: str, meta: dict) -> dict:
    return {
        "question_id": f"{subset.name}_{index:08d}",
        "subset": subset.name,
        "question": question,
        "metadata": {"method": method, "prompt_id": index, **meta},
    }


def _shard_bounds(ctx: StageContext, n: int) -> tuple[int, int]:
    """This shard's contiguous slice of ``n`` items (as ``ctx.shard_slice`` cuts a list)."""
    i, shards = ctx.shard
    return n * i // shards, n * (i + 1) // shards


def _run_prompts(ctx: StageContext, cfg: QuestionStageConfig, subset: SubsetConfig, method: str,
                 prompts, prompt_tag: str):
    """One answer per prompt of this shard's slice, a window of prompts per generation call;
    yields the extracted questions as each window finishes and counts drops.

    ``prompts`` is an iterator over all ``subset.num_prompts`` prompts in order (built lazily:
    the ones before this shard's slice are drawn, so the random choices match, and dropped)."""
    lo, hi = _shard_bounds(ctx, subset.num_prompts)
    mine = itertools.islice(prompts, lo, hi)
    llm = ctx.llm(cfg.role)
    key = f"questions_{subset.name}"
    ctx.counts[key] = ctx.counts.get(key, 0)
    for window in store.windows(mine, cfg.window):
        requests = [
            GenerationRequest(messages=[{"role": "user", "content": text}], temperature=cfg.temperature,
                              top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=ctx.full_cfg.seed + index)
            for index, text, _ in window
        ]
        results = llm.generate(requests, desc=f"{ctx.name}:{subset.name}", progress=ctx.full_cfg.progress)
        for (index, _, seed_ids), res in zip(window, results):
            raw = res.texts[0] if res.texts else ""
            reason = res.finish_reasons[0] if res.finish_reasons else None
            if cfg.drop_truncated and reason == "length":
                ctx.counts["dropped_truncated"] = ctx.counts.get("dropped_truncated", 0) + 1
                continue
            question = extract_question(raw)
            if question is None:
                reason = "abstained" if ABSTAIN in raw else "empty"
                ctx.counts[f"dropped_{reason}"] = ctx.counts.get(f"dropped_{reason}", 0) + 1
                continue
            meta = {"seed_ids": seed_ids, "prompt": prompt_tag, "model": llm.model_id, "finish_reason": reason}
            if cfg.keep_raw:
                meta["raw"] = raw
            ctx.counts[key] += 1
            yield _record(ctx, subset, method, index, question, meta)


def seeded_prompts(subset: SubsetConfig, seeds: list[Seed], rng: random.Random) -> Iterator[tuple[int, str, list[str]]]:
    prompt = load_prompt("question_from_seeds.txt")
    k = min(subset.seeds_per_prompt, len(seeds))
    for index in range(subset.num_prompts):
        chosen = rng.sample(seeds, k)
        examples = "".join(f"[Question {i}]: {s.text.strip()}\n\n" for i, s in enumerate(chosen, 1))
        yield index, prompt.render(examples=examples, next_label=f"[Question {k + 1}]:"), [s.id for s in chosen]


def _one_seed_prompts(subset: SubsetConfig, seeds: list[Seed], rng: random.Random, render) -> Iterator[tuple[int, str, list[str]]]:
    for index in range(subset.num_prompts):
        s = rng.choice(seeds)
        yield index, render(s), [s.id]


def snippet_prompts(subset: SubsetConfig, seeds: list[Seed], rng: random.Random) -> Iterator[tuple[int, str, list[str]]]:
    prompt = load_prompt("question_from_snippet.txt")
    return _one_seed_prompts(subset, seeds, rng, lambda s: prompt.render(code=s.text.strip()))


def docs_prompts(subset: SubsetConfig, seeds: list[Seed], rng: random.Random) -> Iterator[tuple[int, str, list[str]]]:
    prompt = load_prompt("question_from_docs.txt")

    def render(s: Seed) -> str:
        package = str(next(iter(s.extra.values()), "") or "this package")  # extra_fields[0]: the package name
        return prompt.render(package=package, content=s.text.strip())

    return _one_seed_prompts(subset, seeds, rng, render)


def _question_stage(records, ctx: StageContext, method: str, builder, prompt_name: str):
    """The input rows passed through, then each subset's new questions, a window at a time."""
    cfg: QuestionStageConfig = ctx.cfg
    subsets = check_subsets(ctx, cfg.subsets)
    # Load every subset's seeds before generating anything: a bad seed file fails the stage early.
    seeds = {s.name: load_seeds(s.seeds, key) if s.seeds else None for key, s in zip(cfg.subsets, subsets)}
    for key, subset in zip(cfg.subsets, subsets):
        if seeds[subset.name] is None:
            from kodcode.config import ConfigError

            raise ConfigError([f"subsets.{key}.seeds is required for stage {ctx.name} (got null); set a path or hf_name"])
    yield from records
    for key, subset in zip(cfg.subsets, subsets):
        prompts = builder(subset, seeds[subset.name], _rng(ctx, key))
        yield from _run_prompts(ctx, cfg, subset, method, prompts, load_prompt(prompt_name).tag)


@stage("seeded", schema=QuestionStageConfig, precheck=_precheck("seeded"), prompts=("question_from_seeds.txt",),
       streams=True)
def seeded(records, ctx: StageContext):
    return _question_stage(records, ctx, "seeded", seeded_prompts, "question_from_seeds.txt")


@stage("snippets", schema=QuestionStageConfig, precheck=_precheck("snippets"), prompts=("question_from_snippet.txt",),
       streams=True)
def snippets(records, ctx: StageContext):
    return _question_stage(records, ctx, "snippets", snippet_prompts, "question_from_snippet.txt")


@stage("docs", schema=QuestionStageConfig, precheck=_precheck("docs"), prompts=("question_from_docs.txt",),
       streams=True)
def docs(records, ctx: StageContext):
    return _question_stage(records, ctx, "docs", docs_prompts, "question_from_docs.txt")


@stage("prefill", schema=PrefillConfig,
       precheck=lambda cfg, full: precheck_subsets([cfg.subset], "prefill", full, need_seeds=False), streams=True)
def prefill(records, ctx: StageContext):
    """The input rows passed through, then the prefill questions, ``window`` engine calls at a time."""
    cfg: PrefillConfig = ctx.cfg
    [subset] = check_subsets(ctx, [cfg.subset])
    llm = ctx.llm(cfg.role)
    template = cfg.pre_query_template if cfg.pre_query_template is not None else llm.pre_query_template(cfg.system_prompt)
    stop = [*cfg.stop, *(["\n"] if cfg.early_stop else [])]
    calls = math.ceil(cfg.num_questions / cfg.n_per_call)
    # One request per call, each with its own seed: the n samples of a call are drawn together
    # (prefix caching makes the shared template free), different calls differ by seed.
    lo, hi = _shard_bounds(ctx, calls)
    key = f"questions_{subset.name}"
    ctx.counts[key] = 0
    yield from records
    for window in store.windows(range(lo, hi), cfg.window):
        plan = [(c, cfg.prefixes[c % len(cfg.prefixes)]) for c in window]
        requests = [
            GenerationRequest(prompt=template + prefix, n=min(cfg.n_per_call, cfg.num_questions - c * cfg.n_per_call),
                              temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens, stop=stop,
                              seed=ctx.full_cfg.seed + c)
            for c, prefix in plan
        ]
        results = llm.generate(requests, desc="prefill", progress=ctx.full_cfg.progress)
        for (c, prefix), res in zip(plan, results):
            for j, (text, reason) in enumerate(zip(res.texts, res.finish_reasons)):
                body = text.strip()
                if not body:
                    ctx.counts["dropped_empty"] = ctx.counts.get("dropped_empty", 0) + 1
                    continue
                # KodCode stores the prefix + " " + completion as the question.
                ctx.counts[key] += 1
                yield _record(ctx, subset, "prefill", c * cfg.n_per_call + j, f"{prefix} {body}",
                              {"seed_ids": [], "prompt": f"prefill:{prefix}", "model": llm.model_id,
                               "finish_reason": reason})
