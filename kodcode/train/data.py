"""Training data adapters: our synth exports and the published KodCode sets, as TRL-ready datasets.

Formats (``data.format``):

* ``synth_sft`` / ``kodcode_sft_r1``: rows with ``conversations`` (``from``/``value``, ShareGPT style as
  in KodCode-V1-SFT-R1) or ``messages`` (``role``/``content``) become ``messages`` with a system turn
  (paper Fig. 13 by default). KodCode-V1-SFT-R1 gets the paper's §4.1 filters: incorrect responses,
  responses too long or too short, and class-based solutions are dropped.
* ``synth_rl`` / ``kodcode_rl``: KodCode-V1 / KodCode-Light-RL-10K columns become a conversational
  ``prompt`` (the question plus the function declaration from ``test_info``, as Code-R1 builds it, so
  the entry point matches the tests' imports), a ``test`` column the unit-test reward runs, and
  ``test_info`` as JSON (the reward takes the entry point and KodCode's name repair from it).

``data.path`` is a local ``.jsonl`` / ``.json`` (optionally ``.gz``) / ``.parquet`` file, a ``save_to_disk``
directory, a directory of such files, or a hub dataset name (``KodCode/KodCode-Light-RL-10K``; network
needed), read by ``kodcode.rows.load_dataset``.

    from kodcode.train.data import load_dataset_for
    ds = load_dataset_for(cfg.data, kind="sft", tokenizer=tok)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kodcode import rows
from kodcode.answers import answer_program
from kodcode.train.config import DataConfig

# Paper Fig. 13 (verbatim, including its spelling), used at fine-tuning time only (paper §4.1).
SFT_SYSTEM_PROMPT = (
    "Your role as an assistant involves thoroughly exploring questions through a systematic long thinking "
    "process before providing the final precise and accurate solutions. This requires engaging in a "
    "comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracing, and "
    "iteration to develop well-considered thinking process. Please structure your response into two main "
    "sections: Thought and Solution. In the Thought section, detail your reasoning process using the "
    "specified format: <think> thought with steps </think>. Each step should include detailed considerations "
    "such as analisying questions, summarizing relevant findings, brainstorming new ideas, verifying the "
    "accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution "
    "section after </think>, synthesize your analysis from the Thought section to present a clear, "
    "well-structured solution. Your final answer should be logically organized, precise, and include all "
    "essential implementation steps while maintaining conciseness."
)

RL_SYSTEM_PROMPT = (
    "You are a careful Python programmer. First reason about the task inside <think> </think> tags, then "
    "give your final solution as a single Python markdown code block (```python ... ```) after </think>."
)

RL_USER_TEMPLATE = "Please solve the programming task below in Python.\n\n{question}"
# Code-R1 (examples/data_preprocess/kodcode.py): naming the declaration keeps the entry point the
# tests import (`from solution import <name>`) from being renamed by the model.
RL_DECLARATION_NOTE = (
    "\n\nNote that the function declaration is {declaration}. Your code should be wrapped in a markdown code block."
)

# `builtin:<name>`: the few rows shipped for smoke runs (kodcode/train/fixtures/<name>.jsonl).
BUILTIN = "builtin:"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
_CLASS_DEF = re.compile(r"^class\s+\w+", re.MULTILINE)


def read_rows(path: str, split: str = "train", revision: str | None = None):
    """Load ``path`` (file, save_to_disk dir, dir of files, or hub name) as a ``datasets.Dataset``."""
    if path.startswith(BUILTIN):
        p = FIXTURES / f"{path[len(BUILTIN):]}.jsonl"
        if not p.is_file():
            known = ", ".join(BUILTIN + f.stem for f in sorted(FIXTURES.glob("*.jsonl")))
            raise FileNotFoundError(f"data.path={path} is not a built-in dataset (known: {known})")
        path = str(p)
    try:
        return rows.load_dataset(path, split=split, revision=revision)
    except rows.RowsError as e:
        raise type(e)(f"data (data.path, data.split): {e}") from e  # the config keys, then the problem


def to_messages(row: dict[str, Any], system_prompt: str | None) -> list[dict[str, str]]:
    """``conversations`` (from/value) or ``messages`` (role/content) as chat messages with a system turn."""
    if row.get("messages"):
        turns = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    elif row.get("conversations"):
        turns = []
        for t in row["conversations"]:
            role = ROLES.get(t["from"])
            if role is None:
                raise ValueError(
                    f"conversation turn has from={t['from']!r}; known speakers are {', '.join(ROLES)}. "
                    "Map it to one of those before training"
                )
            turns.append({"role": role, "content": t["value"]})
    else:
        raise ValueError(
            f"row {row.get('question_id', '?')} has neither `messages` nor `conversations` "
            f"(columns: {', '.join(sorted(row))}); SFT formats need one of them"
        )
    if system_prompt and turns[0]["role"] != "system":
        turns = [{"role": "system", "content": system_prompt}] + turns
    return turns


def keep_sft_row(row: dict[str, Any], filters, tokenizer=None) -> bool:
    """Paper §4.1: only correct R1 responses, neither too long nor too short, no class-based solutions."""
    if filters.require_correct and "r1_correctness" in row and str(row["r1_correctness"]) != "True":
        return False
    messages = to_messages(row, None)
    response = next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")
    if len(response) < filters.min_response_chars:
        return False
    if filters.max_response_tokens is not None:
        if tokenizer is None:
            raise ValueError("data.filters.max_response_tokens needs the model's tokenizer to count tokens")
        if len(tokenizer(response, add_special_tokens=False).input_ids) > filters.max_response_tokens:
            return False
    if not filters.drop_class_solutions:
        return True
    # The class check reads the program the reward would run, else the whole answer.
    program = answer_program(response).code or response.rsplit("</think>", 1)[-1]
    return not _CLASS_DEF.search(program)


def rl_prompt(row: dict[str, Any], system_prompt: str | None) -> list[dict[str, str]]:
    user = RL_USER_TEMPLATE.format(question=row["question"].strip())
    info = row.get("test_info") or []
    declaration = info[0].get("function_declaration") if info and isinstance(info[0], dict) else None
    if declaration:
        user += RL_DECLARATION_NOTE.format(declaration=declaration.strip())
    messages = [{"role": "user", "content": user}]
    if system_prompt:
        messages.insert(0, {"role": "system", "content": system_prompt})
    return messages


def _test_code(row: dict[str, Any]) -> str:
    # KodCode-V1's current card calls it `test`; an older revision and SFT-R1 call it `test_code`.
    test = row.get("test") or row.get("test_code")
    if not test:
        raise ValueError(
            f"row {row.get('question_id', '?')} has no `test` or `test_code` column (columns: "
            f"{', '.join(sorted(row))}); RL formats need pytest code to reward against"
        )
    return test


def _uses_blocked(row: dict[str, Any], blocked: list[str]) -> bool:
    text = (row.get("solution") or "") + "\n" + (row.get("test") or row.get("test_code") or "")
    return any(re.search(rf"\b{re.escape(lib)}\b", text) for lib in blocked)


@dataclass
class Splits:
    """What a trainer reads: the training rows, the held-out rows (None without one), and what was
    dropped on the way (``counts``: rows read, dropped by the filters / as too long / as unsolvable,
    kept per split)."""

    train: Any
    eval: Any | None = None
    counts: dict[str, int] = field(default_factory=dict)


def _filter_raw(ds, cfg: DataConfig, kind: str, tokenizer):
    for column, allowed in cfg.where.items():
        if column not in ds.column_names:
            raise ValueError(
                f"data.where filters on column {column!r}, which {cfg.path} lacks (columns: "
                f"{', '.join(ds.column_names)}); fix the column name"
            )
        keep = {str(a) for a in allowed}
        ds = ds.filter(lambda r, column=column, keep=keep: str(r[column]) in keep)
    if kind == "sft":
        if cfg.format == "kodcode_sft_r1" or cfg.filters != type(cfg.filters)():
            ds = ds.filter(lambda r: keep_sft_row(r, cfg.filters, tokenizer))
        system = SFT_SYSTEM_PROMPT if cfg.system_prompt is None else cfg.system_prompt
        ds = ds.map(lambda r: {"messages": to_messages(r, system)}, remove_columns=ds.column_names)
    elif cfg.blocked_libraries:
        ds = ds.filter(lambda r: not _uses_blocked(r, list(cfg.blocked_libraries)))
    return ds


def conversation_tokens(messages: list[dict[str, str]], tokenizer) -> int:
    """Tokens of the whole rendered conversation (system prompt, question, response, template markers),
    which is what TRL truncates at ``max_length``."""
    return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])


def drop_overlong(ds, tokenizer, max_length: int):
    """``ds`` without the conversations longer than ``max_length`` tokens, and how many went: a
    truncated row trains on a response cut mid-thought, or (cut inside the prompt) on nothing."""
    kept = ds.filter(lambda r: conversation_tokens(r["messages"], tokenizer) <= max_length)
    return kept, len(ds) - len(kept)


def _to_rl(ds, cfg: DataConfig):
    system = RL_SYSTEM_PROMPT if cfg.system_prompt is None else cfg.system_prompt
    return ds.map(
        lambda r: {
            "prompt": rl_prompt(r, system),
            "test": _test_code(r),
            # The reward reads the entry point from it (kodcode.answers.expected_functions).
            "test_info": json.dumps(r.get("test_info")) if not isinstance(r.get("test_info"), str)
            else r["test_info"],
            "question_id": str(r.get("question_id") or ""),
        },
        remove_columns=ds.column_names,
    )


def _read_eval_split(cfg: DataConfig):
    # A file path names a separate held-out file; anything else is a split of data.path.
    looks_like_file = Path(cfg.eval_split).suffix in (".jsonl", ".json", ".parquet") or Path(cfg.eval_split).is_dir()
    if looks_like_file:
        return read_rows(cfg.eval_split)
    if Path(cfg.path).is_file() or cfg.path.startswith(BUILTIN):
        raise ValueError(
            f"data.eval_split={cfg.eval_split!r} names a split, but data.path={cfg.path} is a single file with "
            "one split; give a held-out file (data.eval_split=path/to/eval.jsonl) or carve one (data.eval_size=256)"
        )
    return read_rows(cfg.path, cfg.eval_split, cfg.revision)


def load_splits(cfg: DataConfig, kind: str, tokenizer=None, max_length: int | None = None,
                check_rows: Callable | None = None) -> Splits:
    """Read ``cfg.path`` and return the ``kind`` trainer's (sft | grpo) training and held-out rows.

    SFT: conversations whose whole rendering exceeds ``max_length`` tokens are dropped (counted as
    ``too_long``). The held-out set is ``cfg.eval_size`` rows carved out before ``max_rows`` with
    ``cfg.seed``, or ``cfg.eval_split`` (a split of ``cfg.path`` or a file). RL: ``check_rows(ds) ->
    (ds, dropped)`` runs on the raw rows of each split after selection (prevalidation in the sandbox).
    """
    ds = read_rows(cfg.path, cfg.split, cfg.revision)
    counts = {"rows_read": len(ds)}
    ds = _filter_raw(ds, cfg, kind, tokenizer)
    counts["filtered"] = counts["rows_read"] - len(ds)  # data.where, the paper's SFT filters, blocked libraries
    if kind == "sft" and max_length is not None:
        if tokenizer is None:
            raise ValueError("the whole-conversation length filter needs the model's tokenizer")
        ds, counts["too_long"] = drop_overlong(ds, tokenizer, max_length)
    if len(ds) == 0:
        raise ValueError(
            f"no rows left from {cfg.path} (format {cfg.format}) after filtering ({counts}); loosen data.filters, "
            "raise trainer.max_length, or check the path"
        )
    held_out = None
    if cfg.eval_split:
        held_out = _filter_raw(_read_eval_split(cfg), cfg, kind, tokenizer)
        if kind == "sft" and max_length is not None:
            held_out, counts["eval_too_long"] = drop_overlong(held_out, tokenizer, max_length)
    elif cfg.eval_size:
        if cfg.eval_size >= len(ds):
            raise ValueError(
                f"data.eval_size={cfg.eval_size} leaves no training rows ({len(ds)} rows after filtering); "
                f"set data.eval_size below {len(ds)} (e.g. {max(1, len(ds) // 10)})"
            )
        parts = ds.train_test_split(test_size=cfg.eval_size, seed=cfg.seed, shuffle=True)
        ds, held_out = parts["train"], parts["test"]
    if cfg.max_rows is not None and cfg.max_rows < len(ds):
        ds = ds.shuffle(seed=cfg.seed).select(range(cfg.max_rows))
    if kind != "sft":
        if check_rows is not None:
            ds, counts["unsolvable"] = check_rows(ds)
            if held_out is not None:
                held_out, counts["eval_unsolvable"] = check_rows(held_out)
        if len(ds) == 0:
            raise ValueError(
                f"no RL rows left from {cfg.path} after prevalidation ({counts}): no row's reference solution "
                "passes its own tests in the sandbox; check the exec settings (exec.timeout_s, exec.python) with "
                "`python -m kodcode.train.score`, or set data.prevalidate=false"
            )
        ds = _to_rl(ds, cfg)
        held_out = _to_rl(held_out, cfg) if held_out is not None else None
    counts["train"] = len(ds)
    if held_out is not None:
        counts["eval"] = len(held_out)
    return Splits(ds, held_out, counts)


def load_dataset_for(cfg: DataConfig, kind: str, tokenizer=None, max_length: int | None = None):
    """The training rows of ``load_splits`` (held-out rows left out; no prevalidation)."""
    return load_splits(cfg, kind, tokenizer, max_length).train
