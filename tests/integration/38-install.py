"""make install and make deb, as the installer sees them: the tree that
make install puts in a DESTDIR (the binaries, the unit naming the
binary's real path, a gateway.ini template that gatewayd -t accepts, an
empty access.d, the example compound under share/doc), edited files kept
on a second install, a make that stops with the Debian packages to
install, and the .deb: its files, conffiles and Depends, installed with
dpkg into a directory of its own, and what lintian says of it.

make is run on the binaries the tests run (GATEWAYD's directory), so it
compiles nothing.  The .deb tests build a package (strip, dpkg-shlibdeps,
lintian): they are slow, and run in the plain pass only.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GATEWAYD = Path(os.environ.get("GATEWAYD", REPO / "build" / "gatewayd"))
BDIR = GATEWAYD.parent
EXAMPLES = ("denied.ini", "groups.ini", "residents.ini", "vehicles.ini",
            "visitors.ini")


def make(*args, check=True):
    """make in the repository, not as a child of the make running the
    tests (its jobserver is not ours)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SAN")}
    r = subprocess.run(["make", "--no-print-directory", "-C", str(REPO),
                        "B=%s" % BDIR, *args],
                       env=env, capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        pytest.fail("make %s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                                 r.stdout, r.stderr))
    return r


def install(dest, *args):
    return make("install", "DESTDIR=%s" % dest, *args)


def mode(p):
    return stat.S_IMODE(p.stat().st_mode)


def test_install_tree(tmp_path):
    install(tmp_path)
    usr = tmp_path / "usr" / "local"
    etc = tmp_path / "etc" / "community-gateway"
    assert mode(usr / "sbin" / "gatewayd") == 0o755
    assert mode(usr / "bin" / "gatewayctl") == 0o755
    assert (usr / "share/bash-completion/completions/gatewayctl").read_text() \
        == (REPO / "gateway" / "gatewayctl.bash").read_text()

    # systemd reads /usr/local/lib/systemd/system; the unit runs the
    # binary where this PREFIX put it.
    unit = (usr / "lib/systemd/system/community-gateway.service").read_text()
    assert ("ExecStart=/usr/local/sbin/gatewayd -c "
            "/etc/community-gateway/gateway.ini\n") in unit
    assert "/usr/sbin" not in unit
    assert "community-gateway" in \
        (usr / "lib/sysusers.d/community-gateway.conf").read_text()

    # /etc: the template and an empty access.d, nobody's residents.
    assert (etc / "gateway.ini").read_text() == \
        (REPO / "config" / "gateway.ini.dist").read_text()
    assert sorted(p.name for p in (etc / "access.d").iterdir()) == ["README"]
    assert (tmp_path / "etc/mosquitto/conf.d/community-gateway.conf") \
        .read_text() == (REPO / "config" / "mosquitto.conf").read_text()
    assert sorted(p.name for p in etc.rglob("*")) == \
        ["README", "access.d", "gateway.ini"]

    # The example compound, whole, in the documentation.
    ex = usr / "share/doc/community-gateway/examples"
    assert (ex / "gateway.ini").read_text() == \
        (REPO / "config" / "gateway.ini").read_text()
    assert sorted(p.name for p in (ex / "access.d").iterdir()) == \
        sorted(EXAMPLES)
    assert (usr / "share/doc/community-gateway/README.md").exists()

    # The service can start on what was installed: the template names no
    # device and an empty access.d lets nobody in; the README is not read.
    r = subprocess.run([str(usr / "sbin" / "gatewayd"), "-t", "-c",
                        str(etc / "gateway.ini")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "0 gates, 0 groups, 0 persons, 0 visitors, 0 denied\n"
    assert r.stderr == ""


def test_install_prefix_usr(tmp_path):
    """PREFIX=/usr, as the .deb: Debian's unit directory, /usr/sbin."""
    install(tmp_path, "PREFIX=/usr")
    unit = (tmp_path / "lib/systemd/system/community-gateway.service") \
        .read_text()
    assert "ExecStart=/usr/sbin/gatewayd -c " in unit
    assert "/usr/local" not in unit
    assert (tmp_path / "usr/sbin/gatewayd").exists()
    assert (tmp_path / "usr/lib/sysusers.d/community-gateway.conf").exists()
    assert (tmp_path / "usr/share/doc/community-gateway/examples/access.d"
            / "residents.ini").exists()
    assert not (tmp_path / "usr/local").exists()


def test_reinstall_keeps_edited_files(tmp_path):
    install(tmp_path)
    ini = tmp_path / "etc/community-gateway/gateway.ini"
    conf = tmp_path / "etc/mosquitto/conf.d/community-gateway.conf"
    readme = tmp_path / "etc/community-gateway/access.d/README"
    staff = tmp_path / "etc/community-gateway/access.d/residents.ini"
    edited_ini = ini.read_text().replace("site = my-compound",
                                         "site = jinding-5")
    ini.write_text(edited_ini)
    conf.write_text(conf.read_text() + "listener 1883\n")
    edited_conf = conf.read_text()
    staff.write_text("[person P1]\nname = 张三\n")

    r = install(tmp_path)
    assert ini.read_text() == edited_ini
    assert conf.read_text() == edited_conf
    assert staff.read_text() == "[person P1]\nname = 张三\n"
    # The new defaults beside the edited files, and said so.
    assert Path(str(ini) + ".dist").read_text() == \
        (REPO / "config" / "gateway.ini.dist").read_text()
    assert Path(str(conf) + ".dist").read_text() == \
        (REPO / "config" / "mosquitto.conf").read_text()
    assert "%s: edited, kept; the new default is %s.dist" % (ini, ini) \
        in r.stdout
    # An unedited file is the default: nothing beside it.
    assert not Path(str(readme) + ".dist").exists()

    # Put back as shipped, the stale .dist goes on the next install.
    ini.write_text(Path(str(ini) + ".dist").read_text())
    install(tmp_path)
    assert not Path(str(ini) + ".dist").exists()
    assert Path(str(conf) + ".dist").exists()


def test_make_without_build_dependencies(tmp_path):
    """Missing libraries: the Debian packages to install, and no compiler
    run on a header that is not there."""
    r = make("all", "B=%s" % tmp_path, "PKGS=cg-no-such-lib",
             "DEB_BUILD=build-essential cg-no-such-lib-dev", check=False)
    assert r.returncode != 0
    assert "make: to build, install these Debian packages: " \
        "cg-no-such-lib-dev\n" in r.stdout
    assert "sudo apt-get install cg-no-such-lib-dev" in r.stdout
    assert "(or: make deps)" in r.stdout
    assert not any(tmp_path.iterdir()), "something was compiled"


# ---- the .deb

VERSION = next(line.split('"')[1] for line in
               (REPO / "gateway" / "daemon.h").read_text().splitlines()
               if line.startswith("#define GATEWAY_VERSION"))
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                      text=True).stdout.strip()


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """The package, built from the plain binaries (not a sanitizer's)."""
    out = tmp_path_factory.mktemp("deb")
    make("deb", "B=%s" % (REPO / "build"), "DEB_OUT=%s" % out)
    path = out / ("community-gateway_%s_%s.deb" % (VERSION, ARCH))
    assert path.exists(), sorted(p.name for p in out.iterdir())
    return path


def dpkg_deb(*args):
    return subprocess.run(["dpkg-deb", *args], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.slow
def test_deb_contents(deb):
    files = [line.split()[-1] for line in dpkg_deb("-c", str(deb))
             .splitlines()]
    for f in ("./usr/sbin/gatewayd", "./usr/bin/gatewayctl",
              "./lib/systemd/system/community-gateway.service",
              "./usr/lib/sysusers.d/community-gateway.conf",
              "./usr/share/bash-completion/completions/gatewayctl",
              "./usr/share/doc/community-gateway/copyright",
              "./usr/share/doc/community-gateway/changelog.gz",
              "./usr/share/doc/community-gateway/examples/access.d/"
              "residents.ini",
              "./etc/community-gateway/gateway.ini",
              "./etc/community-gateway/access.d/README",
              "./etc/mosquitto/conf.d/community-gateway.conf"):
        assert f in files
    assert not [f for f in files
                if f.startswith("./etc/community-gateway/access.d/")
                and f.endswith(".ini")]

    info = dpkg_deb("-I", str(deb))
    assert " Version: %s\n" % VERSION in info
    assert " Architecture: %s\n" % ARCH in info
    assert " Recommends: mosquitto\n" in info
    depends = next(line for line in info.splitlines()
                   if line.startswith(" Depends: "))
    for lib in ("libc6", "libmosquitto1", "libmodbus5", "libsqlite3-0",
                "libuv1", "libinih1", "libjansson4", "libcurl4"):
        assert lib + " (>= " in depends, depends
    assert dpkg_deb("-I", str(deb), "conffiles").split() == [
        "/etc/community-gateway/access.d/README",
        "/etc/community-gateway/gateway.ini",
        "/etc/mosquitto/conf.d/community-gateway.conf"]
    for script in ("postinst", "prerm", "postrm", "md5sums"):
        assert script in info


def dpkg_root(root, *args):
    """dpkg on a root of its own: its scripts run here, told DPKG_ROOT;
    the libraries it depends on are not in that root's database."""
    cmd = ["dpkg", "--root=%s" % root, "--log=/dev/null", "--force-not-root",
           "--force-script-chrootless", "--force-depends", *args]
    if os.geteuid() != 0:
        if shutil.which("fakeroot") is None:
            pytest.skip("not root, and no fakeroot")
        cmd = ["fakeroot"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_deb_installs(deb, tmp_path):
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "var/lib/dpkg/status").write_text("")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\ndialout:x:20:\n")

    r = dpkg_root(root, "-i", str(deb))
    assert r.returncode == 0, r.stdout + r.stderr
    # The system user, in dialout for the RS-485 adapters.
    user = next(line for line in (root / "etc/passwd").read_text()
                .splitlines() if line.startswith("community-gateway:"))
    assert user.split(":")[5:] == ["/var/lib/community-gateway",
                                   "/usr/sbin/nologin"]
    groups = (root / "etc/group").read_text().splitlines()
    gid = next(int(g.split(":")[2]) for g in groups
               if g.startswith("community-gateway:"))
    assert "dialout:x:20:community-gateway" in groups
    # Its configuration readable by it, and nobody else.
    etc = root / "etc/community-gateway"
    st = etc.stat()
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid, mode(etc)) == (0, gid, 0o755)
    assert (root / "usr/sbin/gatewayd").exists()
    # Nothing enabled.
    assert not (root / "etc/systemd").exists()

    # Installed again over an edited conffile: the edit stays.
    ini = etc / "gateway.ini"
    ini.write_text(ini.read_text().replace("site = my-compound",
                                           "site = jinding-5"))
    r = dpkg_root(root, "--force-confold", "-i", str(deb))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "site = jinding-5\n" in ini.read_text()

    # Removed: the configuration stays; purged: it goes.
    r = dpkg_root(root, "-r", "community-gateway")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (root / "usr/sbin/gatewayd").exists()
    assert ini.exists()
    r = dpkg_root(root, "-P", "community-gateway")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not ini.exists()


@pytest.mark.slow
def test_deb_lintian(deb):
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (make deps installs it)")
    r = subprocess.run(["lintian", "--no-tag-display-limit", str(deb)],
                       capture_output=True, text=True, timeout=300)
    errors = [line for line in r.stdout.splitlines()
              if line.startswith("E: ")]
    assert errors == [], r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
