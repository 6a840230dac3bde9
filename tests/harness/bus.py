"""A private system bus at the default socket path (tmpfs on /run/dbus, namespace only).

The configuration has Debian's system.conf semantics (default: deny own, deny method
calls) and includes only polkit's bus policy and the project's shipped one: so the shipped
policy is what is tested, and without it even root could not own org.calculate.Jabber.
No service directories: nothing is ever activated, everything is started by the harness.
"""

import os
import subprocess

SOCKET = "/run/dbus/system_bus_socket"
ADDRESS = "unix:path=" + SOCKET
POLKIT_BUS_POLICY = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf"

# Note: a double hyphen inside an XML comment breaks a dbus config; keep comments plain.
CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>{address}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
{includes}
</busconfig>
"""


def write_config(path, includes, address=ADDRESS):
    for inc in includes:
        if not os.path.isfile(inc):
            raise FileNotFoundError(f"bus policy to include is missing: {inc}")
    text = CONFIG.format(address=address,
                         includes="\n".join(f"  <include>{inc}</include>" for inc in includes))
    with open(path, "w") as f:
        f.write(text)


class Bus:
    """socket: None for the default path (a tmpfs on /run/dbus; DBUS_SYSTEM_BUS_ADDRESS of
    this process points at it), or a path of a second world's own bus (two nodes in one
    mount namespace): nothing is mounted and only the processes given `address` use it."""

    def __init__(self, processes, top, project_policy, socket=None):
        self.processes = processes
        self.top = top
        self.project_policy = project_policy
        self.config = os.path.join(top, "bus.conf")
        self.proc = None
        self.socket = socket or SOCKET
        self.address = "unix:path=" + self.socket

    def start(self):
        if self.socket != SOCKET:
            self._start_at(self.socket)
            return
        write_config(self.config, [POLKIT_BUS_POLICY, self.project_policy])
        # A tmpfs of our own on /run/dbus: the host's socket (if any) is hidden, not touched.
        # On a machine where no bus ever ran /run/dbus may not exist: creating it would
        # touch the host, so then a tmpfs goes on /run itself (namespace only).
        target = "/run/dbus" if os.path.isdir("/run/dbus") else "/run"
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", target],
                       check=True)
        os.makedirs("/run/dbus", mode=0o755, exist_ok=True)
        self._run_daemon()
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = ADDRESS

    def _start_at(self, path):
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        write_config(self.config, [POLKIT_BUS_POLICY, self.project_policy], self.address)
        self._run_daemon()

    def _run_daemon(self):
        read_fd, write_fd = os.pipe()
        self.proc = self.processes.start(
            "dbus-daemon",
            ["dbus-daemon", f"--config-file={self.config}", f"--address={self.address}",
             "--nofork", "--nopidfile", f"--print-address={write_fd}"],
            os.path.join(self.top, "dbus-daemon.log"), pass_fds=(write_fd,))
        os.close(write_fd)
        # The address is printed once the bus listens: a readiness signal without polling.
        with os.fdopen(read_fd) as r:
            line = r.readline()
        if not line:
            self.proc.check_alive()
            raise RuntimeError("dbus-daemon did not print its address")


def _env(address):
    """The environment for a gdbus talking to the bus at `address` (None: this process's)."""
    return None if address is None else dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)


def wait_for_name(name, timeout=10, address=None):
    """`gdbus wait` on the system bus; raises TimeoutError if the name does not appear."""
    r = subprocess.run(["gdbus", "wait", "--system", "--timeout", str(timeout), name],
                       capture_output=True, text=True, env=_env(address))
    if r.returncode != 0:
        raise TimeoutError(f"{name} did not appear on the bus within {timeout}s: "
                           f"{r.stderr.strip()}")


def has_owner(name, address=None):
    r = subprocess.run(["gdbus", "call", "--system", "-d", "org.freedesktop.DBus",
                        "-o", "/org/freedesktop/DBus", "-m",
                        "org.freedesktop.DBus.NameHasOwner", name],
                       capture_output=True, text=True, env=_env(address))
    return r.stdout.strip() == "(true,)"


def owner_uid(name):
    """The uid of the connection that owns `name` (None if nobody does)."""
    r = subprocess.run(["gdbus", "call", "--system", "-d", "org.freedesktop.DBus",
                        "-o", "/org/freedesktop/DBus", "-m",
                        "org.freedesktop.DBus.GetConnectionUnixUser", name],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return int(r.stdout.strip().strip("(),").split()[-1])
