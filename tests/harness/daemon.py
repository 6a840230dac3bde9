"""The real built calculate-jabberd, as root, with a configuration pointing into the world.

Keys are those of service/cj-config.h. Everything the daemon could write (ejabberd's
configuration and certificate, its state, history, a new LDAP database) lives in the
world's directory. With the world's private ejabberd (ejabberd.py) the [Ejabberd] keys
point at it: RestartCommand is its restart script, ControlCommand its ejabberdctl with
`--config-dir`. Without it, both are /bin/false: the daemon can never reach the host's
ejabberd either way.
"""

import os
import shlex
import time

from . import bus

NAME = "org.calculate.Jabber"


def write_config(path, sections):
    """A GKeyFile from {section: {key: value}}; lists become 'a;b;'."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        for key, value in keys.items():
            if isinstance(value, (list, tuple)):
                value = "".join(f"{v};" for v in value)
            lines.append(f"{key}={value}")
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    os.chmod(path, 0o644)


def default_config(top, slapd, ejabberd=None):
    """The world's daemon configuration. With the "empty" LDAP shape there is no simple
    bind identity yet, so the daemon talks ldapi as root (SASL EXTERNAL), and
    `cl-setup ldap` creates the database in DatabaseDirectory (slapd runs as root here)."""
    directory = {"BaseDn": slapd.base_dn, "Timeout": 5,
                 "DatabaseDirectory": os.path.join(top, "slapd", "jabber-db")}
    if slapd.port is None and slapd.shape == "database":
        # No slapd in this world: a closed port on our own loopback.
        directory.update(Uri="ldap://127.0.0.1:1", BindDn=slapd.admin_dn)
    elif slapd.shape == "database":
        directory.update(Uri=slapd.uri, BindDn=slapd.admin_dn,
                         BindPasswordFile=slapd.admin_password_file)
    else:
        directory.update(Uri=slapd.ldapi_uri, BindDn="",
                         BindPasswordFile=slapd.admin_password_file)
    ejabberd_keys = {
        "ConfigFile": os.path.join(top, "ejabberd", "etc", "ejabberd.yml"),
        "CertificateFile": os.path.join(top, "ejabberd", "etc", "calculate-jabber.pem"),
        "StateDirectory": os.path.join(top, "state"),
        "HistoryDirectory": os.path.join(top, "history"),
        "ServiceManager": "command",
        "RestartCommand": "/bin/false",
        "ControlCommand": "/bin/false",
        # Never the host's /run: a path of the world's even without ejabberd.
        "ApiSocket": os.path.join(top, "api", "s"),
    }
    if ejabberd is not None:
        ejabberd_keys.update(ejabberd.daemon_keys())
    return {
        "Directory": directory,
        "Ejabberd": ejabberd_keys,
        "Authorization": {"Timeout": 25},
        # The tests' API calls use short passwords; the shipped default (8) is tested in
        # test_terminal.py, and the sandbox keeps it.
        "Passwords": {"MinimumLength": 1},
    }


class Daemon:
    def __init__(self, processes, top, program, config):
        if not os.access(program, os.X_OK):
            raise FileNotFoundError(f"daemon not built: {program} (run meson compile)")
        self.processes = processes
        self.top = top
        self.program = program
        self.config = config
        self.config_path = os.path.join(top, "calculate-jabberd.conf")
        self.proc = None
        for sub in ("ejabberd", "state", "history"):
            os.makedirs(os.path.join(top, sub), mode=0o755, exist_ok=True)
        database = config.get("Directory", {}).get("DatabaseDirectory")
        if database:
            os.makedirs(database, mode=0o700, exist_ok=True)

    def start(self, timeout=10, extra_args=(), wrapper=(), address=None):
        """address: the bus to serve on (None: this process's system bus)."""
        # CJ_DAEMON_WRAPPER="valgrind --leak-check=full ..." runs every test's daemon under
        # it (see docs/operations.md, "Checking the daemon with valgrind").
        if not wrapper and os.environ.get("CJ_DAEMON_WRAPPER"):
            wrapper = shlex.split(os.environ["CJ_DAEMON_WRAPPER"])
            timeout = max(timeout, 60)
        write_config(self.config_path, self.config)
        self.proc = self.processes.start(
            "calculate-jabberd",
            list(wrapper) + [self.program, "--config", self.config_path, "--debug"]
            + list(extra_args),
            os.path.join(self.top, "calculate-jabberd.log"),
            env=None if address is None else dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address))
        # The daemon owns the name only after exporting every object: seeing the name
        # means it is ready. Also watch the process, so a crash is reported at once.
        deadline = time.monotonic() + timeout
        while not bus.has_owner(NAME, address):
            self.proc.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{NAME} not on the bus after {timeout}s; log:\n"
                                   + self.proc.log_tail())
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            code = self.proc.stop()
            self.processes.forget(self.proc)
            self.proc = None
            return code
        return None

    def log(self):
        with open(os.path.join(self.top, "calculate-jabberd.log"), errors="replace") as f:
            return f.read()
