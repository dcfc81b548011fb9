#!/usr/bin/env python3
"""A remote hook to start from (README, "Your own hooks"), in Python's standard library only.

Refuses calls by callers of one group outside business hours; everyone else, and every call in
hours, passes. The proxy POSTs the hook JSON and expects an answer within the hook's timeoutMs:

    hooks:
      - { name: business-hours, url: http://127.0.0.1:9000/hook, timeoutMs: 200, phases: [before] }

Run:  python3 examples/hooks/business-hours.py --port 9000
Environment:
  BUSINESS_HOURS_GROUP  the group held to hours (default: contractors)
  BUSINESS_HOURS        opening hours, 24 h, start-end (default: 9-17), Monday to Friday
  BUSINESS_HOURS_TZ     UTC offset in hours of the clock the hours are in (default: 0)
  BUSINESS_HOURS_NOW    a fixed ISO 8601 time to judge by instead of the clock (for tests)
It prints "listening on http://HOST:PORT/hook" once it accepts requests (--port 0 picks one).
"""

import argparse
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GROUP = os.environ.get("BUSINESS_HOURS_GROUP", "contractors")
OPEN, CLOSE = (int(h) for h in os.environ.get("BUSINESS_HOURS", "9-17").split("-"))
ZONE = timezone(timedelta(hours=float(os.environ.get("BUSINESS_HOURS_TZ", "0"))))
MAX_BODY = 16 * 1024 * 1024


def now():
    fixed = os.environ.get("BUSINESS_HOURS_NOW")
    moment = datetime.fromisoformat(fixed.replace("Z", "+00:00")) if fixed else datetime.now(timezone.utc)
    return moment.astimezone(ZONE)


def in_hours(moment):
    return moment.weekday() < 5 and OPEN <= moment.hour < CLOSE


def decide(request):
    """The hook's answer to one request (the JSON of DESIGN.md, "Your own hooks")."""
    if request.get("phase") != "before":
        return {"outcome": "pass"}
    caller = request.get("context", {}).get("caller", {})
    if GROUP not in caller.get("groups", []):
        return {"outcome": "pass"}
    moment = now()
    if in_hours(moment):
        return {"outcome": "pass"}
    return {
        "outcome": "reject",
        "message": f"{GROUP} may call {request['call']['name']} only {OPEN}:00-{CLOSE}:00 on weekdays "
        f"(it is {moment.strftime('%a %H:%M')})",
    }


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the proxy reuses its connections

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        if self.path != "/hook" or length > MAX_BODY:
            self.send_error(404 if self.path != "/hook" else 413)
            return
        try:
            answer = decide(json.loads(self.rfile.read(length)))
            self.reply(200, answer)
        except (ValueError, KeyError, TypeError) as err:
            self.reply(400, {"error": f"not a hook request: {type(err).__name__}"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # one line per request on stderr, no bodies
        sys.stderr.write("business-hours: " + (fmt % args) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Hook)
    print(f"listening on http://{args.host}:{server.server_address[1]}/hook", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
