"""A deterministic OpenAI-compatible upstream for the proxy's end-to-end tests (127.0.0.1, port 0).

Chat completions report prompt 11 (3 cached), completion 7 (2 reasoning); embeddings report 5 prompt tokens.
Every request is kept in `StubUpstream.requests` as (path, authorization, body bytes).
"""
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHAT_USAGE = {
    "prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 3}, "completion_tokens_details": {"reasoning_tokens": 2},
}
EMBEDDING_USAGE = {"prompt_tokens": 5, "total_tokens": 5}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req-e2e")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Authorization"), b""))
        self._send(200, json.dumps({"object": "list", "data": [{"id": "gpt-4.1", "object": "model", "created": 1, "owned_by": "stub"}]}))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((self.path, self.headers.get("Authorization"), body))
        req = json.loads(body)
        model = req.get("model")
        if self.path == "/v1/embeddings":
            self._send(200, json.dumps({"object": "list", "model": model, "usage": EMBEDDING_USAGE,
                                        "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}]}))
            return
        if not req.get("stream"):
            self._send(200, json.dumps({
                "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
                "usage": CHAT_USAGE}))
            return
        include = (req.get("stream_options") or {}).get("include_usage", False)
        chunks = []
        for i, piece in enumerate(["Hel", "lo", "!"]):
            delta = {"content": piece}
            if i == 0:
                delta["role"] = "assistant"
            chunk = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            if include:
                chunk["usage"] = None
            chunks.append(chunk)
        chunks.append({"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1, "model": model,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if include:
            chunks.append({"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1, "model": model,
                           "choices": [], "usage": CHAT_USAGE})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in [json.dumps(c) for c in chunks] + ["[DONE]"]:
            data = f"data: {event}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class StubUpstream:
    def __init__(self, handler=None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler or _Handler)
        self.server.requests = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self):
        return self.server.requests

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(base, attempts=200):
    """Polls `base`/healthz until the server answers at all (any HTTP status counts)."""
    for _ in range(attempts):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
