#!/usr/bin/env python3
"""A real server for the lab: answers every HTTP request with its own name (argv[1])."""
import http.server
import sys

NAME = (sys.argv[1] if len(sys.argv) > 1 else "real").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        body = NAME + b"\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler).serve_forever()
