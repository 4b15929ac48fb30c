"""gatewayctl visitor add|list|remove: a visitor added by staff is let in
at a gate, removed, then refused; visitors.ini keeps what staff wrote by
hand; an add that would not load is refused with file:line and leaves
the file as it was; without gatewayd the file is still written."""

import unicodedata

import pytest

def window(c):
    s = c.schedule
    return ["--from", s.window_from, "--until", s.window_until]


def add(c, *args, check=0):
    return c.ctl("visitor", "add", "--host", "5-2-301", "--name", "赵十",
                 *window(c), *args, json=True, check=check)


def hidden_files(c):
    return sorted(p.name for p in c.access_dir.iterdir()
                  if p.name.startswith("."))


def test_added_let_in_removed_refused(compound):
    c = compound
    c.start()
    p = add(c, "--person", "PV777", "--entries", "2")
    vid = p.data["added"]["id"]
    assert vid.startswith("V%s-" % c.schedule.today.replace("-", ""))
    assert p.data["reload"]["ok"] is True
    assert "3 visitors" in p.data["reload"]["tables"]

    request, cmd = c.ask("gate-north", "PV777")
    assert (cmd["action"], cmd["display"]) == ("open", "赵* 欢迎来访")
    row = c.row(request, "gate-north")
    assert (row["subject_type"], row["subject_id"]) == ("visitor", vid)

    p = c.ctl("visitor", "list", json=True, check=0)
    (mine,) = [v for v in p.data if v["id"] == vid]
    assert (mine["name"], mine["person"], mine["entries"], mine["used"]) \
        == ("赵十", "PV777", 2, 1)

    p = c.ctl("visitor", "remove", vid, check=0)
    assert "visitor %s removed" % vid in p.stdout
    assert "reloaded" in p.stdout
    request, cmd = c.ask("gate-north", "PV777")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")
    assert hidden_files(c) == []

    # Gone from the file: removing it again says so.
    p = c.ctl("visitor", "remove", vid, check=1)
    assert "no [visitor %s]" % vid in p.stderr


def test_hand_written_comments_kept(compound):
    c = compound
    hand = ("\ufeff; 物业前台手写的访客\r\n"
            "[visitor V1]\r\n"
            "host = 5-2-301   ; 张三家的客人\r\n"
            "name = 李四\r\n"
            "person = PV001\r\n"
            "from = %s\r\n"
            "until = %s\r\n"
            "; the next one comes later\r\n"
            "[visitor V2]\r\n"
            "host = 5-2-302\r\n"
            "person = PV002\r\n"
            "from = %s\r\n"
            "until = %s\r\n" % (
                c.schedule.window_from, c.schedule.window_until,
                c.schedule.later_from, c.schedule.later_until))
    path = c.write_access("visitors.ini", raw=hand.encode("utf-8"))
    c.start()

    p = add(c, "--plate", "吉a·88888", "--id", "V3")
    written = path.read_bytes().decode("utf-8")
    assert written == hand + (
        "\r\n[visitor V3]\r\nhost = 5-2-301\r\nname = 赵十\r\n"
        "plate = 吉A88888\r\nfrom = %s\r\nuntil = %s\r\n" % (
            c.schedule.window_from, c.schedule.window_until))

    # V1 goes; the comment about V2 above V2's header stays.
    c.ctl("visitor", "remove", "V1", check=0)
    c.ctl("visitor", "remove", "V3", check=0)
    assert path.read_bytes().decode("utf-8") == (
        "\ufeff; 物业前台手写的访客\r\n"
        "; the next one comes later\r\n" + hand.split(
            "; the next one comes later\r\n")[1] + "\r\n")
    request, cmd = c.ask("gate-north", "PV001")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")


def test_invalid_add_refused_file_untouched(compound):
    c = compound
    c.start()
    path = c.access_dir / "visitors.ini"
    before = path.read_bytes()
    p = c.ctl("visitor", "add", "--host", "9-9-999", "--name", "赵十",
              "--person", "PV777", *window(c), check=1)
    lines = len(before.decode("utf-8").splitlines())
    assert "%s:%d: visitor V" % (path, lines + 3) in p.stderr
    assert "no person lives in household 9-9-999" in p.stderr
    assert "unchanged" in p.stderr
    assert path.read_bytes() == before
    assert hidden_files(c) == []

    # A duplicate card is named with where the first one is.
    p = c.ctl("visitor", "add", "--host", "5-2-301", "--name", "赵十",
              "--card", "0012345678", *window(c), check=1)
    assert "duplicate card 0012345678 (first at %s:" % (
        c.access_dir / "people.ini") in p.stderr
    assert path.read_bytes() == before


def test_without_gatewayd_written_for_its_start(compound):
    c = compound
    (c.access_dir / "visitors.ini").unlink()
    c.write_ini()
    p = c.ctl("visitor", "add", "--host", "5-2-301", "--name", "赵十",
              "--person", "PV777", *window(c), check=3)
    assert "takes effect when gatewayd starts" in p.stdout
    text = (c.access_dir / "visitors.ini").read_text(encoding="utf-8")
    assert text.startswith("; Visitors: written by gatewayctl")
    c.start()
    request, cmd = c.ask("gate-north", "PV777")
    assert cmd["action"] == "open"


def width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in s)


def test_list_aligned(compound):
    c = compound
    c.start()
    c.ask("gate-north", "PV001")
    p = c.ctl("visitor", "list", check=0)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "host", "plate", "person",
                                "card", "from", "until", "used"]
    # The host column starts at one display column on every line,
    # after names of Chinese characters.
    starts = set()
    for line in lines:
        host = line.index("host") if line is lines[0] else \
            line.index("5-2-30")
        starts.add(width(line[:host]))
    assert len(starts) == 1
    assert "1/2" in lines[1] and "V1" in lines[1] and "李四" in lines[1]
    assert "0/2" in lines[2]


@pytest.mark.parametrize("args", [
    ["add", "--host", "5-2-301", "--name", "x", "--from", "10:00",
     "--until", "11:00"],                       # no plate, person or card
    ["add", "--person", "P", "--name", "x", "--from", "10:00"],
    ["add", "--host", "5-2-301", "--name", "x", "--plate", "123",
     "--from", "10:00", "--until", "11:00"],
    ["remove"],
    ["frobnicate"],
])
def test_usage(compound, args):
    c = compound
    c.write_ini()
    before = (c.access_dir / "visitors.ini").read_bytes()
    c.ctl("visitor", *args, check=2)
    assert (c.access_dir / "visitors.ini").read_bytes() == before
