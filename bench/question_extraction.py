"""Question extraction, ours vs KodCode's, on the raw Step 1 outputs of KodCode's demo run.

KodCode's demo (``../shared/data/kodcode-demo/pipeline/``) kept, for three subsets (algorithm,
leetcode, prefill), the raw question-generation outputs (``*_results.jsonl.gz``: user prompt +
assistant reply) and the questions its step 1.3 extracted from them (``KodCode_questions2sv_*.jsonl.gz``
/ ``KodCode_prefill_*.jsonl.gz``, keyed by ``metadata.row_id``).  This script runs
``kodcode.synth.extract.extract_question`` on the same replies and compares, row by row:

* kept by both / only KodCode / only us (KodCode drops empty and BAD_DOCUMENT rows; so do we);
* identical text, identical after whitespace normalisation, or different;
* label residue: extracted questions whose first line is only a label ("### New Question",
  "[Question 4]:", "**Question:**", "Problem Statement:"), or that still hold pipeline markers,
  analysis text, or a second "[Question N]:".

    .venv/bin/python bench/question_extraction.py [--demo ../shared/data/kodcode-demo] \
        [--out bench/reports/question_extraction.md]

Every differing row is listed in the report (first 300 characters of each side) so each
difference can be judged.  The baseline is KodCode's own extracted text from the same files.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kodcode.rows import read_rows
from kodcode.synth.extract import extract_question, question_block  # noqa: E402

# Residue: a first line that is only a label ("### New Coding Assessment Question", "**Question 4:**",
# "[Question 4]:", "Problem Statement:"), pipeline markers or analysis text left in, or a second question.
LABEL_LINE = re.compile(
    r"^(new\s+)?(coding\s+|programming\s+)?(assessment\s+)?(question|problem|task)(\s+(statement|description))?(\s*\d+)?$",
    re.IGNORECASE,
)
LEFTOVER = re.compile(r"<\|[^|]*\|>|Analysis\s+(Begin|End)|^\s*\[Question\s*\d+\]\s*:", re.IGNORECASE | re.MULTILINE)


def read_jsonl_gz(path: Path) -> list[dict]:
    return list(read_rows(path))


def field(row: dict, name: str):
    """The demo files store some nested fields as Python reprs (strings); read either form."""
    value = row[name]
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return json.loads(value)
    return value


def runs(demo: Path) -> list[tuple[str, Path, Path]]:
    out = []
    for d in sorted((demo / "pipeline").glob("KodCode_*_*_*")):
        if not d.is_dir():
            continue
        mode = d.name.split("_")[1]
        if mode == "prefill":
            raw, extracted = d / f"{d.name}_results.jsonl.gz", d / f"{d.name}.jsonl.gz"
        else:
            stem = d.name.replace("KodCode_", "")
            raw = d / f"KodCode_seeds2questions_{stem}_results.jsonl.gz"
            extracted = d / f"KodCode_questions2sv_{stem}.jsonl.gz"
        if raw.is_file() and extracted.is_file():
            out.append((mode, raw, extracted))
    return out


def norm(text: str) -> str:
    return " ".join(text.split())


def residue(text: str | None) -> bool:
    if not text:
        return False
    first = text.strip().splitlines()[0]
    label = re.sub(r"^[#*_\s\[]+|[\]*_:\s]+$", "", first)
    return bool(LABEL_LINE.match(label)) or bool(LEFTOVER.search(text))


def compare(mode: str, raw_path: Path, extracted_path: Path) -> dict:
    raw_rows = read_jsonl_gz(raw_path)
    theirs = {field(r, "metadata")["row_id"]: r["instruction"] for r in read_jsonl_gz(extracted_path)}
    stats = {"mode": mode, "raw": len(raw_rows), "kodcode_kept": len(theirs), "ours_kept": 0, "both": 0,
             "identical": 0, "same_modulo_space": 0, "only_kodcode": 0, "only_ours": 0,
             "residue_kodcode": 0, "residue_ours": 0, "truncated": 0, "seconds": 0.0, "diffs": []}
    started = time.perf_counter()
    ours_by_row = {}
    for r in raw_rows:
        messages = field(r, "messages")
        reply = next((m["content"] for m in messages if m["role"] == "assistant"), "")
        ours_by_row[field(r, "metadata")["row_id"]] = (reply, extract_question(reply))
    stats["seconds"] = time.perf_counter() - started
    for row_id, (reply, ours) in ours_by_row.items():
        kod = theirs.get(row_id)
        # The demo files do not record finish reasons; a question block that opens and never
        # closes means the reply was cut at max_tokens, which our stages drop (drop_truncated).
        if ours is not None and question_block(reply) == "unterminated":
            stats["truncated"] += 1
            stats["diffs"].append((row_id, "cut at max_tokens: we drop it", kod, ours))
            ours = None
            if kod is not None:
                stats["residue_kodcode"] += residue(kod)
                stats["only_kodcode"] += 1
            continue
        stats["ours_kept"] += ours is not None
        stats["residue_ours"] += residue(ours)
        stats["residue_kodcode"] += residue(kod)
        if ours is not None and kod is not None:
            stats["both"] += 1
            if ours == kod:
                stats["identical"] += 1
                continue
            if norm(ours) == norm(kod):
                stats["same_modulo_space"] += 1
                continue
            stats["diffs"].append((row_id, "different", kod, ours))
        elif kod is not None:
            stats["only_kodcode"] += 1
            stats["diffs"].append((row_id, "only KodCode kept it", kod, reply))
        elif ours is not None:
            stats["only_ours"] += 1
            stats["diffs"].append((row_id, "only we kept it", reply, ours))
    return stats


def clip(text: str | None, n: int = 300) -> str:
    text = (text or "").replace("\n", "\\n").replace("|", "\\|")
    return text[:n] + ("…" if len(text) > n else "")


def report(results: list[dict]) -> str:
    lines = ["| subset | raw | KodCode kept | ours kept | both | identical | same modulo whitespace | differ "
             "| cut at max_tokens (we drop) | label residue KodCode | label residue ours | ours, ms/row |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in results:
        lines.append(
            f"| {s['mode']} | {s['raw']} | {s['kodcode_kept']} | {s['ours_kept']} | {s['both']} | {s['identical']} "
            f"| {s['same_modulo_space']} | {len(s['diffs'])} | {s['truncated']} | {s['residue_kodcode']} | {s['residue_ours']} "
            f"| {1000 * s['seconds'] / max(s['raw'], 1):.3f} |"
        )
    total = {k: sum(s[k] for s in results) for k in ("raw", "both", "identical", "same_modulo_space",
                                                    "residue_kodcode", "residue_ours", "kodcode_kept", "ours_kept")}
    agree = (total["identical"] + total["same_modulo_space"]) / max(total["both"], 1)
    lines += ["", f"Agreement on rows both kept: {agree:.3f} "
              f"({total['identical'] + total['same_modulo_space']}/{total['both']}); "
              f"kept-row ratio ours/KodCode: {total['ours_kept'] / max(total['kodcode_kept'], 1):.3f}; "
              f"label residue ours/KodCode: {total['residue_ours']}/{total['residue_kodcode']}.", ""]
    for s in results:
        if not s["diffs"]:
            continue
        lines += [f"### {s['mode']}: rows that differ", "", "| row | kind | KodCode (or raw) | ours (or raw) |",
                  "|---|---|---|---|"]
        for row_id, kind, left, right in s["diffs"]:
            lines.append(f"| {row_id} | {kind} | {clip(left)} | {clip(right)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", type=Path, default=ROOT.parent / "shared" / "data" / "kodcode-demo")
    ap.add_argument("--out", type=Path, default=None, help="write the table and the differing rows here")
    args = ap.parse_args()
    if not (args.demo / "pipeline").is_dir():
        sys.exit(f"no KodCode demo at {args.demo}/pipeline; pass --demo <dir holding pipeline/>")
    results = [compare(*r) for r in runs(args.demo)]
    text = report(results)
    print(text.split("\n### ")[0])
    if args.out:
        args.out.write_text(text + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
