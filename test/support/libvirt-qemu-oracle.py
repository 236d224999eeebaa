# libvirt 9.0's QEMU driver, embedded in this process (qemu:///embed?root=DIR), as an oracle for
# virtnode's domainXMLToNative. One process serves a whole batch: the emulator is probed once.
#
# stdin: {"root": DIR, "cases": [{"name": ..., "xml": ...}, ...], "mode": "argv" | "define",
#         "timing": {"xml": ..., "rounds": N, "calls": M}}          (mode, timing optional)
# stdout: one JSON line per case as it is answered, {"name": ..., "argv": ...} (mode "argv", the
#         default: domainXMLToNative) or {"name": ..., "xml": ...} (mode "define": defineXML, then
#         the inactive XML, then undefine, so that inputs sharing a name do not meet), or
#         {"name": ..., "error": ..., "code": ..., "domain": ...}, then {"timing": {"rounds_ms":
#         [...]}} (per-call mean of each round) when asked. Line by line, so that a caller can tell
#         which case crashed libvirt (9.0 dereferences NULL on some hostdev interfaces).
#
# A privileged embedded driver resolves its QEMU user (Debian: libvirt-qemu) before it reads the
# root's qemu.conf; libvirt-daemon-system creates that user, the driver module alone does not.
# When it is missing, this process gives itself a private mount namespace in which /etc/passwd and
# /etc/group have the account: nothing outside the process sees it (where that is not allowed
# either, the only line is {"unavailable": why}). qemu.conf then runs QEMU as root, as virtnode
# does when it runs as root: /dev/kvm is root's on such hosts, and an emulator probed as another
# user would report no KVM.
import ctypes
import grp
import json
import os
import pwd
import shutil
import sys
import tempfile
import time

QEMU_USER = "libvirt-qemu"
CLONE_NEWNS = 0x00020000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


def answer(line):
    print(json.dumps(line), flush=True)


def missing_qemu_account():
    """The /etc files that lack libvirt's QEMU user or group, with the line each needs."""
    missing = []
    try:
        pwd.getpwnam(QEMU_USER)
    except KeyError:
        missing.append(("passwd", f"{QEMU_USER}:x:64055:64055::/nonexistent:/usr/sbin/nologin\n"))
    try:
        grp.getgrnam(QEMU_USER)
    except KeyError:
        missing.append(("group", f"{QEMU_USER}:x:64055:\n"))
    return missing


def add_qemu_account(missing):
    libc = ctypes.CDLL(None, use_errno=True)

    def check(ret, what):
        if ret != 0:
            raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")

    check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    scratch = tempfile.mkdtemp(prefix="libvirt-oracle-etc-")
    try:
        for name, line in missing:
            copy = os.path.join(scratch, name)
            with open(f"/etc/{name}") as src, open(copy, "w") as dst:
                dst.write(src.read() + line)
            check(libc.mount(copy.encode(), f"/etc/{name}".encode(), None, MS_BIND, None), f"bind /etc/{name}")
    finally:
        # The mounts hold the copies; their names are no longer needed.
        shutil.rmtree(scratch)


def define_and_describe(libvirt, conn, xml):
    """The inactive XML libvirt keeps for a definition; the domain is gone again afterwards."""
    dom = conn.defineXML(xml)
    try:
        return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        # Defining creates no NVRAM file; keeping it spares libvirt a refusal for domains with one.
        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)


def main():
    request = json.load(sys.stdin)
    root = request["root"]
    if os.geteuid() == 0:
        missing = missing_qemu_account()
        if missing:
            try:
                add_qemu_account(missing)
            except OSError as e:
                answer({"unavailable": f"libvirt's QEMU driver needs the account {QEMU_USER}, which "
                                       f"libvirt-daemon-system creates, and it cannot be added privately here ({e})"})
                return
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        with open(os.path.join(root, "etc", "qemu.conf"), "w") as conf:
            conf.write('user = "root"\ngroup = "root"\n')

    import libvirt  # after the namespace: libvirt may start threads, unshare needs one

    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(f"qemu:///embed?root={root}")
    define = request.get("mode") == "define"
    for case in request.get("cases", []):
        try:
            if define:
                answer({"name": case["name"], "xml": define_and_describe(libvirt, conn, case["xml"])})
            else:
                answer({"name": case["name"], "argv": conn.domainXMLToNative("qemu-argv", case["xml"], 0)})
        except libvirt.libvirtError as e:
            answer({"name": case["name"], "error": e.get_error_message(), "code": e.get_error_code(),
                    "domain": e.get_error_domain()})
    timing = request.get("timing")
    if timing:
        xml = timing["xml"]
        conn.domainXMLToNative("qemu-argv", xml, 0)
        rounds = []
        for _ in range(timing["rounds"]):
            start = time.perf_counter()
            for _ in range(timing["calls"]):
                conn.domainXMLToNative("qemu-argv", xml, 0)
            rounds.append((time.perf_counter() - start) * 1000 / timing["calls"])
        answer({"timing": {"rounds_ms": rounds}})
    conn.close()


main()
