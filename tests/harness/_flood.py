"""A local attacker: floods the daemon with calls from one process, as whatever user runs
it. Run as `python3 -c <this file's text> <json request>` (so that a user who cannot enter
the clone can run it); prints JSON lines:
  {"event": "agent"}                 its own polkit agent is registered (mode hold)
  {"event": "begin", "count": n}     polkitd asked that agent n times (it never answers)
  {"event": "sent", "count": n}      every call is on the bus
  {"event": "progress", "replies": {...}, "pending": n}   twice a second
  {"event": "done", "replies": {error or "ok": count}, "pending": n}
"done" comes when every call was answered, or after `seconds`, whichever is first.

Request keys: method ("AddUser", "GetManagedObjects", "GetPhoto", "FindUserByName"), count,
connections (the calls are spread over that many bus connections), seconds, interactive,
nickname_bytes (AddUser's nickname size), path (the object of GetPhoto), agent (register a
polkit agent for this process that never answers).
"""

import json
import os
import sys
import time

from gi.repository import Gio, GLib

SERVICE = "org.calculate.Jabber"
MANAGER_PATH = "/org/calculate/Jabber"
AGENT_PATH = "/org/calculate/test/NeverAnsweringAgent"
AGENT_XML = """
<node><interface name="org.freedesktop.PolicyKit1.AuthenticationAgent">
  <method name="BeginAuthentication">
    <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="s" direction="in"/>
    <arg type="a{ss}" direction="in"/><arg type="s" direction="in"/>
    <arg type="a(sa{sv})" direction="in"/>
  </method>
  <method name="CancelAuthentication"><arg type="s" direction="in"/></method>
</interface></node>"""

req = json.loads(sys.argv[1])
loop = GLib.MainLoop()
replies = {}
state = {"pending": 0, "begins": 0}
held = []          # BeginAuthentication invocations, never answered


def say(**kwargs):
    print(json.dumps(kwargs), flush=True)


def connect():
    address = Gio.dbus_address_get_for_bus_sync(Gio.BusType.SYSTEM, None)
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)


def on_agent_call(conn, sender, path, iface, method, params, invocation):
    if method == "BeginAuthentication":
        held.append(invocation)
        state["begins"] += 1
        say(event="begin", count=state["begins"])
    else:
        invocation.return_value(None)


def register_agent(conn):
    info = Gio.DBusNodeInfo.new_for_xml(AGENT_XML).interfaces[0]
    conn.register_object(AGENT_PATH, info, on_agent_call, None, None)
    with open("/proc/self/stat") as f:
        start_time = int(f.read().rsplit(")", 1)[1].split()[19])
    subject = GLib.Variant("(sa{sv})", ("unix-process", {
        "pid": GLib.Variant("u", os.getpid()),
        "start-time": GLib.Variant("t", start_time),
        "uid": GLib.Variant("i", os.getuid())}))
    conn.call_sync("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                   "org.freedesktop.PolicyKit1.Authority", "RegisterAuthenticationAgent",
                   GLib.Variant.new_tuple(subject, GLib.Variant("s", "C"),
                                          GLib.Variant("s", AGENT_PATH)),
                   None, Gio.DBusCallFlags.NONE, 10000, None)
    say(event="agent")


def call_of(method):
    if method == "AddUser":
        nick = "n" * req.get("nickname_bytes", 4)
        return (MANAGER_PATH, "org.calculate.Jabber.Manager", "AddUser",
                GLib.Variant("(ssa{sv})", ("flood", nick, {})))
    if method == "FindUserByName":
        return (MANAGER_PATH, "org.calculate.Jabber.Manager", "FindUserByName",
                GLib.Variant("(s)", ("nosuchuser",)))
    if method == "GetManagedObjects":
        return (MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", None)
    if method == "GetPhoto":
        return (req["path"], "org.calculate.Jabber.User", "GetPhoto", None)
    raise ValueError(method)


def finish():
    say(event="done", replies=replies, pending=state["pending"])
    loop.quit()
    return False


def progress():
    say(event="progress", replies=replies, pending=state["pending"])
    return True


def on_reply(conn, result):
    try:
        conn.call_finish(result)
        key = "ok"
    except GLib.Error as e:
        key = Gio.DBusError.get_remote_error(e) or e.message
    replies[key] = replies.get(key, 0) + 1
    state["pending"] -= 1
    if state["pending"] == 0 and state["sent"]:
        finish()


def main():
    conns = [connect() for _ in range(max(1, req.get("connections", 1)))]
    if req.get("agent"):
        register_agent(conns[0])
    flags = (Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if req.get("interactive")
             else Gio.DBusCallFlags.NONE)
    path, iface, method, args = call_of(req["method"])
    state["sent"] = False
    for i in range(req["count"]):
        conn = conns[i % len(conns)]
        state["pending"] += 1
        conn.call(SERVICE, path, iface, method, args, None, flags, 600000, None, on_reply)
    state["sent"] = True
    say(event="sent", count=req["count"])
    GLib.timeout_add(int(req.get("seconds", 60) * 1000), finish)
    GLib.timeout_add(500, progress)
    loop.run()


main()
