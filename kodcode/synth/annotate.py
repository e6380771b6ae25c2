"""The ``filter`` stage: an LLM annotator rates existing instructions; good coding tasks are kept.

Paper §2.1 (Filter subset) and Figs. 14-15: each instruction gets an input-quality rating (very
poor … excellent) and a task category (one primary tag out of 20); rows rated good or excellent
whose primary tag is Algorithm Implementation or Function Generation are kept.  The instructions
come from a seed source (a Magpie-style instruction set: a local file or a Hugging Face dataset).
The annotator is role ``annotator`` (``roles.annotator`` picks its model; KodCode used
Llama-3.1-8B-Instruct at temperature 0).  Answers that are not parseable JSON drop the row and are
counted (``dropped_unparsed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kodcode.llm.types import GenerationRequest
from kodcode.synth.extract import parse_json_object
from kodcode.synth.questions import _rng, check_subsets, precheck_subsets
from kodcode.synth.runner import StageContext, stage
from kodcode.synth.seeds import load_seeds
from kodcode.synth.templates import load_prompt

QUALITY_LEVELS = ("very poor", "poor", "average", "good", "excellent")


@dataclass
class FilterConfig:
    subset: str = "filter"
    role: str = "annotator"
    keep_quality: list[str] = field(default_factory=lambda: ["good", "excellent"])
    keep_tags: list[str] = field(default_factory=lambda: ["Algorithm Implementation", "Function Generation"])
    temperature: float = 0.0  # KodCode's tagger: temperature 0, max_tokens 1024
    max_tokens: int = 1024

    def check(self) -> list[str]:
        bad = [q for q in self.keep_quality if q not in QUALITY_LEVELS]
        if bad:
            return [f"keep_quality has unknown levels {bad}; levels are {', '.join(QUALITY_LEVELS)}"]
        return []


def _norm(value) -> str:
    return str(value or "").strip().lower()


def judge(quality: dict | None, category: dict | None, cfg: FilterConfig) -> tuple[bool, str]:
    """(keep?, reason) for one instruction's two annotator answers."""
    if quality is None or category is None:
        return False, "unparsed"
    if _norm(quality.get("input_quality")) not in {_norm(q) for q in cfg.keep_quality}:
        return False, "low_quality"
    if _norm(category.get("primary_tag")) not in {_norm(t) for t in cfg.keep_tags}:
        return False, "off_category"
    return True, "kept"


@stage("filter", schema=FilterConfig, prompts=("annotate_quality.txt", "annotate_category.txt"),
       precheck=lambda cfg, full: precheck_subsets([cfg.subset], "filter", full))
def filter_instructions(records: list[dict], ctx: StageContext) -> list[dict]:
    cfg: FilterConfig = ctx.cfg
    [subset] = check_subsets(ctx, [cfg.subset])
    if subset.seeds is None:
        from kodcode.config import ConfigError

        raise ConfigError([f"subsets.{cfg.subset}.seeds is required for stage filter (got null)"])
    seeds = load_seeds(subset.seeds, cfg.subset)
    rng = _rng(ctx, cfg.subset)
    order = list(range(len(seeds)))
    rng.shuffle(order)
    chosen = [(i, seeds[j]) for i, j in enumerate(order[: subset.num_prompts])]
    mine = ctx.shard_slice(chosen)
    qp, cp = load_prompt("annotate_quality.txt"), load_prompt("annotate_category.txt")
    requests = []
    for _, s in mine:
        for p in (qp, cp):
            requests.append(GenerationRequest(messages=[{"role": "user", "content": p.render(question=s.text.strip())}],
                                              temperature=cfg.temperature, max_tokens=cfg.max_tokens))
    llm = ctx.llm(cfg.role)
    results = llm.generate(requests, desc="filter", progress=ctx.full_cfg.progress)
    out = list(records)
    for k, (index, s) in enumerate(mine):
        quality = parse_json_object(results[2 * k].texts[0] if results[2 * k].texts else None)
        category = parse_json_object(results[2 * k + 1].texts[0] if results[2 * k + 1].texts else None)
        keep, reason = judge(quality, category, cfg)
        ctx.counts[reason] = ctx.counts.get(reason, 0) + 1
        if keep:
            out.append({
                "question_id": f"{subset.name}_{index:08d}",
                "subset": subset.name,
                "question": s.text.strip(),
                "metadata": {"method": "filter", "prompt_id": index, "seed_ids": [s.id], "model": llm.model_id,
                             "prompt": f"{qp.tag},{cp.tag}", "input_quality": quality.get("input_quality"),
                             "primary_tag": category.get("primary_tag"), "other_tags": category.get("other_tags")},
            })
    return out
