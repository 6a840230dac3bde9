"""One D-Bus method call on the system bus, made by a separate process (so it can run as
another user via setpriv). Run as `python3 -c <this file's text> <json request>`; prints
one JSON line: {"ok": bool, "reply": str, "error": str, "message": str, "seconds": float}.

Uses GIO (python3-gi) because it can set the allow-interactive-authorization flag and
pass file descriptors (type 'h'), which python-dbus cannot do both of.
"""

import json
import os
import sys
import time

from gi.repository import Gio, GLib


def default_text(sig):
    """GVariant text for a harmless value of one complete type (used to fill in
    arguments when a test only cares about the authorization gate): valid as far as the
    daemon's argument checks go, since those run before the gate."""
    c = sig[0]
    if c in "sg":
        return "'test'"
    if c == "o":
        return "'/'"
    if c == "b":
        return "false"
    if c in "ynqiuxth":
        return "0"
    if c == "d":
        return "0.0"
    if c == "v":
        return "<''>"
    if sig.startswith("a{"):
        return "{}"
    if sig == "ao":     # the daemon refuses an empty list before the gate
        return "['/']"
    if c == "a":
        return "[]"
    if c == "(":
        return tuple_text(split_types(sig[1:-1]))
    raise ValueError(f"no default for type {sig}")


def tuple_text(types):
    """GVariant text of a tuple of defaults; a 1-tuple needs its trailing comma."""
    items = [default_text(t) for t in types]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def split_types(sig):
    """'sa{sv}(ii)' -> ['s', 'a{sv}', '(ii)']."""
    out, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] in "({":
            depth = 0
            while True:
                depth += sig[j] in "({"
                depth -= sig[j] in ")}"
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        out.append(sig[i:j])
        i = j
    return out


def main(req):
    sig = req.get("signature", "")
    types = split_types(sig)
    text = req.get("args")
    if text is None:
        text = tuple_text(types)
    params = GLib.Variant.parse(GLib.VariantType.new("(" + sig + ")"), text, None, None)
    fds = Gio.UnixFDList.new()
    for t in types:
        if t == "h":   # every handle points at /dev/null
            fds.append(os.open("/dev/null", os.O_RDONLY))
    flags = Gio.DBusCallFlags.NONE
    if req.get("interactive"):
        flags |= Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION
    conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    start = time.monotonic()
    out = {"ok": False, "reply": "", "error": "", "message": ""}
    try:
        reply, _ = conn.call_with_unix_fd_list_sync(
            req["dest"], req["path"], req["interface"], req["method"], params, None, flags,
            int(req.get("timeout", 30) * 1000), fds, None)
        out.update(ok=True, reply=reply.print_(True))
    except GLib.Error as e:
        out["error"] = Gio.DBusError.get_remote_error(e) or ""
        out["message"] = e.message
    out["seconds"] = time.monotonic() - start
    print(json.dumps(out))


main(json.loads(sys.argv[1]))
