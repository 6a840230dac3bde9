"""Talking to the daemon as root or as another user.

call()            one method call through GIO in a separate process (optionally as `user`,
                  optionally with the allow-interactive flag), returns a Reply;
run()             any command, optionally as `user`, with the world's environment;
with_agent()      a command as `user` under a pseudo-terminal (`script -qec`) with
                  `pkttyagent --process <its own pid>` registered first: the full polkit
                  agent flow (busctl_with_agent, call_with_agent use it).
"""

import json
import os
import shlex
import subprocess
from dataclasses import dataclass

from . import procs

SERVICE = "org.calculate.Jabber"
MANAGER_PATH = "/org/calculate/Jabber"
SERVER_PATH = "/org/calculate/Jabber/Server"
MANAGER_IFACE = "org.calculate.Jabber.Manager"
SERVER_IFACE = "org.calculate.Jabber.Server"
ERROR = "org.calculate.Jabber.Error."

_CALLER = open(os.path.join(os.path.dirname(__file__), "_caller.py")).read()


@dataclass
class Reply:
    ok: bool
    reply: str
    error: str
    message: str
    seconds: float

    def __str__(self):
        return self.reply if self.ok else f"{self.error}: {self.message}"


def env_for(user):
    """The environment a client gets: the world's bus, a HOME it may use."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", LC_ALL="C.UTF-8")
    if user not in (None, "root"):
        env["HOME"] = "/"
    return env


def command(argv, user=None):
    return list(argv) if user in (None, "root") else procs.as_user(user, argv)


def run(argv, user=None, timeout=60, **kwargs):
    """subprocess.run of argv as `user`, text output captured."""
    kwargs.setdefault("capture_output", True)
    return subprocess.run(command(argv, user), env=env_for(user), text=True,
                          timeout=timeout, cwd="/", **kwargs)


def call(path, interface, method, signature="", args=None, user=None, interactive=False,
         dest=SERVICE, timeout=30):
    """One method call; `args` is GVariant text for the whole tuple, e.g. "('alice', {})";
    None fills every argument with a harmless default of its type."""
    req = dict(dest=dest, path=path, interface=interface, method=method,
               signature=signature, args=args, interactive=interactive, timeout=timeout)
    r = run(["/usr/bin/python3", "-c", _CALLER, json.dumps(req)], user=user,
            timeout=timeout + 15)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"caller failed ({r.returncode}): {r.stderr.strip()}")
    return Reply(**json.loads(r.stdout.strip().splitlines()[-1]))


def reload(user=None, **kwargs):
    """Server.Reload(): the deterministic probe of the gate. Authorized on a fresh daemon
    it fails with NotConfigured; not authorized, with PermissionDenied."""
    return call(SERVER_PATH, SERVER_IFACE, "Reload", user=user, **kwargs)


def with_agent(user, argv, timeout=30):
    """Runs argv as `user` under a pseudo-terminal (`script -qec`) with
    `pkttyagent --process <its pid>` registered first: the full polkit agent flow.
    Returns the CompletedProcess of `script` (the pty merges stdout and stderr)."""
    # $$ is the shell that then execs argv: same pid and start time, so polkitd finds
    # the agent registered for it. The $( ) returns once pkttyagent closes its notify fd,
    # i.e. once the agent is registered.
    script = ("exec 3>&1; "
              "ready=$(pkttyagent --process $$ --notify-fd 4 4>&1 >&3 &); "
              "exec " + " ".join(shlex.quote(a) for a in argv))
    env = env_for(user)
    env.update(SHELL="/bin/sh", SYSTEMD_COLORS="0", NO_COLOR="1")
    try:
        return subprocess.run(command(["script", "-qec", script, "/dev/null"], user),
                              env=env, text=True, capture_output=True, timeout=timeout + 15,
                              cwd="/", stdin=subprocess.DEVNULL)
    finally:
        _stop_agents()


def busctl_with_agent(user, path, interface, method, signature="", *args, timeout=30):
    """`busctl call` (which sets the allow-interactive flag by default) with an agent."""
    argv = ["busctl", "--system", f"--timeout={timeout}", "call", SERVICE, path, interface,
            method] + ([signature] if signature else []) + list(args)
    return with_agent(user, argv, timeout)


def call_with_agent(user, path, interface, method, signature="", args=None, timeout=30):
    """call() with the allow-interactive flag and an agent; returns (Reply, transcript)."""
    req = dict(dest=SERVICE, path=path, interface=interface, method=method,
               signature=signature, args=args, interactive=True, timeout=timeout)
    r = with_agent(user, ["/usr/bin/python3", "-c", _CALLER, json.dumps(req)], timeout)
    # pkttyagent's colour codes may precede the JSON on the same line.
    lines = [l[l.index('{"ok"'):].strip() for l in r.stdout.splitlines() if '{"ok"' in l]
    if not lines:
        raise RuntimeError(f"caller failed ({r.returncode}): {r.stdout}")
    return Reply(**json.loads(lines[-1])), r.stdout


def _stop_agents():
    """Stops the pkttyagents interactive_call() left behind. The harness runs in its own
    PID namespace, so every pkttyagent in this /proc is one of ours."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "pkttyagent":
                    os.kill(int(pid), 15)
        except OSError:
            pass
