#!/usr/bin/env python3
"""A minimal Aetherra plugin (docs/plugins.md): answers POST {invocationId, capability, input}
with {"output": ...}. Standard library only.

    python3 docs/examples/echo_plugin.py [[HOST:]PORT]   # listens on HOST:PORT (default 127.0.0.1:5182)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Plugin(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        call = json.loads(self.rfile.read(length) or b"{}")
        capability, data = call.get("capability"), call.get("input")
        if capability == "echo":
            output = {"echo": data}
        elif capability == "shout":
            output = {"text": str((data or {}).get("text", "")).upper()}
        else:
            self.send_response(400)
            self.end_headers()
            return
        body = json.dumps({"output": output}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("plugin: " + fmt % args + "\n")


if __name__ == "__main__":
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "5182").rpartition(":")
    ThreadingHTTPServer((host or "127.0.0.1", int(port)), Plugin).serve_forever()
