"""A deterministic upstream for the proxy's end-to-end tests (127.0.0.1, port 0), in every dialect the proxy serves.

OpenAI chat completions report prompt 11 (3 cached), completion 7 (2 reasoning); embeddings report 5 prompt tokens.
Anthropic Messages report input 25 (Anthropic's count: without cache), cache reads 400, cache writes 40 (5m) + 60
(1h), output 15. The Responses API reports input 328 (128 cached), output 52 (20 reasoning). JSON and SSE each.
Every request is kept in `StubUpstream.requests` as (path, authorization, body bytes), and its headers (lowercased
names) in `StubUpstream.headers`.
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
ANTHROPIC_USAGE = {
    "input_tokens": 25, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 400,
    "cache_creation": {"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60}, "output_tokens": 15,
}
RESPONSES_USAGE = {
    "input_tokens": 328, "input_tokens_details": {"cached_tokens": 128}, "output_tokens": 52,
    "output_tokens_details": {"reasoning_tokens": 20}, "total_tokens": 380,
}


def _response_object(model, status="completed"):
    return {
        "id": "resp_e2e", "object": "response", "created_at": 1741476542, "status": status, "error": None,
        "incomplete_details": None, "instructions": None, "max_output_tokens": None, "model": model,
        "output": [] if status != "completed" else [
            {"type": "message", "id": "msg_e2e", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hello!", "annotations": []}]}],
        "parallel_tool_calls": True, "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
        "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
        "top_p": 1.0, "truncation": "disabled", "usage": RESPONSES_USAGE if status == "completed" else None,
        "user": None, "metadata": {},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's delayed ACK of the
    # headers (~40 ms per reply on Linux), which would make every proxied call in these tests 40 ms long.
    disable_nagle_algorithm = True

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

    def _note(self, body):
        self.server.requests.append((self.path, self.headers.get("Authorization"), body))
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})

    def _sse(self, events):
        """`events`: (name or None, data object or text) pairs, sent chunked."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
            raw = frame.encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _messages(self, req):
        model = req.get("model")
        if not req.get("stream"):
            self._send(200, json.dumps({
                "id": "msg_e2e", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": ANTHROPIC_USAGE}))
            return
        start_usage = dict(ANTHROPIC_USAGE, output_tokens=1)
        events = [("message_start", {"type": "message_start", "message": {
            "id": "msg_e2e", "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("ping", {"type": "ping"})]
        for piece in ["Hel", "lo", "!"]:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": piece}}))
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": 15}}),
                   ("message_stop", {"type": "message_stop"})]
        self._sse(events)

    def _responses(self, req):
        model = req.get("model")
        if not req.get("stream"):
            self._send(200, json.dumps(_response_object(model)))
            return
        pending = _response_object(model, status="in_progress")
        events = [("response.created", {"type": "response.created", "sequence_number": 0, "response": pending}),
                  ("response.in_progress", {"type": "response.in_progress", "sequence_number": 1, "response": pending}),
                  ("response.output_item.added", {"type": "response.output_item.added", "sequence_number": 2,
                                                  "output_index": 0, "item": {"id": "msg_e2e", "type": "message",
                                                                              "status": "in_progress", "role": "assistant",
                                                                              "content": []}}),
                  ("response.content_part.added", {"type": "response.content_part.added", "sequence_number": 3,
                                                   "item_id": "msg_e2e", "output_index": 0, "content_index": 0,
                                                   "part": {"type": "output_text", "text": "", "annotations": []}})]
        seq = 4
        for piece in ["Hel", "lo", "!"]:
            events.append(("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": seq,
                                                          "item_id": "msg_e2e", "output_index": 0, "content_index": 0,
                                                          "delta": piece, "logprobs": []}))
            seq += 1
        events.append(("response.completed", {"type": "response.completed", "sequence_number": seq,
                                              "response": _response_object(model)}))
        self._sse(events)

    def do_GET(self):
        self._note(b"")
        self._send(200, json.dumps({"object": "list", "data": [{"id": "gpt-4.1", "object": "model", "created": 1, "owned_by": "stub"}]}))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._note(body)
        req = json.loads(body)
        model = req.get("model")
        if self.path.endswith("/messages/count_tokens"):
            self._send(200, json.dumps({"input_tokens": 25}))
            return
        if self.path.endswith("/messages"):
            self._messages(req)
            return
        if self.path.endswith("/responses"):
            self._responses(req)
            return
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
        self.server.headers = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self):
        return self.server.requests

    @property
    def headers(self):
        return self.server.headers

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
