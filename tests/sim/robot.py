#!/usr/bin/python3
"""A stand-in for the WeChat Work group robot (DESIGN §4.6): a local HTTP
server that takes POST <base>/cgi-bin/webhook/send?key=<key> with the
robot's JSON ({"msgtype":"markdown","markdown":{"content":...}} or
{"msgtype":"text","text":{"content":...,"mentioned_mobile_list":[...]}}),
records every request, and answers as it is told to: errcode 0, 45009
(too frequent), -1 (busy), 93000 (invalid key), HTTP 500, or not at all
(a hung robot: the request is accepted and left waiting until the mode
changes, drop_hanging() or the server closes).

From a test:

    robot = Robot().start()
    ... base_url = robot.url ...
    robot.answer(45009, times=1)        # the next one refused, then ok
    got = robot.wait_messages(1, 10)    # delivered ones (errcode 0)
    robot.close()

From a shell, printing each message as a guard's phone shows it:

    robot.py --port 8088 [--answer ok|45009|-1|93000|500|hang]
"""

import argparse
import datetime
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PATH = "/cgi-bin/webhook/send"

# What the real robot says with each errcode (errmsg is never what a
# client should decide on: the gateway must read errcode alone).
ERRMSG = {0: "ok", 45009: "api freq out of limit",
          -1: "system busy", 93000: "invalid webhook url"}
MODES = ("ok", "45009", "-1", "93000", "500", "hang")


def mode_name(mode):
    """ok, 45009, -1, 93000, 500 or hang, from what a caller may pass
    (0 and "0" are ok; 500 and "http500" are the HTTP error)."""
    m = str(mode).lower()
    m = {"0": "ok", "http500": "500", "http 500": "500"}.get(m, m)
    if m not in MODES:
        raise ValueError("robot: unknown answer mode %r" % (mode,))
    return m


# -- what a request said ----------------------------------------------------

def msgtype(body):
    return body.get("msgtype") if isinstance(body, dict) else None


def content(body):
    """The content of a markdown or text message ("" when none)."""
    t = msgtype(body)
    part = body.get(t) if t in ("markdown", "text") else None
    if isinstance(part, dict) and isinstance(part.get("content"), str):
        return part["content"]
    return ""


def mentions(body):
    """A text message's mentioned_mobile_list ([] for markdown)."""
    if msgtype(body) != "text" or not isinstance(body.get("text"), dict):
        return []
    return list(body["text"].get("mentioned_mobile_list") or [])


def mask_mobile(mobile):
    """As a phone shows a mention here, and as gatewayd masks numbers:
    13800000000 -> 138****0000."""
    digits = "".join(ch for ch in mobile if ch.isdigit())
    if len(digits) < 8:
        return "*" * len(mobile)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


# **bold**, but not the stars of a masked plate or name (吉A***45).
BOLD = re.compile(r"(?<!\*)\*\*(?!\*)([^*]+?)(?<!\*)\*\*(?!\*)")
# `code`: how gatewayd keeps a masked plate's stars from being emphasis.
CODE = re.compile(r"`([^`]*)`")


def strip_markdown(text):
    """The robot's markdown subset read plainly: **bold**, `code` and
    <font> tags dropped, "> " quotes shown as indented lines."""
    out = []
    for line in text.split("\n"):
        s = line
        if s.startswith(">"):
            s = "  " + s[1:].lstrip(" ")
        s = BOLD.sub(r"\1", s)
        s = CODE.sub(r"\1", s)
        while "<font" in s:
            a = s.index("<font")
            b = s.find(">", a)
            if b < 0:
                break
            s = s[:a] + s[b + 1:]
        s = s.replace("</font>", "")
        out.append(s)
    return "\n".join(out)


def render(body):
    """A message as a guard's phone shows it in the group: the content
    (markdown read plainly), then the people it rings as @138****0000."""
    if msgtype(body) == "markdown":
        text = strip_markdown(content(body))
    else:
        text = content(body)
    rung = " ".join("@" + mask_mobile(m) for m in mentions(body))
    if rung:
        text = text.rstrip("\n") + "\n" + rung
    return text


# -- the server ---------------------------------------------------------------

class Request(dict):
    """One request as the robot got it: t (monotonic), wall (time.time()),
    path, key (from the query string), raw (bytes), body (parsed JSON,
    None when not JSON), answer (what it was answered: a mode, or "hung"
    until it ends; "dropped" when it hung and ended unanswered)."""

    @property
    def content(self):
        return content(self["body"])

    @property
    def shown(self):
        """The content as the phone shows it: markdown read plainly."""
        if self.msgtype == "markdown":
            return strip_markdown(self.content)
        return self.content

    @property
    def mentions(self):
        return mentions(self["body"])

    @property
    def msgtype(self):
        return msgtype(self["body"])

    def render(self):
        return render(self["body"])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False      # a hung request must not hold up close()
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    robot = None                # set on the subclass made per Robot

    def log_message(self, fmt, *args):   # quiet: the test prints what
        pass                             # it wants

    def do_POST(self):
        robot = self.robot
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = None
        req = Request(t=time.monotonic(), wall=time.time(), path=url.path,
                      key=(query.get("key") or [None])[0], raw=raw,
                      body=body, answer="hung",
                      content_type=self.headers.get("Content-Type"))
        mode = robot._arrived(req)
        if mode == "hang":
            mode = robot._hang()
            if mode is None:            # closed or dropped while hanging
                req["answer"] = "dropped"
                self.close_connection = True
                return
        req["answer"] = mode
        if url.path != PATH:
            self._reply(404, {"errcode": 404, "errmsg": "not found"})
        elif mode == "500":
            self._reply(500, None)
        else:
            code = 0 if mode == "ok" else int(mode)
            self._reply(200, {"errcode": code, "errmsg": ERRMSG[code]})
        robot._answered(req)

    def do_GET(self):
        self._reply(405, None)

    def _reply(self, status, obj):
        data = (json.dumps(obj).encode() if obj is not None
                else b"Internal Server Error")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json"
                             if obj is not None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass    # the client gave up (a timeout): nothing to answer


class Robot:
    """The stand-in robot on 127.0.0.1 (a free port unless given).

    .url is the base_url to configure; .requests every request in
    arrival order (Request dicts); .answer(mode) sets what comes back.
    on_message, when given, is called with each Request once answered
    (the demo prints them)."""

    def __init__(self, port=None, host=harness.LOCALHOST, on_message=None):
        self.host = host
        self.port = port or harness.free_port()
        self.url = "http://%s:%d%s" % (host, self.port, PATH)
        self.on_message = on_message
        self.requests = []
        self.cond = threading.Condition()
        self._mode = "ok"
        self._then = "ok"
        self._times = None      # requests left in this mode, None: all
        self._closed = False
        self._drops = 0         # drop_hanging() calls so far
        self.hanging = 0        # requests held open right now
        handler = type("Handler", (_Handler,), {"robot": self})
        self.server = _Server((host, self.port), handler)
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True, name="robot")
        self.thread.start()
        return self

    def close(self):
        """Stop serving; hung requests end without an answer."""
        with self.cond:
            if self._closed:
                return
            self._closed = True
            self.cond.notify_all()
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- what it answers ---------------------------------------------------

    def answer(self, mode, times=None, then="ok"):
        """Answer mode (ok/0, 45009, -1, 93000, 500, hang) from now on, or
        for the next `times` requests and then `then`.  Requests hung now
        are answered with the new mode, unless it is hang again."""
        with self.cond:
            self._mode = mode_name(mode)
            self._times = times
            self._then = mode_name(then)
            self.cond.notify_all()

    def mode(self):
        with self.cond:
            return self._mode

    def _arrived(self, req):
        with self.cond:
            self.requests.append(req)
            mode = self._mode
            if self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = self._then, None
            self.cond.notify_all()
            return mode

    def drop_hanging(self):
        """End the requests hung now without an answer (their connection
        closed): for a client that went away meanwhile, so that a later
        answer() does not count them as answered."""
        with self.cond:
            self._drops += 1
            self.cond.notify_all()
        self.wait(lambda: self.hanging == 0, 5, "hung requests to end")

    def _hang(self):
        """Wait while the mode is hang; the mode that ends it, or None
        when the server closes or drop_hanging() is called."""
        with self.cond:
            self.hanging += 1
            drops = self._drops
            self.cond.notify_all()
            try:
                while (self._mode == "hang" and not self._closed and
                       self._drops == drops):
                    self.cond.wait(0.5)
                if self._closed or self._drops != drops:
                    return None
                return self._mode
            finally:
                self.hanging -= 1
                self.cond.notify_all()

    def _answered(self, req):
        with self.cond:
            self.cond.notify_all()
        if self.on_message is not None:
            self.on_message(req)

    # -- what it got ---------------------------------------------------------

    def mark(self):
        """A position in .requests: pass it as since= to count only what
        came after."""
        with self.cond:
            return len(self.requests)

    def snapshot(self, since=0):
        with self.cond:
            return list(self.requests[since:])

    def messages(self, since=0):
        """The requests answered errcode 0: the messages the group saw."""
        return [r for r in self.snapshot(since) if r["answer"] == "ok"]

    def wait(self, predicate, timeout, what):
        """Wait until predicate() (called under the lock) is truthy; its
        value.  Raises TimeoutError naming what."""
        return harness.wait_under(self.cond, predicate, timeout, lambda: (
            "robot: timed out after %.1f s waiting for %s; it got %d "
            "requests:\n%s" % (
                timeout, what, len(self.requests),
                "\n".join(describe(r) for r in self.requests[-20:]))))

    def wait_requests(self, n, timeout=10, since=0):
        """At least n requests from since (however answered): them."""
        return self.wait(lambda: (self.requests[since:]
                                  if len(self.requests) - since >= n
                                  else None),
                         timeout, "%d requests" % n)

    def wait_messages(self, n, timeout=10, since=0, where=None):
        """At least n delivered messages (answered errcode 0) from since,
        those for which where(request) holds when given: them."""
        def enough():
            got = [r for r in self.requests[since:] if r["answer"] == "ok"
                   and (where is None or where(r))]
            return got if len(got) >= n else None
        return self.wait(enough, timeout, "%d delivered messages" % n)

    def wait_hanging(self, n=1, timeout=10):
        """At least n requests held open now."""
        return self.wait(lambda: self.hanging >= n, timeout,
                         "%d hung requests" % n)


def describe(req):
    return "%s %s key=%s %s %s" % (
        time.strftime("%H:%M:%S", time.localtime(req["wall"])),
        req["answer"], "set" if req["key"] else "none", req.msgtype,
        json.dumps(req.content, ensure_ascii=False)[:200])


def phone_lines(req, prefix="", tz=None):
    """A message as lines of a phone's chat: "HH:MM:SS 群机器人: ..." (the
    time in tz, a tzinfo; default local) and its further lines indented,
    each line after prefix."""
    text = req.render().split("\n")
    when = datetime.datetime.fromtimestamp(req["wall"], tz).strftime(
        "%H:%M:%S")
    pad = prefix + " " * (len(when) + 3)
    return (["%s%s 群机器人: %s" % (prefix, when, text[0])] +
            [pad + line for line in text[1:]])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--host", default=harness.LOCALHOST)
    p.add_argument("--answer", default="ok",
                   help="ok, 45009, -1, 93000, 500 or hang")
    args = p.parse_args(argv)
    out = threading.Lock()

    def show(req):
        with out:
            if req["answer"] == "ok":
                for line in phone_lines(req):
                    print(line)
            else:
                print("%s (answered %s: not in the group)" % (time.strftime(
                    "%H:%M:%S", time.localtime(req["wall"])), req["answer"]))
            sys.stdout.flush()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    robot = Robot(port=args.port, host=args.host, on_message=show)
    robot.answer(args.answer)
    robot.start()
    print("robot: base_url = %s (answering %s); Ctrl-C stops"
          % (robot.url, robot.mode()), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        robot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
