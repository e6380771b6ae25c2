"""The request cache is one SQLite file that several processes can fill at the same time."""

import subprocess
import sys
from pathlib import Path

from kodcode.llm import GenerationRequest
from kodcode.llm.cache import ResultCache
from kodcode.llm.scripted import ScriptedLLM

HERE = Path(__file__).parent

WRITER = """
import sys
from kodcode.llm import GenerationRequest
from kodcode.llm.scripted import ScriptedLLM
tag, cache = sys.argv[1], sys.argv[2]
llm = ScriptedLLM(lambda r: "answer to " + r.prompt, cache_dir=cache)
reqs = [GenerationRequest(prompt=f"{tag}-{i}") for i in range(60)] + [GenerationRequest(prompt=f"shared-{i}") for i in range(60)]
for r in reqs:  # one request per call: many small commits racing with the other process
    llm.generate([r], progress=False)
"""


def test_two_processes_fill_one_cache(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, tag, str(tmp_path)]) for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(ResultCache(tmp_path)) == 60 + 60 + 60
    llm = ScriptedLLM(lambda r: "never called", cache_dir=tmp_path)
    results = llm.generate([GenerationRequest(prompt=p) for p in ("a-0", "b-59", "shared-7")], progress=False)
    assert [r.texts for r in results] == [["answer to a-0"], ["answer to b-59"], ["answer to shared-7"]]
    assert llm.calls == []


def test_identical_requests_in_one_call_are_generated_once(tmp_path):
    llm = ScriptedLLM(lambda r: "x", cache_dir=tmp_path)
    out = llm.generate([GenerationRequest(prompt="same")] * 3 + [GenerationRequest(prompt="other")], progress=False)
    assert len(out) == 4 and len(llm.calls) == 2
