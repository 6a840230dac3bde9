"""User photos (issue 5) through the real daemon and the real CLI: the directory set up with
`cl-setup ldap`, users added with `cl-useradd -i`, photos replaced with `cl-usermod -i`,
exported and cleared with `cl-jabber user photo`; the JPEG checked as LDAP holds it
(jpegPhoto, read with ldapsearch) and decoded back with gdk-pixbuf (python3-gi).
Hostile descriptors and images sent over D-Bus are refused with InvalidArgument, LDAP is
left as it was and the daemon keeps answering. The CLI opens the image as the user who
runs it: a file only root may read does not become readable through the daemon."""

import os
import socket
import stat
import subprocess
import zlib

import gi
import pytest

gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, Gio, GLib  # noqa: E402

from harness import client  # noqa: E402
from helpers_directory import (ERROR, MANAGER, MANAGER_PATH, SERVER, SERVER_PATH,  # noqa: E402
                               USER, Bus, DBusError, Directory, daemon_criticals)

INVALID = ERROR + "InvalidArgument"
MAX_SIDE = 192
MAX_JPEG = 32 * 1024
NICK = "Гость"


# The world ------------------------------------------------------------------------------

class Env:
    def __init__(self, world, bus, ldap, images):
        self.world = world
        self.bus = bus
        self.ldap = ldap
        self.images = images            # a directory of test images, 0755
        self._serial = 0

    def unique(self, prefix):
        self._serial += 1
        return f"{prefix}{self._serial}"

    def cli(self, name, *args, user=None, input=None):
        exe = os.path.join(self.world.cli_dir, name)
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} was not built")
        return client.run([exe] + list(args), user=user, input=input)

    def photo(self, name):
        """The jpegPhoto LDAP holds for `name` (bytes), or None."""
        entry = self.ldap.user(name)
        assert entry is not None, f"no LDAP entry for {name}"
        values = entry.get("jpegphoto")
        if values is None:
            return None
        assert len(values) == 1, values
        value = values[0]
        assert isinstance(value, bytes), "jpegPhoto came back as text"
        return value

    def user_path(self, name):
        return self.bus.find_user(name)

    def has_photo(self, name):
        return self.bus.prop(self.user_path(name), USER, "HasPhoto")


@pytest.fixture(scope="module")
def env(make_world):
    world = make_world(ldap="database", polkit="real")
    bus = Bus()
    ldap = Directory(world.slapd)
    images = os.path.join(world.top, "images")
    os.mkdir(images, 0o755)
    e = Env(world, bus, ldap, images)
    r = e.cli("cl-setup", "ldap")
    assert r.returncode == 0, r.stdout + r.stderr
    assert bus.prop(SERVER_PATH, SERVER, "LdapConfigured") is True
    yield e
    bus.close()


@pytest.fixture
def unchanged(env):
    """LDAP's Jabber subtree is exactly as it was when the test started."""
    before = env.ldap.dump()
    yield
    assert env.ldap.dump() == before, "LDAP was changed"


# Images ---------------------------------------------------------------------------------

def make_pixbuf(width, height, alpha=False):
    """A gradient (red across, green down), like a small photo."""
    channels = 4 if alpha else 3
    rowstride = width * channels
    data = bytearray(rowstride * height)
    for y in range(height):
        g = y * 255 // max(1, height - 1)
        row = bytearray()
        for x in range(width):
            r = x * 255 // max(1, width - 1)
            row += bytes((r, g, 128, 255)[:channels])
        data[y * rowstride:(y + 1) * rowstride] = row
    return GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(bytes(data)),
                                           GdkPixbuf.Colorspace.RGB, alpha, 8,
                                           width, height, rowstride)


def write_image(env, name, width, height, fmt, alpha=False, mode=0o644):
    path = os.path.join(env.images, name)
    ok, buffer = make_pixbuf(width, height, alpha).save_to_bufferv(fmt, [], [])
    assert ok
    with open(path, "wb") as f:
        f.write(buffer)
    os.chmod(path, mode)
    return path


def write_bytes(env, name, data, mode=0o644):
    path = os.path.join(env.images, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def decode(jpeg):
    """(format name, width, height) of an image, read back with gdk-pixbuf."""
    loader = GdkPixbuf.PixbufLoader()
    loader.write(jpeg)
    loader.close()
    pixbuf = loader.get_pixbuf()
    return loader.get_format().get_name(), pixbuf.get_width(), pixbuf.get_height()


def assert_avatar(jpeg, width, height):
    assert jpeg is not None, "no photo stored"
    assert jpeg[:3] == b"\xff\xd8\xff", jpeg[:16]
    assert jpeg[-2:] == b"\xff\xd9"
    assert len(jpeg) <= MAX_JPEG, len(jpeg)
    assert decode(jpeg) == ("jpeg", width, height)


def png_with_ihdr(width, height):
    """A small valid PNG whose IHDR claims width × height (its CRC recomputed)."""
    ok, png = make_pixbuf(16, 16).save_to_bufferv("png", [], [])
    assert ok and png[12:16] == b"IHDR"
    png = bytearray(png)
    png[16:20] = width.to_bytes(4, "big")
    png[20:24] = height.to_bytes(4, "big")
    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")
    return bytes(png)


# D-Bus with descriptors ------------------------------------------------------------------

def call_with_fd(env, path, interface, method, signature, args, fd, reply_type=None):
    """A call that carries `fd` (handle 0) in its descriptor list. Raises DBusError."""
    fds = Gio.UnixFDList.new()
    if fd is not None:
        fds.append(fd)
    try:
        result, _ = env.bus.conn.call_with_unix_fd_list_sync(
            client.SERVICE, path, interface, method, GLib.Variant(f"({signature})", args),
            GLib.VariantType.new(reply_type) if reply_type else None,
            Gio.DBusCallFlags.NONE, 60000, fds, None)
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e)
        message = e.message
        prefix = f"GDBus.Error:{name}: "
        if message.startswith(prefix):
            message = message[len(prefix):]
        raise DBusError(name, message) from None
    return result.unpack() if result is not None else None


def set_photo(env, name, fd):
    return call_with_fd(env, env.user_path(name), USER, "SetPhoto", "h", (0,), fd)


def add_user_with_photo(env, name, fd, handle=0):
    return call_with_fd(env, MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                        (name, "", {"photo": GLib.Variant("h", handle)}), fd, "(o)")[0]


def get_photo(env, name):
    return bytes(env.bus.call(env.user_path(name), USER, "GetPhoto"))


def assert_daemon_answers(env):
    assert env.world.daemon.proc.alive(), env.world.daemon.log()[-2000:]
    assert env.bus.prop(SERVER_PATH, SERVER, "LdapConfigured") is True
    assert isinstance(env.bus.list_users(), list)
    assert not daemon_criticals(env.world), daemon_criticals(env.world)


# The CLI --------------------------------------------------------------------------------

def test_useradd_with_png_stores_a_jpeg(env):
    guest_png = write_image(env, "guest.png", 800, 400, "png")
    r = env.cli("cl-useradd", "-P", "-c", NICK, "-i", guest_png, "guest", "jabber",
                input="guest-password\n")
    assert r.returncode == 0, r.stdout + r.stderr

    jpeg = env.photo("guest")
    assert_avatar(jpeg, 192, 96)
    entry = env.ldap.user("guest")
    assert entry["displayname"] == [NICK]
    assert env.ldap.bind(env.ldap.user_dn("guest"), "guest-password")
    assert env.has_photo("guest") is True
    # GetPhoto gives LDAP's bytes.
    assert get_photo(env, "guest") == jpeg


def test_export_gives_the_ldap_bytes(env):
    out = os.path.join(env.images, "out.jpg")
    r = env.cli("cl-jabber", "user", "photo", "guest", "--export", out)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out, "rb") as f:
        assert f.read() == env.photo("guest")
    # To standard output as well.
    r = subprocess_bytes(env, "cl-jabber", "user", "photo", "guest", "--export", "-")
    assert r == env.photo("guest")


def subprocess_bytes(env, *argv):
    """The standard output of a CLI command run as root, as bytes."""
    exe = os.path.join(env.world.cli_dir, argv[0])
    r = subprocess.run([exe] + list(argv[1:]), capture_output=True, env=client.env_for(None),
                       cwd="/", timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_usermod_replaces_the_photo(env):
    before = env.photo("guest")
    other_bmp = write_image(env, "other.bmp", 300, 600, "bmp")
    r = env.cli("cl-usermod", "-i", other_bmp, "guest", "jabber")
    assert r.returncode == 0, r.stdout + r.stderr
    after = env.photo("guest")
    assert after != before
    assert_avatar(after, 96, 192)
    assert env.has_photo("guest") is True


def test_a_new_daemon_reads_who_has_a_photo(env):
    """A full load asks for the photos beside the sync refresh (cj-follower.c): a user
    with one and a user without one come out right after a restart."""
    plain = env.unique("plain")
    r = env.cli("cl-useradd", plain, "jabber")
    assert r.returncode == 0, r.stdout + r.stderr
    env.world.daemon.stop()
    env.world.start_daemon()
    assert env.has_photo("guest") is True
    assert env.has_photo(plain) is False


def test_user_photo_sets_small_images_unscaled(env):
    name = env.unique("small")
    assert env.cli("cl-useradd", name, "jabber").returncode == 0
    assert env.photo(name) is None
    assert env.has_photo(name) is False
    # No photo: GetPhoto is empty, --export says so.
    assert get_photo(env, name) == b""
    r = env.cli("cl-jabber", "user", "photo", name, "--export", os.path.join(env.images, "none.jpg"))
    assert r.returncode != 0
    assert not os.path.exists(os.path.join(env.images, "none.jpg"))

    icon = write_image(env, "icon.png", 64, 48, "png", alpha=True)
    r = env.cli("cl-jabber", "user", "photo", name, icon)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_avatar(env.photo(name), 64, 48)
    assert env.has_photo(name) is True


@pytest.mark.parametrize("fmt,size,expected", [
    ("jpeg", (1000, 500), (192, 96)),
    ("bmp", (200, 400), (96, 192)),
])
def test_other_formats_through_the_cli(env, fmt, size, expected):
    name = env.unique(fmt)
    path = write_image(env, f"{name}.{fmt}", *size, fmt)
    r = env.cli("cl-useradd", "-i", path, name, "jabber")
    assert r.returncode == 0, r.stdout + r.stderr
    assert_avatar(env.photo(name), *expected)


SVG = ('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200">'
       '<rect width="400" height="200" fill="#ff0000"/></svg>\n').encode()


@pytest.mark.parametrize("fmt", ["svg", "tiff", "ico"])
def test_formats_off_the_allow_list_are_refused_through_the_cli(env, fmt):
    """Only the JPEG, PNG, GIF, WebP and BMP loaders read a caller's photo: SVG (librsvg),
    TIFF and ICO, which gdk-pixbuf could read, are refused with a message naming the
    formats that are accepted."""
    name = env.unique(f"no-{fmt}")
    if fmt == "svg":
        path = write_bytes(env, f"{name}.svg", SVG)
    else:
        path = write_image(env, f"{name}.{fmt}", 128, 128, fmt)
    before = env.ldap.dump()
    r = env.cli("cl-useradd", "-i", path, name, "jabber")
    assert r.returncode != 0, r.stdout
    assert "JPEG, PNG, GIF, WebP, BMP" in r.stderr, r.stderr
    assert env.ldap.dump() == before


def test_clear_removes_the_photo(env):
    assert env.photo("guest") is not None
    path = env.user_path("guest")
    mark = env.bus.mark()
    r = env.cli("cl-jabber", "user", "photo", "guest", "--clear")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "jpegphoto" not in env.ldap.user("guest")
    assert env.has_photo("guest") is False
    env.bus.wait_changed(mark, path, USER, {"HasPhoto": False})
    assert get_photo(env, "guest") == b""
    # The rest of the account is untouched.
    assert env.ldap.user("guest")["displayname"] == [NICK]
    assert env.ldap.bind(env.ldap.user_dn("guest"), "guest-password")


def test_cli_opens_the_file_as_the_caller(env):
    """A file only root may read, named to cl-useradd run as nobody: the CLI cannot open
    it, so the daemon never sees it (neither as a path nor as a descriptor)."""
    secret = write_image(env, "root-only.png", 50, 50, "png", mode=0o600)
    assert os.stat(secret).st_uid == 0
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    name = env.unique("nobodys")
    before = env.ldap.dump()
    r = env.cli("cl-useradd", "-i", secret, name, "jabber", user="nobody")
    assert r.returncode != 0, r.stdout
    assert "Cannot open" in r.stderr and "Permission denied" in r.stderr, r.stderr
    # Not the daemon's answer: the call was never made.
    assert "PermissionDenied" not in r.stderr and "not authorized" not in r.stderr.lower()
    assert env.ldap.dump() == before
    # The same for cl-usermod and cl-jabber user photo on an existing user.
    for argv in (["cl-usermod", "-i", secret, "guest", "jabber"],
                 ["cl-jabber", "user", "photo", "guest", secret]):
        r = env.cli(*argv, user="nobody")
        assert r.returncode != 0, r.stdout
        assert "Cannot open" in r.stderr, r.stderr
    assert env.ldap.dump() == before


# Hostile input over D-Bus ------------------------------------------------------------------

@pytest.fixture
def victim(env):
    """A user with a photo, for SetPhoto to be refused on."""
    name = env.unique("victim")
    path = write_image(env, f"{name}.png", 100, 100, "png")
    r = env.cli("cl-useradd", "-i", path, name, "jabber")
    assert r.returncode == 0, r.stdout + r.stderr
    assert env.photo(name) is not None
    return name


def hostile_fds(env):
    """(what, opener) pairs; opener() returns a descriptor we own."""
    def pipe():
        r, w = os.pipe()
        ok, png = make_pixbuf(10, 10).save_to_bufferv("png", [], [])
        os.write(w, png)            # a valid image in it: refused for being a pipe
        os.close(w)
        return r

    def directory():
        return os.open(env.images, os.O_RDONLY | os.O_DIRECTORY)

    def text():
        return os.open(write_bytes(env, "notes.txt", "Это не картинка.\n".encode() * 20),
                       os.O_RDONLY)

    def random_bytes():
        return os.open(write_bytes(env, "random.bin", bytes((i * 7919 + 13) % 251
                                                            for i in range(65536))), os.O_RDONLY)

    def too_many_pixels():
        return os.open(write_bytes(env, "huge.png", png_with_ihdr(100000, 100000)), os.O_RDONLY)

    def too_many_bytes():
        path = write_bytes(env, "big.png", b"")
        ok, png = make_pixbuf(20, 20).save_to_bufferv("png", [], [])
        with open(path, "wb") as f:
            f.write(png)
            f.truncate(17 * 1024 * 1024)
        return os.open(path, os.O_RDONLY)

    def empty():
        return os.open(write_bytes(env, "empty.png", b""), os.O_RDONLY)

    def svg():
        return os.open(write_bytes(env, "image.svg", SVG), os.O_RDONLY)

    def tiff():
        ok, data = make_pixbuf(50, 50).save_to_bufferv("tiff", [], [])
        return os.open(write_bytes(env, "image.tiff", data), os.O_RDONLY)

    def sock():
        a, b = socket.socketpair()
        b.close()
        return a.detach()

    return [("pipe", pipe), ("directory", directory), ("text", text),
            ("random-bytes", random_bytes), ("100000x100000", too_many_pixels),
            ("17MiB", too_many_bytes), ("empty", empty), ("socket", sock), ("svg", svg),
            ("tiff", tiff)]


HOSTILE = ["pipe", "directory", "text", "random-bytes", "100000x100000", "17MiB", "empty",
           "socket", "svg", "tiff"]


def opener(env, what):
    return dict(hostile_fds(env))[what]


@pytest.mark.parametrize("what", HOSTILE)
def test_set_photo_refuses_hostile_input(env, victim, what):
    before = env.ldap.dump()
    photo = env.photo(victim)
    fd = opener(env, what)()
    try:
        with pytest.raises(DBusError) as e:
            set_photo(env, victim, fd)
    finally:
        os.close(fd)
    assert e.value.name == INVALID, e.value
    assert e.value.message, "no message"
    assert env.ldap.dump() == before, "LDAP was changed"
    assert env.photo(victim) == photo
    assert env.has_photo(victim) is True
    assert_daemon_answers(env)


@pytest.mark.parametrize("what", HOSTILE)
def test_add_user_refuses_hostile_photo(env, unchanged, what):
    name = env.unique("hostile")
    fd = opener(env, what)()
    try:
        with pytest.raises(DBusError) as e:
            add_user_with_photo(env, name, fd)
    finally:
        os.close(fd)
    assert e.value.name == INVALID, e.value
    assert env.ldap.user(name) is None
    with pytest.raises(DBusError):
        env.bus.find_user(name)
    assert_daemon_answers(env)


def test_photo_handle_without_a_descriptor(env, victim, unchanged):
    # A handle that points past the (empty) descriptor list.
    with pytest.raises(DBusError) as e:
        call_with_fd(env, env.user_path(victim), USER, "SetPhoto", "h", (0,), None)
    assert e.value.name == INVALID
    with pytest.raises(DBusError) as e:
        add_user_with_photo(env, env.unique("nofd"), None, handle=3)
    assert e.value.name == INVALID
    assert_daemon_answers(env)


def test_set_photo_after_hostile_input_still_works(env, victim):
    """After every refusal above, a good image is converted and stored."""
    fd = os.open(write_image(env, "good.jpg", 640, 480, "jpeg"), os.O_RDONLY)
    try:
        assert set_photo(env, victim, fd) == ()
    finally:
        os.close(fd)
    assert_avatar(env.photo(victim), 192, 144)
    assert get_photo(env, victim) == env.photo(victim)
    name = env.unique("withphoto")
    fd = os.open(write_image(env, "good.png", 60, 30, "png"), os.O_RDONLY)
    try:
        path = add_user_with_photo(env, name, fd)
    finally:
        os.close(fd)
    assert env.bus.prop(path, USER, "HasPhoto") is True
    assert_avatar(env.photo(name), 60, 30)
    assert_daemon_answers(env)
