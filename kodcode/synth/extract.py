"""Question extraction from raw model output, and the annotator's JSON answers.

Models asked for "the question only" still wrap it: a ``<|Question Begin|>`` block after an
analysis, a heading (``### New Coding Assessment Question``), a label (``[Question 4]:``,
``**Question 4:**``, ``Question:``), a code fence around the whole answer, a reasoning block
(``<think>...</think>``), or a second question they were not asked for.  KodCode strips these with
a list of anchored regexes applied once in a fixed order, so a label that follows a heading, or a
heading with different wording, survives into the data.  Here the leading labels are stripped
repeatedly until none is left, and a trailing next-question label cuts the text.

    from kodcode.synth.extract import extract_question, ABSTAIN
    extract_question(raw)   # -> str, or None when nothing usable is left (or the model abstained)
"""

from __future__ import annotations

import json
import re

ABSTAIN = "BAD_DOCUMENT"


def _marker(name: str, edge: str) -> str:
    # "<|Question Begin|>" and its drift: spacing/case, or a heading line "### Question Begin".
    return (r"(?:<\|\s*" + name + r"\s+" + edge + r"\s*\|>|^[ \t]*#{1,6}[ \t]*" + name + r"\s+" + edge
            + r"[ \t]*:?[ \t]*$)")


_FLAGS = re.DOTALL | re.IGNORECASE | re.MULTILINE
_BLOCK = re.compile(_marker("Question", "Begin") + r"(.*?)(?:" + _marker("Question", "End") + r"|\Z)", _FLAGS)
_BEGIN = re.compile(_marker("Question", "Begin"), _FLAGS)
_END = re.compile(_marker("Question", "End"), _FLAGS)
_ANALYSIS = re.compile(_marker("Analysis", "Begin") + r".*?(?:" + _marker("Analysis", "End") + r"|\Z)", _FLAGS)
_THINK = re.compile(r"^.*?</think>", re.DOTALL)
_WORDS = r"(?:new\s+|additional\s+|next\s+|sample\s+|example\s+)?(?:coding\s+|programming\s+)?(?:assessment\s+)?"
_NOUNS = r"(?:question|problem|task|exercise|challenge)(?:\s+(?:statement|description))?"
_CORE = _WORDS + _NOUNS + r"(?:[ \t]*#?[ \t]*\d+)?"
_B = r"(?:\*\*|__)?"  # optional bold
# Leading labels, each matched only when it is unmistakably a label (never the first words of a
# sentence such as "Task scheduling is ..."):
_LEADING_LABELS = [
    # a heading line that is only a label: "### New Coding Assessment Question", "## Question 4:"
    re.compile(r"^[ \t]*#{1,6}[ \t]*" + _B + r"[ \t]*\[?" + _CORE + r"\]?[ \t]*:?[ \t]*" + _B + r"[ \t]*:?[ \t]*(?:\n|$)", re.I),
    # a bracketed label: "[Question 4]:", "**[Question 4]:**"
    re.compile(r"^[ \t]*" + _B + r"\[" + _CORE + r"\][ \t]*:?[ \t]*" + _B + r"[ \t]*:?", re.I),
    # a bold label: "**Question 4:**", "**New Question**"
    re.compile(r"^[ \t]*(?:\*\*|__)" + _CORE + r"[ \t]*:?[ \t]*(?:\*\*|__)[ \t]*:?", re.I),
    # a plain label ending in a colon: "Question:", "Problem Statement:", "Coding Assessment Question 2:"
    re.compile(r"^[ \t]*" + _CORE + r"[ \t]*:", re.I),
]
# A label that starts a further question inside the text: "[Question 5]:" or "### Question 5".
_NEXT_LABEL = re.compile(r"\n\s*(?:#{1,6}\s*)?(?:\*\*)?\[?\s*Question\s*\d+\s*\]?\s*:?(?:\*\*)?\s*(?:\n|:)", re.IGNORECASE)
_WHOLE_FENCE = re.compile(r"^\s*(`{3,}|~{3,})[ \t]*(?:markdown|md|text|plaintext)?[ \t]*\n(.*?)\n\s*\1\s*$", re.DOTALL | re.IGNORECASE)


def _strip_labels(text: str) -> str:
    for _ in range(8):  # labels can stack: "### New Question\n**[Question 4]:** ..."
        for pattern in _LEADING_LABELS:
            m = pattern.match(text)
            if m and m.end() > 0:
                text = text[m.end():].lstrip()  # a label with nothing after it leaves nothing
                break
        else:
            break
    return text


def extract_question(raw: str | None) -> str | None:
    """The question inside ``raw``, or None when there is none (empty output, or an abstention)."""
    if not raw:
        return None
    text = raw.replace("\r\n", "\n")
    if "</think>" in text:
        text = _THINK.sub("", text, count=1)
    block = _BLOCK.search(text)
    if block:
        text = block.group(1)
    else:
        text = _ANALYSIS.sub("", text)
    text = text.strip()
    fenced = _WHOLE_FENCE.match(text)
    if fenced:
        text = fenced.group(2).strip()
    text = _strip_labels(text)
    nxt = _NEXT_LABEL.search(text)
    if nxt and nxt.start() > 0:
        text = text[: nxt.start()]
    text = text.strip()
    if not text or ABSTAIN in text:
        return None
    return text


def is_abstention(raw: str | None) -> bool:
    return bool(raw) and ABSTAIN in (_BLOCK.search(raw).group(1) if _BLOCK.search(raw) else raw)


def question_block(raw: str | None) -> str:
    """``complete``, ``unterminated`` (Begin without End: the output was cut) or ``absent``."""
    if not raw or not _BEGIN.search(raw):
        return "absent"
    return "complete" if _END.search(raw) else "unterminated"


def parse_json_object(raw: str | None) -> dict | None:
    """The first JSON object in ``raw`` (annotator answers), tolerating fences and prose around it."""
    if not raw:
        return None
    text = raw
    if "</think>" in text:
        text = _THINK.sub("", text, count=1)
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text[m.start():])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None
