# The libvirt-python side of the parity suite. Reads one scenario (a JSON list of resolved steps)
# on stdin, runs every step against libvirt-python in this one process, and prints one JSON array:
# per step {"ok": value} or {"error": {...virError fields...}} or {"thrown": "..."}.
# It knows nothing about individual API functions: test/parity/api-map.ts resolves each C
# function to the python spelling before the scenario gets here.
import json
import sys
import threading
import time

import libvirt
import libvirt_qemu

MAX_SAFE = 2 ** 53 - 1


def silence(_ctx, _err):
    pass


libvirt.registerErrorHandler(silence, None)
# Events need an event implementation registered before the first connection is opened.
libvirt.virEventRegisterDefaultImpl()


def run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=run_event_loop, daemon=True).start()

handles = {}
events = []
events_lock = threading.Lock()


def canon(value):
    """Plain JSON for a python result; objects become the identity libvirt gives them."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return value if -MAX_SAFE <= value <= MAX_SAFE else {"int": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canon(v) for k, v in value.items()}
    if isinstance(value, libvirt.virDomain):
        return {"domain": value.name(), "uuid": value.UUIDString(), "id": value.ID()}
    if isinstance(value, libvirt.virNetwork):
        return {"network": value.name(), "uuid": value.UUIDString()}
    if isinstance(value, libvirt.virNodeDevice):
        return {"nodedev": value.name()}
    if isinstance(value, libvirt.virConnect):
        return {"connect": True}
    return {"unknown": repr(value)}


def resolve(arg):
    if isinstance(arg, dict):
        if "h" in arg:
            return handles[arg["h"]]
        if "uuidBytes" in arg:
            return bytes.fromhex(arg["uuidBytes"].replace("-", ""))
    return arg


def recorder(label):
    def record(_conn, obj, *rest):
        # rest ends with the opaque value given at registration
        with events_lock:
            events.append({"cb": label, "obj": obj.name(), "args": canon(list(rest[:-1]))})
    return record


def drain_events():
    # The test driver queues events and dispatches them from a zero-delay timer in the loop thread;
    # wait until nothing new arrived for a while.
    seen = -1
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.05)
        with events_lock:
            if len(events) == seen:
                break
            seen = len(events)
    with events_lock:
        out = list(events)
        events.clear()
    return out


def call(step):
    py = step["py"]
    args = [resolve(a) for a in step.get("args", [])]
    on = step.get("on")
    if py == "@domainEventRegisterAny":
        dom, event_id = args
        return handles[on].domainEventRegisterAny(dom, event_id, recorder(step.get("as")), None)
    if py == "@networkEventRegisterAny":
        net, event_id = args
        return handles[on].networkEventRegisterAny(net, event_id, recorder(step.get("as")), None)
    if py == "@drainEvents":
        return drain_events()
    if py.startswith("libvirt."):
        return getattr(libvirt, py[len("libvirt."):])(*args)
    if py.startswith("libvirt_qemu."):
        return getattr(libvirt_qemu, py[len("libvirt_qemu."):])(handles[on], *args)
    return getattr(handles[on], py)(*args)


def error_fields(e):
    return {
        "code": e.get_error_code(),
        "domain": e.get_error_domain(),
        "level": e.get_error_level(),
        "message": e.get_error_message(),
        "str1": e.get_str1(),
        "str2": e.get_str2(),
        "str3": e.get_str3(),
        "int1": e.get_int1(),
        "int2": e.get_int2(),
    }


def main():
    steps = json.load(sys.stdin)
    results = []
    for step in steps:
        try:
            value = call(step)
            if step.get("as"):
                handles[step["as"]] = value
            results.append({"ok": canon(value)})
        except libvirt.libvirtError as e:
            results.append({"error": error_fields(e)})
        except Exception as e:  # a harness or binding problem, reported as such
            results.append({"thrown": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout)


main()
