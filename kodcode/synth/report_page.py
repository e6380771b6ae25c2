"""The static HTML page of a run's report: ``<run_dir>/report/index.html``, one file, no server.

It shows the funnel per stage and per subset, the report's figures (``figures/*.png`` beside it),
and a browser of questions with their attempts, tests and verdicts (the verify stage's output,
the first ``max_questions`` questions; a filter box narrows them by text, subset or verdict).
Written by the ``report`` stage; open it in any browser::

    xdg-open runs/synth/smoke/report/index.html
    # or: from kodcode.synth.report_page import write_page; write_page(run_dir, summary, manifests)

After the page loads, ``<body data-figures-loaded=N>`` counts the figures that rendered (what the
headless-Chromium test checks).
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:560px;margin:6px;border:1px solid #eee}
details{border:1px solid #ddd;margin:4px 0;padding:4px 8px}summary{cursor:pointer}
pre{background:#f6f6f6;padding:6px;overflow:auto;max-height:320px;font-size:12px}
.pass{color:#080}.fail,.timeout,.error{color:#b00}.sandbox_error{color:#a60}
"""

_SCRIPT = """
function filt(){var q=document.getElementById('q').value.toLowerCase();
 for(const d of document.querySelectorAll('details.q')){d.style.display=d.textContent.toLowerCase().includes(q)?'':'none';}}
window.addEventListener('load',function(){var n=0;for(const i of document.querySelectorAll('img.fig')){
 if(i.complete&&i.naturalWidth>0)n++;}document.body.dataset.figuresLoaded=n;});
"""


def _e(x) -> str:
    return html.escape(str(x))


def _table(head: list[str], rows: list[list]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def subset_funnel(manifests: dict, exported: list[dict]) -> list[list]:
    """Per subset: questions attempted, verified (any passing attempt), kept by decontamination, exported."""
    diff = manifests.get("label", {}).get("counts", {}).get("difficulty", {})
    decon = manifests.get("decontaminate", {}).get("counts", {}).get("by_subset", {})
    out_n: dict[str, int] = defaultdict(int)
    for r in exported:
        out_n[r.get("subset", "")] += 1
    rows = []
    for s in sorted(set(diff) | set(decon) | set(out_n)):
        d = diff.get(s, {})
        attempted = sum(d.values()) if d else ""
        verified = attempted - d.get("fail", 0) if d else ""
        dc = decon.get(s)
        kept = dc["checked"] - dc["dropped"] if dc else ""
        rows.append([s, attempted, verified, kept, out_n.get(s, 0)])
    return rows


def question_browser(attempts, max_questions: int = 200) -> str:
    """The first ``max_questions`` questions (in order of first appearance) with their attempts;
    one pass over any iterable, holding only the attempts of those questions."""
    by_q: dict[str, list[dict]] = {}
    others: set[str] = set()
    for a in attempts:
        qid = a["question_id"]
        if qid in by_q:
            by_q[qid].append(a)
        elif len(by_q) < max_questions:
            by_q[qid] = [a]
        else:
            others.add(qid)
    total = len(by_q) + len(others)
    parts = []
    for qid, atts in by_q.items():
        passed = sum(bool(a.get("passed")) for a in atts)
        inner = []
        for a in sorted(atts, key=lambda a: a.get("attempt", 0)):
            v = a.get("verdict") or {}
            status = v.get("status", "not run")
            inner.append(
                f"<details><summary>attempt {_e(a.get('attempt', ''))} &middot; <span class='{_e(status)}'>"
                f"{_e(status)}</span> {_e(v.get('n_passed', 0))}/{_e(v.get('n_tests', 0))} tests"
                f" &middot; {_e(a.get('model', ''))}</summary>"
                f"<p>{_e(v.get('message', ''))}</p><b>solution</b><pre>{_e(a.get('solution') or '')}</pre>"
                f"<b>tests</b><pre>{_e(a.get('test') or '')}</pre></details>")
        q = atts[0]
        parts.append(
            f"<details class='q'><summary>{_e(qid)} &middot; {_e(q.get('subset', ''))} &middot; "
            f"{passed}/{len(atts)} attempts pass</summary><pre>{_e(q.get('question', ''))}</pre>{''.join(inner)}"
            "</details>")
    more = f"<p>first {max_questions} of {total} questions</p>" if total > max_questions else ""
    return "".join(parts) + more


def write_page(out_dir: str | Path, summary: dict, manifests: dict, exported: list[dict],
               attempts: list[dict], title: str = "synth run", max_questions: int = 200) -> Path:
    """Write ``index.html`` into ``out_dir`` (figures are linked from ``figures/``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage_rows = [[n, m["counts"].get("input", ""), m["counts"].get("output", ""),
                   m.get("timings", {}).get("seconds", "")] for n, m in manifests.items()]
    decon = manifests.get("decontaminate", {}).get("counts", {})
    pak = summary.get("pass_at_k", {})
    ks = sorted({k for v in pak.values() for k in v}, key=lambda k: int(k.split("@")[1]))
    pak_rows = [[s, *[f"{100 * v.get(k, 0):.1f}%" for k in ks]] for s, v in pak.items()]
    figs = "".join(f"<img class='fig' alt='{_e(n)}' src='figures/{_e(Path(p).name)}'>"
                   for n, p in summary.get("figures", {}).items())
    body = (
        f"<h1>{_e(title)}</h1><h2>Funnel by stage</h2>"
        + _table(["stage", "rows in", "rows out", "seconds"], stage_rows)
        + "<h2>Funnel by subset</h2>"
        + _table(["subset", "questions attempted", "verified", "after decontamination", "exported"],
                 subset_funnel(manifests, exported))
        + "<h2>Benchmark overlap (nearest cosine above the threshold)</h2>"
        + _table(["benchmark", "rows", "action"], [[b, n, decon.get("action", "drop")]
                                                  for b, n in decon.get("by_benchmark", {}).items()])
        + "<h2>pass@k</h2>" + _table(["subset", *ks], pak_rows)
        + f"<h2>Figures</h2>{figs}"
        + "<h2>Questions, attempts, tests, verdicts</h2>"
        + "<input id='q' placeholder='filter: text, subset, verdict' oninput='filt()' size=40>"
        + question_browser(attempts, max_questions)
    )
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>{body}</body></html>")
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
