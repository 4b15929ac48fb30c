"""A relay barrier in gateway.ini before the Modbus bus layer (issue 7):
gatewayd starts with it, says once that it sends it nothing, sends
nothing in its name, ignores traffic on its topics, and the gates work
as before (issue 5: the driver's register maps come first)."""

BARRIER = "device barrier-south-in"
# Insertion order is file order: driver first.
OVERRIDES = {
    (BARRIER, "driver"): "barrier_relay",
    (BARRIER, "bus"): "rs485-1",
    (BARRIER, "unit"): "1",
    (BARRIER, "coil"): "0",
    (BARRIER, "loop_input"): "0",
    (BARRIER, "lane"): "in",
}


def test_barrier_is_not_driven_and_gates_still_work(compound):
    c = compound
    c.broker.start()
    rec = c.recorder("cg/jinding-5/barrier/#")
    c.start(overrides=OVERRIDES)
    c.gw.wait_log(r"barrier-south-in: this version does not drive Modbus "
                  r"devices yet: nothing is sent to it")

    # Someone else speaking on the barrier's topics is no device of ours.
    base = "cg/jinding-5/barrier/barrier-south-in"
    rec.client.publish(base + "/status", b"online", qos=1, retain=False)
    rec.client.publish(base + "/plate", b'{"id":"x"', qos=1)

    # Barrier: a gate answered after them, so they have been read.
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    assert c.gw.running()
    assert c.journal.rows("device = 'barrier-south-in'") == []
    # Only what the test itself sent; never a command.
    rec.wait(lambda m: m.topic == base + "/plate", 10, "our own message")
    topics = [m.topic for m in rec.snapshot()]
    assert topics == [base + "/status", base + "/plate"], topics
