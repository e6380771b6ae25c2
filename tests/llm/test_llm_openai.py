"""The openai backend against a local OpenAI-compatible stub server (stdlib HTTP, no network)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kodcode.llm import GenerationRequest, LLMError, build_llm
from kodcode.llm.openai_api import ServerUnreachable


class Stub:
    """Scripted server state: replies echo the prompt; `fail` maps a prompt text to a list of statuses."""

    def __init__(self):
        self.bodies, self.headers, self.fail = [], [], {}
        self.in_flight = self.max_in_flight = 0
        self.delay = 0.0
        self.max_choices = None  # set to 1 to act like an API without the n parameter
        self.lock = threading.Lock()


def make_handler(stub: Stub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with stub.lock:
                stub.bodies.append((self.path, body))
                stub.headers.append(dict(self.headers))
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            time.sleep(stub.delay)
            text = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
            statuses = stub.fail.get(text)
            status = statuses.pop(0) if statuses else 200
            with stub.lock:
                stub.in_flight -= 1
            if status != 200:
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"error": "scripted failure"}')
                return
            chat = self.path.endswith("/chat/completions")
            choices = [
                {"index": i, "finish_reason": "stop",
                 **({"message": {"role": "assistant", "content": f"re:{text}:{i}"}} if chat else {"text": f"re:{text}:{i}"})}
                for i in range(min(body.get("n", 1), stub.max_choices or 10**6))
            ]
            out = json.dumps({"choices": choices, "usage": {"prompt_tokens": 5, "completion_tokens": 4 * len(choices)}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(out.encode())

    return Handler


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is part of the test, not an error


@pytest.fixture
def server():
    stub = Stub()
    httpd = QuietServer(("127.0.0.1", 0), make_handler(stub))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield stub, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def client(url, tmp_path, **kw):
    cfg = {"backend": "openai", "base_url": url, "progress": False, "backoff_s": 0.01, "max_retries": 2, **kw}
    return build_llm(llm=cfg, model={"name_or_path": "served-model"}, cache_dir=tmp_path)


def chat(text, **kw):
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kw)


def test_chat_and_raw_prompts_hit_their_endpoints(server, tmp_path, monkeypatch):
    stub, url = server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    llm = client(url, tmp_path)
    a, b = llm.generate([chat("q1", n=2, stop=["\n"], seed=4), GenerationRequest(prompt="prefix", max_tokens=9)])
    assert a.texts == ["re:q1:0", "re:q1:1"] and a.completion_tokens == [4, 4] and a.prompt_tokens == 5
    assert b.texts == ["re:prefix:0"]
    paths = sorted(p for p, _ in stub.bodies)
    assert paths == ["/v1/chat/completions", "/v1/completions"]
    body = next(b for p, b in stub.bodies if p.endswith("chat/completions"))
    assert (body["model"], body["n"], body["stop"], body["seed"]) == ("served-model", 2, ["\n"], 4)
    assert all(h["Authorization"] == "Bearer sk-test" for h in stub.headers)


def test_transient_errors_are_retried(server, tmp_path):
    stub, url = server
    stub.fail["flaky"] = [503, 429]
    [res] = client(url, tmp_path).generate([chat("flaky")])
    assert res.texts == ["re:flaky:0"]
    assert len(stub.bodies) == 3


def test_client_error_fails_at_once_naming_the_url(server, tmp_path):
    stub, url = server
    stub.fail["bad"] = [400]
    with pytest.raises(LLMError, match=r"/v1/chat/completions rejected a request with HTTP 400"):
        client(url, tmp_path).generate([chat("bad")])
    assert len(stub.bodies) == 1


def test_unreachable_server_error_names_url_and_fix(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(ServerUnreachable) as e:
        client(url, tmp_path, max_retries=1).generate([chat("x")])
    assert url in str(e.value) and "vllm serve" in str(e.value) and "llm.base_url" in str(e.value)


def test_finished_requests_are_kept_when_another_fails(server, tmp_path):
    stub, url = server
    stub.fail["doomed"] = [503, 503, 503]  # still failing after its retries (0.2 s, 0.4 s backoff)
    with pytest.raises(LLMError, match="kept failing after 3 tries"):
        client(url, tmp_path, backoff_s=0.2).generate([chat("ok1"), chat("ok2"), chat("doomed")])
    stub.bodies.clear()
    results = client(url, tmp_path).generate([chat("ok1"), chat("ok2"), chat("doomed")])
    assert [r.texts[0] for r in results] == ["re:ok1:0", "re:ok2:0", "re:doomed:0"]
    # only the failed request was sent again: the finished ones came from the cache
    assert [b["messages"][-1]["content"] for _, b in stub.bodies] == ["doomed"]


def test_concurrency_cap_bounds_requests_in_flight(server, tmp_path):
    stub, url = server
    stub.delay = 0.05
    client(url, tmp_path, concurrency=2).generate([chat(f"c{i}") for i in range(8)])
    assert stub.max_in_flight <= 2 and len(stub.bodies) == 8


def test_a_slow_server_times_out_and_says_so(server, tmp_path):
    stub, url = server
    stub.delay = 1.0
    with pytest.raises(ServerUnreachable, match="ReadTimeout"):
        client(url, tmp_path, timeout_s=0.2, max_retries=0).generate([chat("slow")])


def test_api_without_n_is_caught_and_split_n_sends_one_request_per_sample(server, tmp_path):
    stub, url = server
    stub.max_choices = 1  # like an API that ignores n
    with pytest.raises(LLMError, match="returned 1 choices for a request with n=3.*Set llm.split_n=true"):
        client(url, tmp_path / "a").generate([chat("q", n=3)])
    stub.bodies.clear()
    [res] = client(url, tmp_path / "b", split_n=True).generate([chat("q", n=3, seed=10)])
    assert res.texts == ["re:q:0"] * 3
    assert sorted((b["n"], b["seed"]) for _, b in stub.bodies) == [(1, 10), (1, 11), (1, 12)]
