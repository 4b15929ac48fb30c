#!/usr/bin/python3
"""A stand-in for the property office (DESIGN §4.5): a local HTTPS server
that takes POST {"site","gateway","events":[...]} with Authorization:
Bearer <token>, records every id it accepts (in arrival order,
duplicates kept), and behaves as it is told to:

    ok            200: the batch is accepted (its ids recorded)
    500           HTTP 500, nothing accepted
    429           HTTP 429 with Retry-After (seconds, or an HTTP-date)
    hole          a black hole: the request is read, never answered
    lose          the batch is accepted (recorded) and the connection
                  closed without an answer: the answer is lost
    script(...)   the next requests in these modes, one each
    stop()        nothing listens on the port: connection refused
    poison(id)    400 for every batch that holds that id, whatever the
                  mode (that batch's ids are not accepted)
    cert("wrong-host" | "unknown-ca" | "good")
                  the certificate shown to new connections: one for a
                  host that is not 127.0.0.1, or one for 127.0.0.1 signed
                  by a CA the gateway does not trust

A wrong token is answered 401 in every mode but stop and hole.

The certificates are made with openssl in a directory of the caller's
(Certs): ca.pem is the ca_file to configure.  Threaded; close() never
waits for a hung request.

From a test:

    office = Office(Certs(tmp), token="t0k").start()
    ... url = office.url, ca_file = office.certs.ca ...
    office.answer("429", retry_after=3, times=1)
    office.wait_ids(lambda ids: len(set(ids)) >= 100, 30)
    office.close()

From a shell: office.py --port 8443 --dir /tmp/office --token-file F
"""

import argparse
import email.utils
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PATH = "/api/events"
MODES = ("ok", "500", "429", "hole", "lose")
CERTS = ("good", "wrong-host", "unknown-ca")


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Certs:
    """A private CA (ca.pem, what the gateway trusts), a server
    certificate for 127.0.0.1 and localhost signed by it, one signed by
    it for another host only, and one for 127.0.0.1 signed by a second
    CA the gateway is not told about.  EC P-256: quick to make."""

    def __init__(self, directory):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.rogue_ca = os.path.join(self.dir, "rogue-ca.pem")
        self.pairs = {}
        self._make_ca("ca", "Office Test CA")
        self._make_ca("rogue-ca", "Somebody Else's CA")
        self._make_server("good", "ca", "127.0.0.1",
                          "IP:127.0.0.1,DNS:localhost")
        self._make_server("wrong-host", "ca", "office.example.com",
                          "DNS:office.example.com,IP:192.0.2.7")
        self._make_server("unknown-ca", "rogue-ca", "127.0.0.1",
                          "IP:127.0.0.1,DNS:localhost")

    def _make_ca(self, name, cn):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                 "-subj", "/CN=" + cn, "-keyout", name + "-key.pem",
                 "-out", name + ".pem",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=self.dir)

    def _make_server(self, name, ca, cn, san):
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n" % san)
        _openssl("req", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + cn,
                 "-keyout", name + "-key.pem", "-out", name + ".csr",
                 cwd=self.dir)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                 "-CAkey", ca + "-key.pem", "-CAcreateserial", "-days", "2",
                 "-extfile", ext, "-out", name + ".pem", cwd=self.dir)
        self.pairs[name] = (os.path.join(self.dir, name + ".pem"),
                            os.path.join(self.dir, name + "-key.pem"))

    def context(self, which):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.pairs[which])
        return ctx


class Request(dict):
    """One request as the office got it: t (monotonic), wall, auth (the
    Authorization header), ids (the events' ids, [] when unreadable),
    answer (the status, "hung", "lost" or "dropped"), done (monotonic
    time it ended, None while open)."""


def seq_of(record_id):
    """jinding-5:1234 -> 1234."""
    return int(record_id.rsplit(":", 1)[1])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False      # a hung request must not hold up close()
    allow_reuse_address = True
    office = None

    def finish_request(self, request, client_address):
        # The handshake happens here, on the connection's own thread, so
        # that a client that never finishes one holds up nobody.
        office = self.office
        office._track(request, True)
        try:
            request.settimeout(10)
            try:
                tls = office._context().wrap_socket(request,
                                                    server_side=True)
            except (ssl.SSLError, OSError) as e:
                office._handshake_failed(e)
                return
            office._track(tls, True)
            tls.settimeout(None)
            try:
                self.RequestHandlerClass(tls, client_address, self)
            finally:
                office._track(tls, False)
                try:
                    tls.close()
                except OSError:
                    pass
        finally:
            office._track(request, False)

    def handle_error(self, request, client_address):
        pass    # a client that hung up mid-request: nothing to report


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    office = None

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        office = self.office
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        ids = []
        try:
            body = json.loads(raw.decode("utf-8"))
            ids = [e["id"] for e in body["events"]]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            body = None
        req = Request(t=time.monotonic(), wall=time.time(), path=self.path,
                      auth=self.headers.get("Authorization"), ids=ids,
                      site=body.get("site") if isinstance(body, dict)
                      else None,
                      gateway=body.get("gateway") if isinstance(body, dict)
                      else None, size=len(raw), answer="hung", done=None)
        status, retry_after = office._arrived(req)
        if status == "hole":
            status, retry_after = office._hang(req, self.connection)
            if status is None:
                req["answer"], req["done"] = "dropped", time.monotonic()
                self.close_connection = True
                office._ended()
                return
        if status == "lose":
            req["answer"], req["done"] = "lost", time.monotonic()
            self.close_connection = True
            office._ended()
            return
        req["answer"] = status
        data = b'{"ok":true}' if status == 200 else (
            b'{"error":"%d"}' % status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            pass
        req["done"] = time.monotonic()
        office._ended()


class Office:
    """The stand-in office on 127.0.0.1 (a free port unless given).

    .url is the [office] url, .certs.ca the ca_file; .requests every
    request in arrival order; .accepted() the ids accepted, in order,
    duplicates kept."""

    def __init__(self, certs, token, port=None, host=harness.LOCALHOST,
                 delay=0.0):
        self.certs = certs
        self.token = token
        self.host = host
        self.port = port or harness.free_port()
        self.url = "https://%s:%d%s" % (host, self.port, PATH)
        self.delay = delay      # seconds before each answer
        self.requests = []
        self.handshake_failures = []
        self.cond = threading.Condition()
        self._ids = []
        self._mode, self._then, self._times = "ok", "ok", None
        self._retry_after = None
        self._poison = set()
        self._script = []
        self._cert = "good"
        self._contexts = {}
        self._conns = set()
        self._closed = False
        self.hanging = 0
        self.server = None
        self.thread = None

    # -- running ------------------------------------------------------------

    def start(self):
        """Listen (again, on the same port)."""
        with self.cond:
            if self.server is not None:
                return self
        server = _Server((self.host, self.port),
                         type("Handler", (_Handler,), {"office": self}),
                         bind_and_activate=True)
        server.office = self
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True, name="office")
        self.thread.start()
        return self

    def stop(self):
        """Nothing listens any more (connection refused), and every open
        connection is cut; start() brings it back on the same port."""
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self._cut()

    def close(self):
        with self.cond:
            self._closed = True
            self.cond.notify_all()
        self.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _cut(self):
        with self.cond:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _track(self, sock, add):
        with self.cond:
            (self._conns.add if add else self._conns.discard)(sock)

    # -- how it behaves -------------------------------------------------------

    def answer(self, mode, times=None, then="ok", retry_after=None):
        """Answer mode (ok, 500, 429, hole, lose) from now on, or for the
        next `times` requests and then `then`.  retry_after: the
        Retry-After header's value with 429 (an int of seconds, or a
        string such as an HTTP-date).  Requests held in a hole now are
        answered in the new mode unless it is hole again."""
        mode, then = str(mode), str(then)
        if mode not in MODES or then not in MODES:
            raise ValueError("office: unknown mode %r" % mode)
        with self.cond:
            self._mode, self._times, self._then = mode, times, then
            self._retry_after = (None if retry_after is None
                                 else str(retry_after))
            self.cond.notify_all()

    def script(self, *modes):
        """The next requests answered in these modes, one each, before
        the mode set by answer() (script("ok", "ok", "lose"))."""
        for m in modes:
            if m not in MODES:
                raise ValueError("office: unknown mode %r" % m)
        with self.cond:
            self._script.extend(modes)

    def poison(self, record_id):
        """400 for any batch that holds record_id."""
        with self.cond:
            self._poison.add(record_id)

    def cert(self, which):
        """The certificate new connections see; open ones are cut so
        that the next request shakes hands again."""
        if which not in CERTS:
            raise ValueError("office: unknown certificate %r" % which)
        with self.cond:
            self._cert = which
        self._cut()

    def _context(self):
        with self.cond:
            which = self._cert
            if which not in self._contexts:
                self._contexts[which] = self.certs.context(which)
            return self._contexts[which]

    def _handshake_failed(self, error):
        with self.cond:
            self.handshake_failures.append((time.monotonic(), str(error)))
            self.cond.notify_all()

    def _arrived(self, req):
        """What to answer: (status or "hole" / "lose", Retry-After)."""
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()
        if self.delay:
            time.sleep(self.delay)  # a slow office: the answer may be lost
        with self.cond:
            if self._script:
                mode = self._script.pop(0)
                return ("hole", None) if mode == "hole" else \
                    self._decide(req, mode)
            mode = self._mode
            if mode != "hole" and self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = self._then, None
            if mode == "hole":
                return "hole", None
            return self._decide(req, mode)

    def _decide(self, req, mode):
        # Under self.cond.
        if req["auth"] != "Bearer " + self.token:
            return 401, None
        if mode == "500":
            return 500, None
        if mode == "429":
            return 429, self._retry_after
        if not req["ids"] or req["path"] != PATH:
            return 400, None
        if self._poison.intersection(req["ids"]):
            return 400, None
        self._ids.extend(req["ids"])
        if mode == "lose":
            return "lose", None
        return 200, None

    def _hang(self, req, sock):
        """Hold the request while the mode is hole; then decide in the
        mode that ends it, or (None, None) when the connection is cut or
        the client hangs up (gave up waiting)."""
        poll = select.poll()
        poll.register(sock.fileno(), select.POLLRDHUP)
        with self.cond:
            self.hanging += 1
            self.cond.notify_all()
            try:
                while self._mode == "hole" and not self._closed and \
                        self.server is not None:
                    if poll.poll(0):
                        return None, None
                    self.cond.wait(0.1)
                if self._closed or self.server is None:
                    return None, None
                return self._decide(req, self._mode)
            finally:
                self.hanging -= 1
                self.cond.notify_all()

    def _ended(self):
        with self.cond:
            self.cond.notify_all()

    # -- what it got --------------------------------------------------------

    def accepted(self):
        """Every id accepted, in arrival order, duplicates kept."""
        with self.cond:
            return list(self._ids)

    def snapshot(self, since=0):
        with self.cond:
            return list(self.requests[since:])

    def mark(self):
        with self.cond:
            return len(self.requests)

    def wait(self, predicate, timeout, what):
        """Wait until predicate() (called under the lock) is truthy."""
        return harness.wait_under(self.cond, predicate, timeout, lambda: (
            "office: timed out after %.1f s waiting for %s; it got %d "
            "requests, accepted %d ids (%d distinct); last requests:\n%s" % (
                timeout, what, len(self.requests), len(self._ids),
                len(set(self._ids)),
                "\n".join(describe(r) for r in self.requests[-10:]))))

    def wait_ids(self, ids, timeout=30):
        """Until every id in ids (a set of strings) was accepted."""
        want = set(ids)

        def done():
            return want.issubset(self._ids_set())
        return self.wait(done, timeout, "%d ids accepted" % len(want))

    def distinct(self):
        """How many different ids were accepted."""
        with self.cond:
            return len(self._ids_set())

    def _ids_set(self):
        # Under self.cond; cached by length, since lists only grow.
        cache = getattr(self, "_set_cache", None)
        if cache is None or cache[0] != len(self._ids):
            s = cache[1] if cache else set()
            s.update(self._ids[cache[0] if cache else 0:])
            self._set_cache = cache = (len(self._ids), s)
        return cache[1]

    def wait_requests(self, n, timeout=10, since=0):
        return self.wait(lambda: (self.requests[since:]
                                  if len(self.requests) - since >= n
                                  else None),
                         timeout, "%d requests" % n)

    def wait_hanging(self, n=1, timeout=10):
        return self.wait(lambda: self.hanging >= n, timeout,
                         "%d requests held in the hole" % n)


def describe(req):
    ids = req["ids"]
    span = "%s..%s" % (ids[0], ids[-1]) if ids else "-"
    return "%s %s %d events %s auth=%s" % (
        time.strftime("%H:%M:%S", time.localtime(req["wall"])),
        req["answer"], len(ids), span,
        "ok" if req["auth"] else "none")


def http_date(epoch):
    """An HTTP-date (RFC 9110) for Retry-After."""
    return email.utils.formatdate(epoch, usegmt=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--dir", required=True, help="where the certificates go")
    p.add_argument("--token-file", required=True)
    args = p.parse_args(argv)
    with open(args.token_file) as f:
        token = f.read().strip()
    office = Office(Certs(args.dir), token, port=args.port).start()
    print("office: url = %s, ca_file = %s; Ctrl-C stops"
          % (office.url, office.certs.ca), flush=True)
    seen = 0
    try:
        while True:
            time.sleep(1)
            for r in office.snapshot(seen):
                print(describe(r), flush=True)
                seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        office.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
