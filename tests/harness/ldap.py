"""A private slapd: cn=config built offline with slapadd, served on 127.0.0.1:<free port>
and on an ldapi socket in the world's directory.

Two shapes:
  "empty"    - cn=config only, no database: what `cl-setup ldap` fills in later;
  "database" - an mdb database for BASE_DN with rootdn ADMIN_DN, the base entry,
               syncprov and the indexes the service filters on.
Either way root may manage cn=config live over ldapi with SASL EXTERNAL
(`ldapmodify -Y EXTERNAL -H $ldapi_uri`), as `cl-setup ldap` will.
"""

import base64
import hashlib
import os
import secrets
import subprocess
import urllib.parse

from . import procs

BASE_DN = "dc=example,dc=org"
ADMIN_DN = "cn=admin," + BASE_DN
ROOT_PEER_DN = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"
SHAPES = ("empty", "database")


def ssha(password):
    """{SSHA} hash, as slappasswd makes it (computed here so the password never
    appears in an argv)."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _config_ldif(top, shape, admin_password):
    parts = [f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {top}/slapd.pid
olcArgsFile: {top}/slapd.args

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb
olcModuleLoad: syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema
"""]
    parts += [f"\ninclude: file://{SCHEMA_DIR}/{name}.ldif\n" for name in SCHEMAS]
    # The default size limit (500) cut ejabberd's searches short.
    parts.append(f"""
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: unlimited

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact="{ROOT_PEER_DN}" manage by * break
""")
    if shape == "database":
        parts.append(f"""
dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {top}/db
olcSuffix: {BASE_DN}
olcRootDN: {ADMIN_DN}
olcRootPW: {ssha(admin_password)}
olcDbMaxSize: 1073741824
olcDbIndex: objectClass,uid,cn,memberUid,entryUUID,entryCSN eq
olcAccess: {{0}}to attrs=userPassword by dn.exact="{ROOT_PEER_DN}" manage by self write by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{ROOT_PEER_DN}" manage by * read

dn: olcOverlay={{0}}syncprov,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
""")
    return "".join(parts)


BASE_LDIF = f"""dn: {BASE_DN}
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example
"""


# An accesslog database as syncprov's session log source, for a "database" world (cl-setup
# ldap makes its own: service/cj-slapd-accesslog.c): a resume then lists deletions instead
# of every unchanged entry.
_ACCESSLOG = """dn: cn=module{{0}},cn=config
changetype: modify
add: olcModuleLoad
olcModuleLoad: accesslog

dn: olcDatabase={{2}}mdb,cn=config
changetype: add
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{2}}mdb
olcDbDirectory: {directory}
olcSuffix: cn=accesslog
olcRootDN: cn=accesslog
olcDbIndex: entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq
olcAccess: {{0}}to * by dn.exact="{reader}" read by * none

dn: olcOverlay={{1}}accesslog,olcDatabase={{1}}mdb,cn=config
changetype: add
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: {{1}}accesslog
olcAccessLogDB: cn=accesslog
olcAccessLogOps: writes
olcAccessLogSuccess: TRUE
olcAccessLogPurge: 07+00:00 01+00:00

dn: olcOverlay={{0}}syncprov,olcDatabase={{1}}mdb,cn=config
changetype: modify
add: olcSpSessionlogSource
olcSpSessionlogSource: cn=accesslog
"""


class Slapd:
    def __init__(self, processes, top, shape="database"):
        if shape not in SHAPES:
            raise ValueError(f"LDAP shape must be one of {SHAPES}, not {shape!r}")
        self.processes = processes
        self.top = os.path.join(top, "slapd")
        self.shape = shape
        self.port = None
        self.proc = None
        self.base_dn = BASE_DN
        self.admin_dn = ADMIN_DN
        self.admin_password = secrets.token_urlsafe(12)
        self.admin_password_file = os.path.join(top, "ldap-admin.secret")
        socket_path = os.path.join(self.top, "ldapi")
        self.ldapi_uri = "ldapi://" + urllib.parse.quote(socket_path, safe="")

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def _slapadd(self, args, ldif, name):
        path = os.path.join(self.top, name)
        with open(path, "w") as f:
            f.write(ldif)
        r = subprocess.run(["slapadd", "-q"] + args + ["-l", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"slapadd {name} failed: {r.stderr}")

    def build(self):
        """Creates cn=config (and the database) offline."""
        os.makedirs(os.path.join(self.top, "slapd.d"), mode=0o700)
        os.makedirs(os.path.join(self.top, "db"), mode=0o700)
        fd = os.open(self.admin_password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.admin_password)
        config = os.path.join(self.top, "slapd.d")
        self._slapadd(["-n0", "-F", config],
                      _config_ldif(self.top, self.shape, self.admin_password), "config.ldif")
        if self.shape == "database":
            self._slapadd(["-F", config, "-b", BASE_DN], BASE_LDIF, "base.ldif")

    def start(self, timeout=10):
        if self.proc is None and not os.path.isdir(os.path.join(self.top, "slapd.d")):
            self.build()
        # A restart keeps the port: the daemon's Uri points at it.
        if self.port is None:
            self.port = procs.free_port()
        # -d keeps slapd in the foreground, so it stays our child (and its log ours).
        self.proc = self.processes.start(
            "slapd", ["slapd", "-d", "0", "-h", f"{self.uri}/ {self.ldapi_uri}",
                      "-F", os.path.join(self.top, "slapd.d")],
            os.path.join(self.top, "..", "slapd.log"))
        procs.wait_until(self._answers, timeout, "slapd")

    def _answers(self):
        self.proc.check_alive()
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", self.uri, "-s", "base",
                            "-b", "", "(objectClass=*)", "namingContexts"],
                           capture_output=True)
        return r.returncode == 0

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.processes.forget(self.proc)
            self.proc = None

    def add_session_log_source(self):
        """Adds _ACCESSLOG live over ldapi; raises RuntimeError if slapd refuses it."""
        directory = os.path.join(self.top, "accesslog")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        r = subprocess.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi_uri],
                           input=_ACCESSLOG.format(directory=directory, reader=self.admin_dn),
                           text=True, capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)

    def search_external(self, base, *args):
        """ldapsearch as root over ldapi (SASL EXTERNAL), e.g. to look at cn=config."""
        return subprocess.run(["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H",
                               self.ldapi_uri, "-b", base] + list(args),
                              capture_output=True, text=True)

    def search_admin(self, base, *args):
        """ldapsearch bound as the admin DN (password from its 0600 file)."""
        return subprocess.run(["ldapsearch", "-LLL", "-x", "-H", self.uri, "-D", self.admin_dn,
                               "-y", self.admin_password_file, "-b", base] + list(args),
                              capture_output=True, text=True)
