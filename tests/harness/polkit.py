"""polkit for the world: the real polkitd with the project's .policy and test rules, or
python-dbusmock's polkitd template for delays and hangs.

polkitd's directories are compiled in, so ours are bind-mounted over them (namespace only):
  actions/   -> /usr/share/polkit-1/actions   (only the project's .policy)
  rules-etc/ -> /etc/polkit-1/rules.d         (the test's rules, swapped by set_rules)
  rules-usr/ -> /usr/share/polkit-1/rules.d   (empty: no vendor rules interfere)
  pam.d/     -> /etc/pam.d                    (a copy, plus polkit-1: pam_permit or pam_deny)
Everything must be readable by user polkitd, or polkitd silently skips it.
"""

import os
import shutil
import subprocess
import time

from . import bus, procs

POLKITD = "/usr/lib/polkit-1/polkitd"
NAME = "org.freedesktop.PolicyKit1"
AUTHORITY = "/org/freedesktop/PolicyKit1/Authority"
MOCK_IFACE = "org.freedesktop.DBus.Mock"
RULES_FILE = "50-calculate-jabber-test.rules"

PAM = {"permit": "auth required pam_permit.so\naccount required pam_permit.so\n"
                 "session required pam_permit.so\n",
       "deny": "auth required pam_deny.so\naccount required pam_deny.so\n"
               "session required pam_deny.so\n"}


def rule(result, actions=None, users=None):
    """A polkit rule returning `result` ("YES", "NO", "AUTH_ADMIN", ...) for the given
    actions (default: all of ours) and users (default: anyone)."""
    conds = []
    if actions:
        conds.append("(" + " || ".join(f'action.id == "{a}"' for a in actions) + ")")
    else:
        conds.append('action.id.indexOf("org.calculate.jabber.") == 0')
    if users:
        conds.append("(" + " || ".join(f'subject.user == "{u}"' for u in users) + ")")
    return ("polkit.addRule(function(action, subject) {\n"
            f"  if ({' && '.join(conds)}) return polkit.Result.{result};\n"
            "});\n")


class Polkit:
    """shared: the Polkit of another world in the same mount namespace whose directories
    (bound over polkit's and PAM's already) this one's polkitd reads too; prepare() is then
    not needed. address: the bus of this polkitd (None: this process's system bus)."""

    def __init__(self, processes, top, policy_file, shared=None, address=None):
        self.processes = processes
        self.address = address
        self.top = os.path.join(top, "polkit")
        self.policy_file = policy_file
        self.proc = None
        self.mock = False
        self.rules_text = None
        self.dirs = {name: os.path.join(self.top, name)
                     for name in ("actions", "rules-etc", "rules-usr", "pam.d")}
        if shared is not None:
            os.makedirs(self.top, mode=0o755)
            self.dirs = shared.dirs
            self.rules_text = shared.rules_text

    def prepare(self, rules="", pam="permit"):
        """Lays out the directories and bind-mounts them over polkit's and PAM's."""
        if not os.path.isfile(self.policy_file):
            raise FileNotFoundError(f"polkit .policy is missing: {self.policy_file} "
                                    "(is the project built?)")
        os.makedirs(self.top, mode=0o755)
        for name in ("actions", "rules-etc", "rules-usr"):
            os.mkdir(self.dirs[name], 0o755)
        shutil.copytree("/etc/pam.d", self.dirs["pam.d"], symlinks=True)
        os.chmod(self.dirs["pam.d"], 0o755)
        dest = os.path.join(self.dirs["actions"], os.path.basename(self.policy_file))
        shutil.copyfile(self.policy_file, dest)
        os.chmod(dest, 0o644)
        self.set_rules(rules, wait=False)
        self.set_pam(pam)
        for name, target in (("actions", "/usr/share/polkit-1/actions"),
                             ("rules-etc", "/etc/polkit-1/rules.d"),
                             ("rules-usr", "/usr/share/polkit-1/rules.d"),
                             ("pam.d", "/etc/pam.d")):
            subprocess.run(["mount", "--bind", self.dirs[name], target], check=True)

    def set_pam(self, mode):
        """PAM for polkit's authentication agent helper: "permit" or "deny"."""
        _write(os.path.join(self.dirs["pam.d"], "polkit-1"), PAM[mode])

    def set_rules(self, text, wait=True):
        """Replaces the test rules. polkitd notices through inotify and reloads within
        about a second; with wait=True polkitd is restarted instead, so the new rules
        are in force when this returns (the daemon's polkit client follows the name)."""
        _write(os.path.join(self.dirs["rules-etc"], RULES_FILE), text)
        self.rules_text = text
        if wait and self.proc is not None and not self.mock:
            self.stop()
            self.start()

    def start(self, timeout=10):
        """The real polkitd (starts as root, drops to user polkitd by itself)."""
        self.mock = False
        env = None if self.address is None else dict(os.environ,
                                                     DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.proc = self.processes.start("polkitd", [POLKITD, "--no-debug"],
                                         os.path.join(self.top, "..", "polkitd.log"), env=env)
        bus.wait_for_name(NAME, timeout, self.address)

    def start_mock(self, timeout=10):
        """python-dbusmock's polkitd template, as user polkitd (only it may own the name).
        It ignores who calls: no root shortcut, no rules, no challenge. Control it with
        mock_call(): SetAllowed(as), AllowUnknown(b), SetDelay(d), SimulateHang(b)."""
        self.mock = True
        argv = procs.as_user("polkitd", ["/usr/bin/python3", "-m", "dbusmock",
                                         "--template", "polkitd", "--system"])
        env = dict(os.environ, HOME=self.top, PYTHONDONTWRITEBYTECODE="1")
        self.proc = self.processes.start("polkitd-mock", argv,
                                         os.path.join(self.top, "..", "polkitd-mock.log"),
                                         env=env, cwd="/")
        bus.wait_for_name(NAME, timeout)

    def mock_call(self, method, *gvariant_args):
        """Calls a control method of the mock, arguments in GVariant text form."""
        r = subprocess.run(["gdbus", "call", "--system", "-d", NAME, "-o", AUTHORITY,
                            "-m", f"{MOCK_IFACE}.{method}"] + list(gvariant_args),
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"mock {method} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.processes.forget(self.proc)
            self.proc = None
            # Wait until the bus has dropped the name, so a caller sees "no polkitd".
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and bus.has_owner(NAME, self.address):
                time.sleep(0.02)


def _write(path, text):
    """Atomic replace, world-readable (polkitd reads as user polkitd)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
