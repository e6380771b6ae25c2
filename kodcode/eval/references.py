"""Reference solutions for checking a scorer: canonical, broken and empty, per benchmark.

* canonical: what the official harness itself runs as ground truth (evalplus: ``prompt +
  canonical_solution``; BigCodeBench: ``complete_prompt + "\\n" + canonical_solution``);
* broken: the canonical program with the entry point re-bound, at the end, to a function that
  raises (a syntactically valid answer that imports fine and never returns);
* empty: ``""``.

A correct scorer gives the official verdicts on the first and 0 on the other two
(``bench/eval_groundtruth.py``).

    sols = evalplus_solutions(problems, "broken")   # task_id -> program
"""

from __future__ import annotations

KINDS = ("canonical", "broken", "empty")


def _break(program: str, entry_point: str) -> str:
    return (program.rstrip("\n") + f"\n\n\ndef {entry_point}(*args, **kwargs):\n"
            "    raise RuntimeError('deliberately broken reference solution')\n")


def evalplus_solutions(problems: list[dict], kind: str) -> dict[str, str]:
    out = {}
    for p in problems:
        canonical = p["prompt"] + p["canonical_solution"]
        out[p["task_id"]] = {"canonical": canonical, "broken": _break(canonical, p["entry_point"]),
                             "empty": ""}[kind]
    return out


def bigcodebench_solutions(tasks: list, kind: str) -> dict[str, str]:
    from kodcode.eval.bigcodebench import canonical_program

    out = {}
    for t in tasks:
        canonical = canonical_program(t)
        out[t.task_id] = {"canonical": canonical, "broken": _break(canonical, t.entry_point), "empty": ""}[kind]
    return out


# One-point AST mutations, the classic mutation-testing operators: a mutant differs from the
# canonical program in exactly one operator, comparison, constant or return value.
_BINOPS = {"Add": "Sub", "Sub": "Add", "Mult": "Add", "FloorDiv": "Mult", "Mod": "FloorDiv", "Div": "Mult",
           "Pow": "Mult", "BitAnd": "BitOr", "BitOr": "BitAnd"}
_CMPOPS = {"Lt": "LtE", "LtE": "Lt", "Gt": "GtE", "GtE": "Gt", "Eq": "NotEq", "NotEq": "Eq", "In": "NotIn",
           "NotIn": "In", "Is": "IsNot", "IsNot": "Is"}


def _mutation_sites(tree) -> list[tuple]:
    import ast

    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op).__name__ in _BINOPS:
            sites.append(("binop", node))
        elif isinstance(node, ast.Compare):
            sites += [("cmp", node, i) for i, op in enumerate(node.ops) if type(op).__name__ in _CMPOPS]
        elif isinstance(node, ast.BoolOp):
            sites.append(("bool", node))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append(("int", node))
        elif isinstance(node, ast.Return) and node.value is not None:
            sites.append(("return", node))
    return sites


def _apply(site) -> None:
    import ast

    kind, node = site[0], site[1]
    if kind == "binop":
        node.op = getattr(ast, _BINOPS[type(node.op).__name__])()
    elif kind == "cmp":
        node.ops[site[2]] = getattr(ast, _CMPOPS[type(node.ops[site[2]]).__name__])()
    elif kind == "bool":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "int":
        node.value = node.value + 1
    else:
        node.value = ast.Constant(None)


def mutants(program: str, n: int, seed: int = 0) -> list[str]:
    """Up to ``n`` distinct one-point mutants of ``program`` (seeded, so every run scores the same ones)."""
    import ast
    import random

    try:
        n_sites = len(_mutation_sites(ast.parse(program)))
    except SyntaxError:
        return []
    order = list(range(n_sites))
    random.Random(seed).shuffle(order)
    out: list[str] = []
    for i in order:
        tree = ast.parse(program)
        _apply(_mutation_sites(tree)[i])
        text = ast.unparse(tree)
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out
