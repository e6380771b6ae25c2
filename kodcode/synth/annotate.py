"""The ``filter`` stage: an LLM annotator rates existing instructions; good coding tasks are kept.

KodCode's Filter subset (paper §2.1 and App. A): Magpie instructions (with their responses) are
first filtered for Python-specific content, then an annotator labels each for input quality (very
poor … excellent) and task category (one primary tag out of KodCode's 20, ``TASK_TAGS``); rows rated
good or excellent ("high quality") whose primary tag is Algorithm Implementation or Function
Generation are kept.  The two annotator prompts (``prompts/annotate_quality.txt``,
``prompts/annotate_category.txt``) are KodCode's own, word for word
(``pipeline/tagging/str_utils.py``: ``input_quality_rating``, ``input_classification``), with their
rating rules: a query not about code, code with no instruction, or a request for a language other
than Python is "very poor"; a short query with a clear intent is "good".

The Python pre-filter (``python_only``; the paper gives no code for it, so this is ours): an
instruction that names another programming language and not Python is dropped; when the seeds carry
the response (``response_field``, e.g. Magpie's ``response`` listed in the subset's
``seeds.extra_fields``), the response must contain Python code too.  Rows dropped here are never
sent to the annotator (``dropped_not_python``).

The annotator is role ``annotator`` (``roles.annotator`` picks its model; KodCode: Llama-3.1-8B-Instruct
at temperature 0, 1024 tokens, ``tagging/unitag.py``).  Answers that are not parseable JSON drop the
row and are counted (``unparsed``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kodcode.answers import fenced_blocks, is_python
from kodcode.config import setting
from kodcode.llm.types import GenerationRequest
from kodcode.synth import store
from kodcode.synth.extract import parse_json_object
from kodcode.synth.questions import _rng, check_subsets, precheck_subsets
from kodcode.synth.runner import StageContext, stage
from kodcode.synth.seeds import load_seeds
from kodcode.synth.templates import load_prompt

QUALITY_LEVELS = ("very poor", "poor", "average", "good", "excellent")
# KodCode tagging/str_utils.py input_classification: all_task_tags, in its order.
TASK_TAGS = (
    "Debugging", "Code Review", "Code Refactoring", "Code Optimization", "Function Generation", "Class Design",
    "Algorithm Implementation", "API Integration", "Database Operations", "Testing", "Security", "Error Handling",
    "Concurrency", "UI/UX Implementation", "DevOps", "Documentation", "Dependency Management", "Code Migration",
    "Performance Profiling", "Others",
)
_OTHER_LANGUAGE = re.compile(
    r"(?<![\w.])(?:c\+\+|c#|f#)|\b(?:javascript|typescript|node\.?js|java|golang|rust|ruby|php|swift|kotlin|"
    r"scala|perl|haskell|lua|matlab|julia|dart|elixir|erlang|fortran|cobol|objective-c|vba|visual basic|"
    r"powershell|verilog|solidity)\b", re.IGNORECASE)  # not SQL, bash or HTML: Python tasks use them too
# One-letter names only where they read as a language: "in C", "C program", "using R", "in Go".
_SHORT_LANGUAGE = re.compile(r"\b(?:in|using|with|write)\s+(?:C|R|Go)\b(?![+#])|\b(?:C|R|Go)\s+(?:program|code|function|script)")
_PYTHON = re.compile(r"\bpython\d?\b|\bpy\b", re.IGNORECASE)
_PYTHON_TAGS = ("python", "py", "python3", "py3")


def names_other_language(text: str) -> bool:
    """The text asks for (or is about) another programming language and never mentions Python."""
    return not _PYTHON.search(text) and bool(_OTHER_LANGUAGE.search(text) or _SHORT_LANGUAGE.search(text))


def has_python_code(response: str) -> bool:
    """A python-tagged fenced block, an untagged one that parses as Python, or an unfenced Python text."""
    blocks = fenced_blocks(response)
    if not blocks:
        return is_python(response)
    return any(tag in _PYTHON_TAGS or (tag == "" and is_python(code)) for tag, code in blocks)


def python_specific(instruction: str, response: str | None = None) -> bool:
    """KodCode App. A: "Python-specific content in both instructions and responses"."""
    if names_other_language(instruction):
        return False
    return response is None or has_python_code(response)


@dataclass
class FilterConfig:
    subset: str = "filter"
    role: str = "annotator"
    # paper: "high quality"
    keep_quality: list[str] = setting(default_factory=lambda: ["good", "excellent"], one_of=QUALITY_LEVELS)
    keep_tags: list[str] = setting(default_factory=lambda: ["Algorithm Implementation", "Function Generation"],
                                   one_of=TASK_TAGS, why="the tags KodCode's annotator prompt offers; KodCode "
                                   "keeps Algorithm Implementation and Function Generation")
    temperature: float = 0.0  # KodCode's tagger: temperature 0, max_tokens 1024
    max_tokens: int = 1024
    python_only: bool = True  # paper App. A: Python-specific instructions (and responses) only
    response_field: str | None = None  # a seed extra field holding the instruction's response (Magpie: response)
    window: int = setting(2048, ge=1, why="instructions per generation call; memory holds one window's replies")


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


def _precheck(cfg: FilterConfig, full) -> list[str]:
    problems = precheck_subsets([cfg.subset], "filter", full)
    seeds = ((full.subsets.get(cfg.subset) or {}).get("seeds") or {}) if not problems else {}
    if cfg.response_field and cfg.response_field not in (seeds.get("extra_fields") or []):
        problems.append(f"stage.filter.response_field={cfg.response_field} is not among "
                        f"subsets.{cfg.subset}.seeds.extra_fields ({seeds.get('extra_fields') or []}): the seeds must "
                        f"carry it; add it there, or set stage.filter.response_field=null to check instructions only")
    return problems


@stage("filter", schema=FilterConfig, prompts=("annotate_quality.txt", "annotate_category.txt"),
       precheck=_precheck, streams=True)
def filter_instructions(records, ctx: StageContext):
    """The input rows passed through, then the kept instructions, ``window`` seeds at a time."""
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
    if cfg.python_only:
        n = len(mine)
        mine = [(i, s) for i, s in mine
                if python_specific(s.text, s.extra.get(cfg.response_field) if cfg.response_field else None)]
        ctx.counts["dropped_not_python"] = n - len(mine)
    qp, cp = load_prompt("annotate_quality.txt"), load_prompt("annotate_category.txt")
    llm = ctx.llm(cfg.role)
    yield from records
    for window in store.windows(mine, cfg.window):
        requests = []
        for _, s in window:
            for p in (qp, cp):
                requests.append(GenerationRequest(messages=[{"role": "user", "content": p.render(question=s.text.strip())}],
                                                  temperature=cfg.temperature, max_tokens=cfg.max_tokens))
        results = llm.generate(requests, desc="filter", progress=ctx.full_cfg.progress)
        for k, (index, s) in enumerate(window):
            quality = parse_json_object(results[2 * k].texts[0] if results[2 * k].texts else None)
            category = parse_json_object(results[2 * k + 1].texts[0] if results[2 * k + 1].texts else None)
            keep, reason = judge(quality, category, cfg)
            ctx.counts[reason] = ctx.counts.get(reason, 0) + 1
            if keep:
                yield {
                    "question_id": f"{subset.name}_{index:08d}",
                    "subset": subset.name,
                    "question": s.text.strip(),
                    "metadata": {"method": "filter", "prompt_id": index, "seed_ids": [s.id], "model": llm.model_id,
                                 "prompt": f"{qp.tag},{cp.tag}", "input_quality": quality.get("input_quality"),
                                 "primary_tag": category.get("primary_tag"), "other_tags": category.get("other_tags")},
                }
