"""Export: the dataset in the published KodCode layouts, as Hugging Face ``datasets`` and Parquet.

Four sets, written under ``<out>/``, each with a dataset card (``README.md``):

* ``kodcode_v1/``: exactly the KodCode-V1 columns (``KODCODE_V1_COLUMNS``), one row per verified
  triplet (instruct and complete styles), the RL / verification set.
* ``sft_r1/``: KodCode-V1-SFT-R1 style (``SFT_R1_COLUMNS``): question, triplet labels, the r1_*
  correctness labels and ``conversations`` ([{from: human}, {from: gpt}]); split ``train`` holds
  rows with a passing response, ``incorrect`` the rest (as on the Hub), and ``use_with_caution`` the
  rows decontamination flagged as close to a benchmark question (``stage.decontaminate.action=flag``;
  the Hub card does not define its split, this is ours).
* ``light_rl/``: KodCode-Light-RL-10K style (``LIGHT_RL_COLUMNS``): a seeded random draw of
  ``light_rl_size`` rows (10,000 as published) with the V1 columns and the R1 columns, one ``train``
  split, drawn from the rows that have R1 responses and no benchmark flag.
* ``rl_prompts/``: what GRPO needs, ``question_id, subset, style, question, solution, test, test_info,
  gpt_difficulty`` (the reference ``solution`` is what RL prevalidation runs against the tests).

Each is saved with ``save_to_disk`` (load with ``datasets.load_from_disk``) and as Parquet files under
``parquet/``; ``push_to_hub`` (a repo id prefix) uploads them when configured.  The stage streams:
each set is built from its rows in batches over two passes (types inferred and unified on the
first, Arrow written on the second), so memory holds a batch and the light_rl draw, not the dataset.

Usage::

    from kodcode.synth.export import export_all
    paths = export_all(triplets, sft_rows, out_dir)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kodcode.config import setting
from kodcode.synth import store
from kodcode.synth.runner import stage

# KodCode/KodCode-V1 dataset card (reference note A.10), in card order; chosen_trial is written by
# KodCode's pipeline (step 3.2) and present in its combined demo files.
KODCODE_V1_COLUMNS = (
    "version", "style", "subset", "question_id", "question", "solution", "test", "test_info",
    "gpt_pass_sequence", "gpt_pass_trial_num", "gpt_difficulty", "gpt_pass_percentage",
    "trials", "chosen_trial", "metadata",
)
# KodCode/KodCode-V1-SFT-R1 card, revision ae0c720 (reference note A.10).
SFT_R1_COLUMNS = (
    "style", "subset", "question_id", "question", "solution", "test_code", "test_info",
    "gpt_pass_sequence", "gpt_pass_trial_num", "gpt_difficulty", "gpt_pass_percentage",
    "r1_pass_sequence", "r1_pass_trial_num", "r1_correctness", "r1_solution", "metadata", "conversations",
)
# KodCode/KodCode-Light-RL-10K card (reference note A.10): V1 columns plus the R1 columns.
LIGHT_RL_COLUMNS = (
    "version", "style", "subset", "question_id", "question", "solution", "test", "test_info",
    "gpt_pass_sequence", "gpt_pass_trial_num", "gpt_difficulty", "gpt_pass_percentage",
    "r1_pass_sequence", "r1_pass_trial_num", "r1_correctness", "r1_solution", "metadata", "conversations",
)
RL_PROMPT_COLUMNS = ("question_id", "subset", "style", "question", "solution", "test", "test_info", "gpt_difficulty")
METADATA_KEYS = ("original_instruction", "prompt_id", "row_id", "seed_ids")
TRIAL_KEYS = ("file_source", "solution_code", "test_code", "test_coverage", "test_result")


def _metadata(meta: dict | None) -> dict:
    """KodCode-V1's metadata struct, same keys and types on every row (Arrow needs one schema)."""
    meta = meta or {}
    row_id = meta.get("row_id")
    return {
        "original_instruction": str(meta.get("original_instruction") or ""),
        # KodCode-V1 prompt ids are zero-padded strings ("00000003").
        "prompt_id": f"{meta['prompt_id']:08d}" if isinstance(meta.get("prompt_id"), int) else str(meta.get("prompt_id") or ""),
        "row_id": int(row_id) if isinstance(row_id, (int, float)) or (isinstance(row_id, str) and row_id.isdigit()) else -1,
        "seed_ids": [str(s) for s in (meta.get("seed_ids") or [])],
    }


def _trial_order(name: str) -> tuple:
    prefix, _, num = name.rpartition("_")
    return (prefix, int(num) if num.isdigit() else 0)


def _trials(rows: list[dict], names: list[str] | None = None) -> list[dict]:
    """Every row's trials with the union of trial names (``names``, else those of ``rows``), absent
    ones null (one Arrow struct type)."""
    if names is None:
        names = sorted({k for r in rows for k in (r.get("trials") or {})}, key=_trial_order)
    out = []
    for r in rows:
        t = r.get("trials") or {}
        out.append({n: ({k: t[n].get(k) for k in TRIAL_KEYS} if n in t else None) for n in names})
    return out


def _test_info(info: list[dict] | None) -> list[dict] | None:
    if info is None:
        return None
    return [{"docstring": i.get("docstring"), "function_declaration": i["function_declaration"],
             "function_name": i["function_name"], "parameter_list": i["parameter_list"]} for i in info]


def kodcode_v1_rows(triplets: list[dict], version: str = "V1", trial_names: list[str] | None = None) -> list[dict]:
    trials = _trials(triplets, trial_names)
    return [{
        "version": t.get("version") or version, "style": t["style"], "subset": t["subset"], "question_id": t["question_id"],
        "question": t["question"], "solution": t["solution"], "test": t["test"],
        "test_info": _test_info(t.get("test_info")), "gpt_pass_sequence": [int(x) for x in t["gpt_pass_sequence"]],
        "gpt_pass_trial_num": int(t["gpt_pass_trial_num"]), "gpt_difficulty": t["gpt_difficulty"],
        "gpt_pass_percentage": float(t["gpt_pass_percentage"]), "trials": tr,
        "chosen_trial": t.get("chosen_trial"), "metadata": _metadata(t.get("metadata")),
    } for t, tr in zip(triplets, trials)]


def sft_r1_rows(rows: list[dict]) -> list[dict]:
    return [{
        "style": r["style"], "subset": r["subset"], "question_id": r["question_id"], "question": r["question"],
        "solution": r["solution"], "test_code": r["test"], "test_info": _test_info(r.get("test_info")),
        "gpt_pass_sequence": [int(x) for x in r["gpt_pass_sequence"]], "gpt_pass_trial_num": int(r["gpt_pass_trial_num"]),
        "gpt_difficulty": r["gpt_difficulty"], "gpt_pass_percentage": float(r["gpt_pass_percentage"]),
        "r1_pass_sequence": [int(x) for x in r["r1_pass_sequence"]], "r1_pass_trial_num": int(r["r1_pass_trial_num"]),
        "r1_correctness": r["r1_correctness"], "r1_solution": r["r1_solution"], "metadata": _metadata(r.get("metadata")),
        "conversations": [{"from": c["from"], "value": c["value"]} for c in r["conversations"]],
    } for r in rows]


def flagged(row: dict) -> bool:
    """Decontamination kept the row but marked it close to a benchmark question (action=flag)."""
    return bool((row.get("nearest_benchmark") or {}).get("contaminated"))


def light_rl_eligible(row: dict) -> bool:
    return "r1_correctness" in row and not flagged(row)


def light_rl_draw(pool_size: int, n: int, seed: int = 0) -> list[int]:
    """Positions (in the eligible rows' order) of a seeded random draw of ``n`` rows (all when fewer)."""
    import random

    return random.Random(seed).sample(range(pool_size), min(n, pool_size))


def light_rl_rows(rows: list[dict], n: int, seed: int = 0, version: str = "V1") -> list[dict]:
    """A seeded random draw of ``n`` rows (all when fewer) with the V1 and R1 columns."""
    pool = [r for r in rows if light_rl_eligible(r)]
    return light_rl_columns([pool[i] for i in light_rl_draw(len(pool), n, seed)], version)


def light_rl_columns(drawn: list[dict], version: str = "V1") -> list[dict]:
    v1 = {r["question_id"]: r for r in kodcode_v1_rows(drawn, version)}
    sft = {r["question_id"]: r for r in sft_r1_rows(drawn)}
    return [{c: (v1[r["question_id"]] if c in v1[r["question_id"]] else sft[r["question_id"]])[c]
             for c in LIGHT_RL_COLUMNS} for r in drawn]


def dataset_card(name: str, splits: dict[str, int], columns: tuple[str, ...], about: str) -> str:
    """A Hugging Face dataset card: YAML header (splits, columns) and what the set is."""
    head = ["---", "configs:", "- config_name: default", "  data_files:"]
    head += [f"  - split: {s}\n    path: parquet/{name}{'' if s == 'train' and len(splits) == 1 else '-' + s}.parquet"
             for s in splits]
    head += ["dataset_info:", "  features:"] + [f"  - name: {c}" for c in columns]
    head += ["  splits:"] + [f"  - name: {s}\n    num_examples: {n}" for s, n in splits.items()] + ["---", ""]
    body = [f"# {name}", "", about, "", "| split | rows |", "|---|---:|"]
    body += [f"| {s} | {n:,} |" for s, n in splits.items()]
    body += ["", "Columns: " + ", ".join(f"`{c}`" for c in columns) + ".", "",
             "Built by `python -m kodcode.synth` (kodcode); every triplet's tests passed in the kodcode.exec sandbox.", ""]
    return "\n".join(head + body)


_ABOUT = {
    "kodcode_v1": ("Verified question-solution-test triplets in the KodCode-V1 layout (RL and verification set). "
                   "Rows with `version` V1.1 are stdin/stdout tasks: `solution` is a program, `test` runs it as a "
                   "script on each case's input and compares the printed tokens."),
    "sft_r1": ("Reasoning responses in the KodCode-V1-SFT-R1 layout: `train` rows have a response that passed the "
               "tests, `incorrect` rows none, `use_with_caution` rows were flagged as close to a benchmark question."),
    "light_rl": "A seeded random draw from the rows with reasoning responses, in the KodCode-Light-RL-10K layout.",
    "rl_prompts": ("What GRPO needs: question, reference solution (for prevalidation), tests, test_info and difficulty "
                   "per triplet."),
}


def rl_prompt_rows(triplets: list[dict]) -> list[dict]:
    return [{k: (_test_info(t.get("test_info")) if k == "test_info" else t[k]) for k in RL_PROMPT_COLUMNS}
            for t in triplets]


def _dataset(rows: list[dict], columns: tuple[str, ...]):
    from datasets import Dataset

    if rows:
        return Dataset.from_list(rows).select_columns(list(columns))
    return Dataset.from_dict({c: [] for c in columns})


BATCH = 1_000  # rows converted to Arrow at a time: what export holds in memory


class _ArrowSet:
    """One set built in two passes over its rows without holding them: ``infer`` each batch on the
    first (the batches' types unified, so a column null in one batch takes its type from the others:
    the types ``Dataset.from_list`` infers from all rows at once), ``write`` each on the second, to an
    Arrow file that ``dataset()`` memory-maps."""

    def __init__(self, path: Path, columns: tuple[str, ...]):
        self.path, self.columns, self.schema, self.rows = path, columns, None, 0
        self._writer = None

    def infer(self, rows: list[dict]) -> None:
        import pyarrow as pa

        if not rows:
            return
        self.rows += len(rows)
        schema = pa.Table.from_pylist(rows).select(list(self.columns)).schema
        self.schema = schema if self.schema is None else pa.unify_schemas([self.schema, schema],
                                                                          promote_options="permissive")

    def sort_trials(self) -> list[str]:
        """Trial names in KodCode order (as ``_trials`` sorts them), the struct's fields in that order."""
        import pyarrow as pa

        if self.schema is None:
            return []
        i = self.schema.get_field_index("trials")
        fields = sorted(self.schema.field(i).type, key=lambda f: _trial_order(f.name))
        self.schema = self.schema.set(i, pa.field("trials", pa.struct(fields)))
        return [f.name for f in fields]

    def write(self, rows: list[dict]) -> None:
        import pyarrow as pa

        if not rows:
            return
        if self._writer is None:
            self._writer = pa.ipc.new_stream(str(self.path), self.schema)
        self._writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def dataset(self):
        from datasets import Dataset

        if self._writer is None:
            return _dataset([], self.columns)
        self._writer.close()
        return Dataset.from_file(str(self.path))


def sft_split(row: dict) -> str:
    """Where an SFT row goes: flagged rows to use_with_caution, else by whether a response passed."""
    if flagged(row):
        return "use_with_caution"
    return "train" if row["r1_correctness"] == "True" else "incorrect"


SFT_SPLITS = ("train", "incorrect", "use_with_caution")


def _write_sets(triplets, sft_rows, tmp: Path, version: str, light_rl_size: int, light_rl_seed: int) -> dict:
    """Each set as a ``datasets`` object, built from the rows in batches: two passes over each input,
    or two in all when ``sft_rows`` is None (the triplets that have ``conversations``)."""
    from datasets import DatasetDict

    v1, rl = _ArrowSet(tmp / "kodcode_v1.arrow", KODCODE_V1_COLUMNS), _ArrowSet(tmp / "rl.arrow", RL_PROMPT_COLUMNS)
    sft = {s: _ArrowSet(tmp / f"sft-{s}.arrow", SFT_R1_COLUMNS) for s in SFT_SPLITS}
    names: list[str] | None = None  # first pass: each batch's own trial names, unified
    pool, wanted, drawn = 0, {}, {}

    def add_sft(batch: list[dict], phase: str) -> None:
        nonlocal pool
        converted, splits = sft_r1_rows(batch), [sft_split(r) for r in batch]
        for s, out in sft.items():
            getattr(out, phase)([c for c, split in zip(converted, splits) if split == s])
        for r in batch:
            if light_rl_eligible(r):
                if pool in wanted:
                    drawn[wanted[pool]] = r
                pool += 1

    for phase in ("infer", "write"):
        if phase == "write":
            names = v1.sort_trials()
            picks = light_rl_draw(pool, light_rl_size, light_rl_seed) if light_rl_size > 0 else []
            wanted, pool = {p: k for k, p in enumerate(picks)}, 0
        for batch in store.windows(triplets, BATCH):
            getattr(v1, phase)(kodcode_v1_rows(batch, version, names))
            getattr(rl, phase)(rl_prompt_rows(batch))
            if sft_rows is None:
                add_sft([r for r in batch if "conversations" in r], phase)
        for batch in store.windows(sft_rows if sft_rows is not None else (), BATCH):
            add_sft(batch, phase)
    light = [drawn[k] for k in sorted(drawn)]  # the order of the draw
    return {"kodcode_v1": v1.dataset(), "sft_r1": DatasetDict({s: out.dataset() for s, out in sft.items()}),
            "rl_prompts": rl.dataset(),
            "light_rl": DatasetDict({"train": _dataset(light_rl_columns(light, version), LIGHT_RL_COLUMNS)})}


def export_all(triplets, sft_rows, out_dir: str | Path, *, version: str = "V1",
               push_to_hub: str | None = None, private: bool = True, light_rl_size: int = 10_000,
               light_rl_seed: int = 0) -> dict[str, str]:
    """Write the four sets (save_to_disk + Parquet + card); returns their paths by name.

    ``triplets`` and ``sft_rows`` are lists or re-iterables (a streaming stage's input), each read
    twice and never held whole: memory holds a batch of rows and the light_rl draw.  ``sft_rows=None``
    takes the triplets that have ``conversations`` (one pair of passes over ``triplets`` for all sets)."""
    import shutil

    from datasets import DatasetDict

    out = Path(out_dir)
    (out / "parquet").mkdir(parents=True, exist_ok=True)
    tmp = out / ".arrow-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    built = _write_sets(triplets, sft_rows, tmp, version, light_rl_size, light_rl_seed)
    paths = {}
    sets = [("kodcode_v1", KODCODE_V1_COLUMNS), ("sft_r1", SFT_R1_COLUMNS), ("rl_prompts", RL_PROMPT_COLUMNS)]
    if light_rl_size > 0:
        sets.append(("light_rl", LIGHT_RL_COLUMNS))
    for name, columns in sets:
        ds = built[name]
        # An empty set still gets one shard: datasets cannot load a dataset saved with zero shards.
        if isinstance(ds, DatasetDict):
            ds.save_to_disk(str(out / name), num_shards={k: 1 for k, v in ds.items() if v.num_rows == 0} or None)
        else:
            ds.save_to_disk(str(out / name), num_shards=1 if ds.num_rows == 0 else None)
        paths[name] = str(out / name)
        if isinstance(ds, DatasetDict):
            for split, part in ds.items():
                part.to_parquet(str(out / "parquet" / f"{name}-{split}.parquet"))
        else:
            ds.to_parquet(str(out / "parquet" / f"{name}.parquet"))
        splits = {k: v.num_rows for k, v in ds.items()} if isinstance(ds, DatasetDict) else {"train": ds.num_rows}
        (out / name / "README.md").write_text(dataset_card(name, splits, columns, _ABOUT[name]))
        if push_to_hub:
            ds.push_to_hub(f"{push_to_hub}-{name.replace('_', '-')}", private=private)
    del built
    shutil.rmtree(tmp, ignore_errors=True)
    return paths


# -- stage -------------------------------------------------------------------------------------

@dataclass
class ExportConfig:
    out_dir: str | None = None  # None: <run_dir>/export/datasets
    version: str = "V1"  # the `version` column of rows that carry none (stdin/stdout rows carry V1.1)
    push_to_hub: str | None = None  # repo id prefix, e.g. me/kodcode-run1 -> me/kodcode-run1-kodcode-v1
    private: bool = True
    # KodCode-Light-RL-10K: 10,000 rows drawn at random
    light_rl_size: int = setting(10_000, ge=0, why="rows drawn for light_rl; 0: no light_rl set")
    light_rl_seed: int = 0


@stage("export", schema=ExportConfig, version="1", streams=True)
def export_stage(records, ctx):
    """Rows in; datasets written (see module docstring); the same rows out for the report."""
    from datasets import load_from_disk

    cfg: ExportConfig = ctx.cfg
    out = Path(cfg.out_dir) if cfg.out_dir else ctx.stage_dir / "datasets"
    paths = export_all(records, None, out, version=cfg.version, push_to_hub=cfg.push_to_hub, private=cfg.private,
                       light_rl_size=cfg.light_rl_size, light_rl_seed=cfg.light_rl_seed)
    splits = load_from_disk(paths["sft_r1"])
    n = len(records)
    ctx.counts.update(kodcode_v1=n, sft_train=splits["train"].num_rows, sft_incorrect=splits["incorrect"].num_rows,
                      sft_use_with_caution=splits["use_with_caution"].num_rows, rl_prompts=n,
                      light_rl=load_from_disk(paths["light_rl"])["train"].num_rows if "light_rl" in paths else 0,
                      paths=paths)
    yield from records
