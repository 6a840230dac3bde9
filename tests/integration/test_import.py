"""Bulk import and export (issue 12) through the real CLI and daemon, against the real
slapd and ejabberd: each format, a second run changing nothing, bad rows reported with
their line while the good ones land, a Calculate-Server-shaped LDIF whose {SSHA} passwords
then log in over XMPP (and whose `initials: Yes` is locked), a cancel in the middle
leaving every account either wholly there or absent, and the export's round trip.

One world (one ejabberd) for the file; the tests run in file order."""

import base64
import json
import os
import re
import signal
import subprocess
import tempfile

import pytest

from harness import e2e, ldap


@pytest.fixture(scope="module")
def world(make_world):
    return e2e.cli_world(make_world)


@pytest.fixture(scope="module")
def cli(world):
    return world.cli


def users_base(world):
    return f"ou=Users,ou=Jabber,ou=Services,{world.slapd.base_dn}"


def jabber_base(world):
    return f"ou=Jabber,ou=Services,{world.slapd.base_dn}"


def csns(world):
    """entryCSN of every entry of the subtree: any write changes one."""
    r = world.slapd.search_external(jabber_base(world), "-o", "ldif-wrap=no", "(objectClass=*)",
                                    "entryCSN")
    assert r.returncode == 0, r.stderr
    return r.stdout


def entries(world, base, filt, *attrs):
    """{dn: {attr(lower): [values]}} (text values only)."""
    r = world.slapd.search_external(base, "-o", "ldif-wrap=no", filt, *attrs)
    assert r.returncode == 0, r.stderr
    out, dn = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("dn: "):
            dn = line[4:]
            out[dn] = {}
        elif dn and ":: " in line:
            k, v = line.split(":: ", 1)
            out[dn].setdefault(k.lower(), []).append(base64.b64decode(v).decode())
        elif dn and ": " in line:
            k, v = line.split(": ", 1)
            out[dn].setdefault(k.lower(), []).append(v)
    return out


def group_of(world):
    """{user name: [group names]} from the groups' memberUid and description."""
    out = {}
    for attrs in entries(world, f"ou=Groups,{jabber_base(world)}", "(objectClass=posixGroup)",
                         "description", "memberUid").values():
        for m in attrs.get("memberuid", []):
            out.setdefault(m, []).append(attrs["description"][0])
    return out


def user_names(world):
    return {a["uid"][0] for a in entries(world, users_base(world), "(objectClass=inetOrgPerson)",
                                         "uid").values()}


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def summary(stdout):
    m = re.search(r"(\d+) rows: (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) failed", stdout)
    assert m, stdout
    return dict(zip(("total", "created", "updated", "unchanged", "failed"), map(int, m.groups())))


def import_json(cli, *args):
    r = cli.run("cl-jabber", "--json", "user", "import", *args)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"not JSON ({r.returncode}): {r.stdout}{r.stderr}")


CSV = """name,nickname,password,group
pupil1,Ученик 1,Pupil-pw-1,Класс 1А
pupil2,"Петров, Пётр",Pupil-pw-2,Класс 1А
pupil3,,,Класс 1Б
Bad Name,x,,Класс 1А
pupil4,"broken"quote,,
pupil5,only three,
pupil1,again,,Класс 1Б
teacher,Учитель,,
"""


def test_csv_import_with_bad_lines(world, cli, tmp_path):
    path = write(tmp_path, "school.csv", CSV)
    r = cli.run("cl-jabber", "user", "import", "--create-groups", path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    s = summary(r.stdout)
    assert s == {"total": 8, "created": 4, "updated": 0, "unchanged": 0, "failed": 4}, r.stdout
    # Each bad row with its line, name and reason; the good ones landed.
    for line in (5, 6, 7, 8):
        assert re.search(rf"^line {line}: ", r.stderr, re.M), r.stderr
    assert "Bad Name" in r.stderr and "listed twice" in r.stderr, r.stderr
    assert {"pupil1", "pupil2", "pupil3", "teacher"} <= user_names(world)
    groups = group_of(world)
    assert groups["pupil1"] == ["Класс 1А"] and groups["pupil2"] == ["Класс 1А"], groups
    assert groups["pupil3"] == ["Класс 1Б"], groups
    assert "teacher" not in groups
    nick = entries(world, users_base(world), "(uid=pupil2)", "displayName")
    assert list(nick.values())[0]["displayname"] == ["Петров, Пётр"], nick
    assert e2e.try_login(world, "pupil1", "Pupil-pw-1") == "ok"
    assert e2e.try_login(world, "pupil2", "Pupil-pw-2") == "ok"


def test_second_run_changes_nothing(world, cli, tmp_path):
    path = write(tmp_path, "school.csv", CSV)
    before = csns(world)
    r = cli.run("cl-jabber", "user", "import", "--create-groups", path)
    s = summary(r.stdout)
    assert s["created"] == 0 and s["updated"] == 0 and s["unchanged"] == 4, r.stdout
    assert csns(world) == before, "the second import wrote to the directory"
    # A password in the file does not replace an existing one unless asked.
    assert e2e.try_login(world, "pupil1", "Pupil-pw-1") == "ok"


def test_changes_are_applied_and_passwords_only_when_asked(world, cli, tmp_path):
    path = write(tmp_path, "moves.csv",
                 "name,nickname,password,group,locked\n"
                 "pupil1,Ученик один,Other-pw-1,Класс 1Б,no\n"
                 "pupil3,,,,yes\n")
    r = cli.run("cl-jabber", "user", "import", path)
    s = summary(r.stdout)
    assert s["updated"] == 2 and s["failed"] == 0, (r.stdout, r.stderr)
    assert group_of(world)["pupil1"] == ["Класс 1Б"]
    assert "pupil3" not in group_of(world)
    assert e2e.try_login(world, "pupil1", "Pupil-pw-1") == "ok"
    assert e2e.try_login(world, "pupil3", "") != "ok"
    r = cli.run("cl-jabber", "user", "import", "--update-passwords", path)
    assert summary(r.stdout)["updated"] == 1, r.stdout
    assert e2e.try_login(world, "pupil1", "Other-pw-1") == "ok"


def test_missing_group_is_an_error_of_its_row(world, cli, tmp_path):
    path = write(tmp_path, "g.csv", "name,group\nnogroup1,Нет такой\nnogroup2,\n")
    r = cli.run("cl-jabber", "user", "import", path)
    assert r.returncode == 1
    assert re.search(r"^line 2: nogroup1: .*Нет такой", r.stderr, re.M), r.stderr
    assert "nogroup1" not in user_names(world) and "nogroup2" in user_names(world)


def test_json_import(world, cli, tmp_path):
    path = write(tmp_path, "u.json", json.dumps({"users": [
        {"name": "jsonuser", "nickname": "Джейсон", "password": "Json-pw-1", "group": "Класс 1А"},
        {"name": "jsonlocked", "locked": True},
        {"name": "JSONBAD"},
        {"name": "jsonx", "shoe": 1}]}))
    r, out = import_json(cli, path)
    assert r.returncode == 1
    assert (out["state"], out["created"], out["failed"], out["total"]) == ("finished", 2, 2, 4), out
    assert sorted(e["line"] for e in out["errors"]) == [3, 4], out
    assert group_of(world)["jsonuser"] == ["Класс 1А"]
    assert e2e.try_login(world, "jsonuser", "Json-pw-1") == "ok"
    locked = entries(world, users_base(world), "(uid=jsonlocked)", "shadowExpire")
    assert list(locked.values())[0].get("shadowexpire") == ["1"], locked
    r, out = import_json(cli, path)
    assert (out["created"], out["updated"], out["unchanged"]) == (0, 0, 2), out


def calculate_ldif(world):
    """A directory as Calculate-Server 2.x wrote it: cn = name, sn = nickname, mail = JID,
    {SSHA} passwords, initials Yes/No as the lock, groups named by their cn."""
    base = "ou=Jabber,ou=Services,dc=calculate,dc=local"
    people = [("migr1", "Мигрант 1", "Migr-pw-1", "No"), ("migr2", "migr2", "Migr-pw-2", "No"),
              ("migr3", "Заблокирован", "Migr-pw-3", "Yes")]
    out = ["version: 1", "", f"dn: ou=Users,{base}", "objectClass: organizationalUnit",
           "ou: Users", ""]
    for name, nick, pw, initials in people:
        out += [f"dn: uid={name},ou=Users,{base}", "objectClass: top", "objectClass: person",
                "objectClass: organizationalPerson", "objectClass: inetOrgPerson",
                f"uid: {name}", f"cn: {name}", f"sn: {nick}", f"mail: {name}@calculate.local",
                f"userPassword: {ldap.ssha(pw)}", f"initials: {initials}", ""]
    out += [f"dn: cn=Мигранты,ou=Groups,{base}", "objectClass: top", "objectClass: posixGroup",
            "cn: Мигранты", "gidNumber: 900", "memberUid: migr1", "memberUid: migr3", ""]
    return "\n".join(out) + "\n"


def test_calculate_server_ldif_migrates_with_working_passwords(world, cli, tmp_path):
    path = write(tmp_path, "calculate.ldif", calculate_ldif(world))
    r = cli.run("cl-jabber", "user", "import", "--create-groups", path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert summary(r.stdout)["created"] == 3, r.stdout
    # The {SSHA} hashes were kept as they were, and slapd checks them at ejabberd's bind.
    [stored] = e2e.ldap_attribute(world, "migr1", "userPassword")
    assert stored.startswith(b"{SSHA}"), stored
    assert e2e.try_login(world, "migr1", "Migr-pw-1") == "ok"
    assert e2e.try_login(world, "migr2", "Migr-pw-2") == "ok"
    assert e2e.try_login(world, "migr1", "Migr-pw-2") == "auth-failed"
    # initials: Yes is a locked account here.
    assert e2e.try_login(world, "migr3", "Migr-pw-3") == "auth-failed"
    shown = json.loads(cli.ok("cl-jabber", "--json", "user", "show", "migr3"))
    assert shown.get("locked") is True, shown
    assert group_of(world)["migr1"] == ["Мигранты"] and group_of(world)["migr3"] == ["Мигранты"]
    before = csns(world)
    r = cli.run("cl-jabber", "user", "import", "--create-groups", path)
    assert summary(r.stdout)["unchanged"] == 3, r.stdout
    assert csns(world) == before


def jpeg(width, height):
    """A real JPEG (a gradient), as a Calculate-Server jpegPhoto would be."""
    import gi
    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf, GLib
    data = bytes((x * 255 // width) if c == 0 else (y * 255 // height) if c == 1 else 128
                 for y in range(height) for x in range(width) for c in range(3))
    pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(data), GdkPixbuf.Colorspace.RGB,
                                             False, 8, width, height, width * 3)
    ok, out = pixbuf.save_to_bufferv("jpeg", ["quality"], ["60"])
    assert ok
    return bytes(out)


def jpeg_size(data):
    import gi
    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf
    loader = GdkPixbuf.PixbufLoader.new_with_type("jpeg")
    loader.write(data)
    loader.close()
    pixbuf = loader.get_pixbuf()
    return pixbuf.get_width(), pixbuf.get_height()


def test_calculate_server_photos_go_through_the_photo_sandbox(world, cli, tmp_path):
    """jpegPhoto from a Calculate-Server LDIF is stored as the photo sandbox re-encodes it
    (scaled to fit 192 pixels, a JPEG within the cap), not as the file has it; a photo the
    sandbox refuses fails its line (the account is not written) and the others land."""
    base = "ou=Jabber,ou=Services,dc=calculate,dc=local"
    good = jpeg(400, 300)
    assert len(good) < 32 * 1024
    # JPEG markers around garbage: past the parser's checks, refused by the decoder.
    bad = b"\xff\xd8\xff\xe0" + b"not really an image " * 40 + b"\xff\xd9"
    out = ["version: 1", ""]
    for name, photo in (("photo1", good), ("photo2", bad), ("photo3", None)):
        out += [f"dn: uid={name},ou=Users,{base}", "objectClass: top", "objectClass: person",
                "objectClass: organizationalPerson", "objectClass: inetOrgPerson",
                f"uid: {name}", f"cn: {name}", f"sn: Фото {name}", f"mail: {name}@calculate.local",
                f"userPassword: {ldap.ssha('Photo-pw')}", "initials: No"]
        if photo is not None:
            out.append("jpegPhoto:: " + base64.b64encode(photo).decode())
        out.append("")
    path = write(tmp_path, "photos.ldif", "\n".join(out) + "\n")
    r = cli.run("cl-jabber", "user", "import", path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    s = summary(r.stdout)
    assert (s["created"], s["failed"]) == (2, 1), r.stdout
    assert re.search(r"^line \d+: photo2: the photo cannot be used", r.stderr, re.M), r.stderr
    names = user_names(world)
    assert "photo1" in names and "photo3" in names and "photo2" not in names
    [stored] = e2e.ldap_attribute(world, "photo1", "jpegPhoto")
    assert stored != good and stored[:2] == b"\xff\xd8" and len(stored) <= 32 * 1024
    assert max(jpeg_size(stored)) <= 192, jpeg_size(stored)
    assert e2e.ldap_attribute(world, "photo3", "jpegPhoto") == []
    assert json.loads(cli.ok("cl-jabber", "--json", "user", "show", "photo1"))["has_photo"] is True
    # Again: the account that has its photo is left alone (nothing converted, nothing written).
    before = csns(world)
    r = cli.run("cl-jabber", "user", "import", path)
    s = summary(r.stdout)
    assert (s["unchanged"], s["failed"]) == (2, 1), r.stdout
    assert csns(world) == before


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_round_trip(world, cli, tmp_path, fmt):
    exported = cli.ok("cl-jabber", "user", "export", "--format", fmt)
    assert "Pupil-pw" not in exported and "{SSHA}" not in exported and "$y$" not in exported
    path = write(tmp_path, f"export.{fmt}", exported)
    before = csns(world)
    r = cli.run("cl-jabber", "user", "import", path)
    s = summary(r.stdout)
    assert r.returncode == 0 and s["created"] == 0 and s["updated"] == 0 and s["failed"] == 0, \
        (r.stdout, r.stderr)
    assert s["unchanged"] == len(user_names(world)), r.stdout
    assert csns(world) == before


def test_cancel_midway_leaves_accounts_whole_or_absent(world, cli, tmp_path):
    n = 10000
    rows = ["name,group"] + [f"bulk{i:05d},{'Поток ' + str(i % 7)}" for i in range(n)]
    path = write(tmp_path, "bulk.csv", "\n".join(rows) + "\n")
    exe = os.path.join(world.cli_dir, "cl-jabber")
    env = dict(os.environ, PATH=world.cli_dir + os.pathsep + os.environ.get("PATH", ""))
    p = subprocess.Popen([exe, "user", "import", "--create-groups", path], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    # The first progress line comes after the first batch: cancel there.
    progressed = False
    for line in p.stderr:
        m = re.search(r"(\d+) of (\d+) rows", line)
        if m and int(m.group(1)) > 0:
            progressed = True
            p.send_signal(signal.SIGINT)
            break
    out, err = p.communicate(timeout=300)
    assert progressed, err
    assert p.returncode == 1
    assert "cancelled" in err, (out, err)
    s = summary(out)
    assert 0 < s["created"] < n, out
    names = {u for u in user_names(world) if u.startswith("bulk")}
    groups = group_of(world)
    assert len(names) == s["created"], (len(names), s)
    # Whole or absent: every account there is in its group, no member is missing.
    for u in names:
        i = int(u[4:])
        assert groups.get(u) == [f"Поток {i % 7}"], (u, groups.get(u))
    assert not [u for u in groups if u.startswith("bulk") and u not in names]


def test_cancel_while_hashing_leaves_accounts_whole_or_absent(world, cli, tmp_path):
    """Clear passwords: the next batch is hashed while one is written (the pipeline). A
    cancel then drops the batch being hashed and ends after the one being written: every
    account there has its password, none is half made, and the job ends."""
    n = 1500
    rows = ["name,nickname,password"] + [f"hash{i:05d},Хеш {i},Hash-pw-{i}" for i in range(n)]
    path = write(tmp_path, "hash.csv", "\n".join(rows) + "\n")
    exe = os.path.join(world.cli_dir, "cl-jabber")
    env = dict(os.environ, PATH=world.cli_dir + os.pathsep + os.environ.get("PATH", ""))
    p = subprocess.Popen([exe, "user", "import", path], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    progressed = False
    for line in p.stderr:
        m = re.search(r"(\d+) of (\d+) rows", line)
        if m and int(m.group(1)) > 0:
            progressed = True
            p.send_signal(signal.SIGINT)
            break
    out, err = p.communicate(timeout=300)
    assert progressed, err
    assert p.returncode == 1 and "cancelled" in err, (out, err)
    s = summary(out)
    assert 0 < s["created"] < n and s["failed"] == 0, out
    made = entries(world, users_base(world), "(uid=hash*)", "uid", "userPassword")
    assert len(made) == s["created"], (len(made), s)
    for attrs in made.values():
        assert attrs.get("userpassword", [""])[0].startswith("{CRYPT}$y$"), attrs
    # The daemon is free for the next import at once.
    r = cli.run("cl-jabber", "user", "import", write(tmp_path, "after.csv", "name\nafterhash\n"))
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_reading_the_fd_in_bounded_chunks_refuses_a_huge_file(world, cli, tmp_path):
    """More than the cap is refused as a whole, nothing written."""
    before = csns(world)
    with tempfile.TemporaryFile() as f:
        f.write(b"name\n" + b"x" * (65 * 1024 * 1024))
        f.seek(0)
        r = subprocess.run([os.path.join(world.cli_dir, "cl-jabber"), "user", "import", "-"],
                           stdin=f, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "larger than" in r.stderr, (r.stdout, r.stderr)
    assert csns(world) == before


def test_admin_row_needs_the_setup_authorization(world, cli):
    """A caller allowed to manage users and groups, not to set up, imports a file listing
    `admin`: that row fails, the others land."""
    from harness import client, polkit
    exe = os.path.join(world.cli_dir, "cl-jabber")
    before = entries(world, users_base(world), "(uid=admin)", "sn", "displayName")
    world.polkit.set_rules(polkit.rule("YES", actions=["org.calculate.jabber.manage-users",
                                                       "org.calculate.jabber.manage-groups"],
                                       users=["nobody"]))
    try:
        r = client.run([exe, "user", "import", "-"], user="nobody",
                       input="name,nickname\nadmin,Hacked\nnotadmin,Ok\n")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert re.search(r"^line 2: admin: .*setup", r.stderr, re.M), r.stderr
        assert "notadmin" in user_names(world)
        assert entries(world, users_base(world), "(uid=admin)", "sn", "displayName") == before
        # Someone else's job: nobody may not cancel root's (no rule for it: denied).
        world.polkit.set_rules(polkit.rule("YES", actions=["org.calculate.jabber.manage-groups"],
                                           users=["nobody"]))
        r = client.run([exe, "user", "import", "-"], user="nobody", input="name\nnotadmin2\n")
        assert r.returncode != 0 and "notadmin2" not in user_names(world), (r.stdout, r.stderr)
    finally:
        world.polkit.set_rules("")


def held_import(world, name, what):
    """An import from a pipe kept open (cl-jabber user import -), its first row @name sent,
    once the daemon logged its start: the job waits for the rest of its file."""
    exe = os.path.join(world.cli_dir, "cl-jabber")
    env = dict(os.environ, PATH=world.cli_dir + os.pathsep + os.environ.get("PATH", ""))
    log = os.path.join(world.top, "calculate-jabberd.log")
    process = subprocess.Popen([exe, "user", "import", "-"], env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write(f"name\n{name}\n")
    process.stdin.flush()

    def started():
        with open(log, errors="replace") as f:
            return f"pid={process.pid}: " in f.read()
    e2e.poll(started, what)
    return process


def test_one_import_at_a_time(world, cli, tmp_path):
    """While an import waits for its file (a pipe held open), another is Busy; the first,
    whose caller goes away before the end of its file, imports nothing."""
    first = held_import(world, "held1", "the first import started")
    r = cli.run("cl-jabber", "user", "import", write(tmp_path, "b.csv", "name\nheld2\n"))
    assert r.returncode != 0 and "Another import is running" in r.stderr, (r.stdout, r.stderr)
    # The caller goes away (its end of the pipe stays open here): the job is cancelled.
    first.kill()
    first.wait()
    e2e.poll(lambda: cli.run("cl-jabber", "user", "import",
                             write(tmp_path, "c.csv", "name\nheld3\n")).returncode == 0,
             "the next import runs once the first caller went away")
    first.stdin.close()
    names = user_names(world)
    assert "held1" not in names and "held2" not in names and "held3" in names


def newest_job():
    """The path of the last Job exported (the daemon numbers them)."""
    from harness import client
    r = client.call("/org/calculate/Jabber/Jobs", "org.freedesktop.DBus.Introspectable",
                    "Introspect")
    assert r.ok, r
    numbers = [int(n) for n in re.findall(r'<node name="(\d+)"', r.reply.encode().decode("unicode_escape"))]
    assert numbers, r.reply
    return f"/org/calculate/Jabber/Jobs/{max(numbers)}"


def test_only_the_owner_root_or_an_administrator_cancels(world, cli, tmp_path):
    """Job.Cancel needs manage-users and, from anybody but the uid that started the import
    (and root), the setup authorization: manage-users alone does not stop somebody else's
    import."""
    from harness import client, polkit
    log = os.path.join(world.top, "calculate-jabberd.log")
    # Root's import, held open while its file is still being sent.
    first = held_import(world, "heldc1", "root's import started")
    path = newest_job()
    job = "org.calculate.Jabber.Job"
    try:
        world.polkit.set_rules(polkit.rule("YES", actions=["org.calculate.jabber.manage-users"],
                                           users=["nobody"]))
        r = client.call(path, job, "Cancel", user="nobody")
        assert r.error == "org.calculate.Jabber.Error.PermissionDenied", r
        assert "uid 0" in r.message, r
        state = client.call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                            f"('{job}', 'State')")
        assert "reading" in state.reply, state
        # An administrator may.
        world.polkit.set_rules(polkit.rule("YES", actions=["org.calculate.jabber.manage-users",
                                                           "org.calculate.jabber.setup"],
                                           users=["nobody"]))
        r = client.call(path, job, "Cancel", user="nobody")
        assert r.ok, r
    finally:
        world.polkit.set_rules("")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 1 and "cancelled" in err, (out, err)
    assert "heldc1" not in user_names(world)
    with open(log, errors="replace") as f:
        assert re.search(r"Job.Cancel target=\"" + re.escape(path) + r"\": .*uid 0", f.read()), \
            "the refusal is audited"


def test_two_thousand_from_csv_with_a_progress_bar(world, cli, tmp_path):
    """The issue's "done when": 2,000 accounts from CSV at a terminal show a progress bar
    (done/total, rate, time left), and importing the file again changes nothing."""
    rows = ["name,nickname,password,group"]
    for i in range(2000):
        rows.append(f"school{i:04d},Ученик {i},{'School-pw-' + str(i) if i % 50 == 0 else ''},"
                    f"Класс {i % 11 + 1}")
    path = write(tmp_path, "school2000.csv", "\n".join(rows) + "\n")
    exe = os.path.join(world.cli_dir, "cl-jabber")
    # `script` gives the command a terminal, as an administrator's.
    r = subprocess.run(["script", "-qec", f"{exe} user import --create-groups {path}", "/dev/null"],
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:]
    assert re.search(r"\[#+-*\] +\d+/2000 +\d+%", r.stdout), r.stdout[-2000:]
    assert "/s" in r.stdout and "left" in r.stdout, r.stdout[-2000:]
    assert "2000 rows: 2000 created, 0 updated, 0 unchanged, 0 failed" in r.stdout, r.stdout[-2000:]
    assert e2e.try_login(world, "school0050", "School-pw-50") == "ok"
    before = csns(world)
    r = cli.run("cl-jabber", "user", "import", "--create-groups", path)
    assert summary(r.stdout) == {"total": 2000, "created": 0, "updated": 0, "unchanged": 2000,
                                 "failed": 0}, r.stdout
    assert csns(world) == before


def test_other_callers_are_served_during_an_import(world, cli, tmp_path):
    """A big import holds the directory's writer one batch at a time: another caller's
    change and reading go through meanwhile, long before the import ends."""
    n = 20000
    path = write(tmp_path, "big.csv", "name\n" + "".join(f"busy{i:05d}\n" for i in range(n)))
    exe = os.path.join(world.cli_dir, "cl-jabber")
    env = dict(os.environ, PATH=world.cli_dir + os.pathsep + os.environ.get("PATH", ""))
    p = subprocess.Popen([exe, "user", "import", path], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        for line in p.stderr:   # the first progress line: the import is writing
            if re.search(r"[1-9]\d* of \d+ rows", line):
                break
        cli.useradd("during", "During-pw-1")
        shown = json.loads(cli.ok("cl-jabber", "--json", "user", "show", "during"))
        still_running = p.poll() is None
    finally:
        out, err = p.communicate(timeout=600)
    assert shown["name"] == "during"
    assert still_running, "the import ended before the other caller was served: no proof"
    assert summary(out)["created"] == n, (out, err)
