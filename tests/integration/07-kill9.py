"""kill -9 while about 2 000 requests a second flow: every command a gate
received has its journal row (the row is committed before the command is
published), and event ids keep increasing across the restart, never
reused (DESIGN §3, §4.4)."""

import itertools
import json
import threading
import time

import harness

RATE = 2000             # requests per second, as the issue asks
BATCH = 4               # sent together every BATCH/RATE seconds
BURST = 2000            # sent at once just before the kill


class Publisher(threading.Thread):
    """Face requests at a steady rate from a client of its own: QoS 1,
    distinct ids, both gates, residents and strangers mixed."""

    def __init__(self, port, site):
        super().__init__(daemon=True)
        self.site = site
        self.client = harness.paho_client("k9-publisher")
        self.client.connect(harness.LOCALHOST, port, keepalive=30)
        self.client.loop_start()
        self.sent = 0
        self.halt = threading.Event()
        self.extra = 0          # a burst asked for by burst()
        self.lock = threading.Lock()

    def burst(self, n):
        with self.lock:
            self.extra += n

    def take_extra(self):
        with self.lock:
            n, self.extra = self.extra, 0
            return n

    def request(self, n):
        gate = ("gate-north", "gate-south")[n % 2]
        person = ("P0001", "P0099", "C0001", "P0003")[n % 4]
        body = {"id": "k9-%d" % n, "person": person, "score": 0.93,
                "direction": "in", "ts": int(time.time() * 1000)}
        return "cg/%s/gate/%s/face" % (self.site, gate), json.dumps(body)

    def run(self):
        counter = itertools.count()
        next_at = time.monotonic()
        while not self.halt.is_set():
            for _ in range(BATCH + self.take_extra()):
                topic, payload = self.request(next(counter))
                self.client.publish(topic, payload, qos=1)
                self.sent += 1
            next_at += BATCH / RATE
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def stop(self):
        self.halt.set()
        self.join(5)
        self.client.disconnect()
        self.client.loop_stop()


def gate_of(topic):
    return topic.split("/")[3]


def test_kill9_under_load_loses_nothing_acted_on(compound):
    c = compound
    c.start()
    cmds = c.recorder("cg/%s/gate/+/cmd" % c.site)
    events = c.recorder("cg/%s/events/#" % c.site)

    load = Publisher(c.broker.port, c.site)
    load.start()
    try:
        cmds.wait(lambda m: True, 30, "500 commands under load", since=500)
        # A burst on top of the steady flow, and the kill in the middle of
        # it, so that the gateway is surely busy when it dies.
        mark = cmds.mark()
        load.burst(BURST)
        cmds.wait(lambda m: True, 30, "the burst's first answers",
                  since=mark + 300)
        c.gw.kill()
        at_kill = load.sent
        # The load goes on past the kill: the broker queues it for the
        # gateway's persistent session.
        harness.wait_for(lambda: load.sent >= at_kill + 500, 10,
                         "requests sent after the kill")
    finally:
        load.stop()

    seen_before = events.snapshot()
    journal_max = c.journal.max_seq()
    published_max = max(int(m.json()["id"].rsplit(":", 1)[1])
                        for m in seen_before)
    # Nothing is published before it is committed.
    assert published_max <= journal_max

    c.gw.start()
    # The restarted gateway works through what was queued meanwhile.
    request, cmd = c.ask("gate-north", "P0001", timeout=30)
    assert cmd["action"] == "open"

    # Every command any gate received, before or after the kill, has its
    # row; rows are matched on (gate, request id).
    received = {(gate_of(m.topic), m.json()["request"])
                for m in cmds.snapshot()}
    assert len(received) >= 800
    journaled = {(r["device"], r["request"])
                 for r in c.journal.rows("kind = 'access' AND decision IN "
                                         "('allow', 'deny')")}
    missing = received - journaled
    assert not missing, "%d commands without a row, e.g. %r" % (
        len(missing), sorted(missing)[:5])

    # Ids go on from where they were: the first row of the new run is its
    # start, above every row before, and every id is <site>:<seq>.
    after = c.journal.rows("seq > ?", (journal_max,))
    assert after[0]["kind"] == "system"
    assert "start" in (after[0]["decision"], after[0]["reason"]), after[0]
    assert after[0]["seq"] > published_max
    for row in c.journal.rows():
        assert row["body"]["id"] == "%s:%d" % (c.site, row["seq"])
    new_ids = [int(m.json()["id"].rsplit(":", 1)[1])
               for m in events.snapshot(len(seen_before))]
    assert new_ids and min(new_ids) > published_max
