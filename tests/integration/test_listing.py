"""Listing many users and groups: Manager.GetUsers/GetGroups page by page (correct fields,
sorted by name, every boundary of a page), cl-jabber's lists built from them, and
ObjectManager.GetManagedObjects refusing a reply over its cap with LimitsExceeded while the
daemon stays on the bus (dbus-daemon would disconnect a daemon that sent a reply over its
32 MiB limit). The cap is lowered here with the hidden key [Limits] ManagedObjectsMaxBytes
(service/cj-config.h). Introspect names a subtree's child nodes only up to [Limits]
IntrospectMaxNodes (lowered here between the number of groups and of users)."""

import os

import pytest

from harness import bus as harness_bus, client
from helpers_directory import (MANAGER, MANAGER_PATH, NO_OBJECT, OBJECT_MANAGER, USER,
                               Bus, DBusError)

CAP = 20000     # bytes: a few dozen users
LIMITS = "org.freedesktop.DBus.Error.LimitsExceeded"
USERS = 45
GROUPS = 4
INTROSPECT_MAX = 10


@pytest.fixture(scope="module")
def env(make_world):
    world = make_world(ldap="database", polkit="real",
                       config={"Limits": {"ManagedObjectsMaxBytes": CAP,
                                          "IntrospectMaxNodes": INTROSPECT_MAX}})
    b = Bus()
    b.call(client.SERVER_PATH, client.SERVER_IFACE, "SetupLdap", "a{sv}", {})
    yield world, b
    b.close()


def get_users(b, offset, limit):
    return b.call(MANAGER_PATH, MANAGER, "GetUsers", "uu", offset, limit)


def get_groups(b, offset, limit):
    return b.call(MANAGER_PATH, MANAGER, "GetGroups", "uu", offset, limit)


def all_pages(fetch, limit):
    out, offset = [], 0
    while True:
        page, total = fetch(offset, limit)
        out.extend(page)
        offset += len(page)
        if not page or offset >= total:
            return out, total


def cli(world, *args, page_size=None):
    argv = [os.path.join(world.cli_dir, "cl-jabber")] + list(args)
    if page_size is not None:     # many pages (and a window of requests) out of few users
        argv = ["env", f"CJ_CLI_PAGE_SIZE={page_size}"] + argv
    return client.run(argv)


def test_small_tree_is_listed_whole(env):
    _, b = env
    objects = b.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")
    assert client.SERVER_PATH in objects
    assert get_users(b, 0, 10) == ([], 0)
    assert get_groups(b, 0, 10) == ([], 0)


@pytest.fixture(scope="module")
def filled(env):
    """USERS users (added in an order that is not their sorted order) and GROUPS groups,
    every third user in no group."""
    world, b = env
    groups = [b.add_group(f"Группа {g}") for g in range(GROUPS)]
    users = {}
    for i in reversed(range(USERS)):
        name = f"u{i:03d}"
        group = None if i % 3 == 0 else groups[i % GROUPS]
        users[name] = b.add_user(name, f"Ник {i}", "pw" if i % 2 else None, group)
    b.call(users["u001"], USER, "SetLocked", "b", True)
    return world, b, users, groups


def test_get_users_fields_and_order(filled):
    _, b, users, _ = filled
    page, total = get_users(b, 0, 0)
    assert total == USERS
    assert [row[1] for row in page] == sorted(users)
    for path, name, jid, nickname, locked, has_password, has_photo, group in page:
        assert path == users[name]
        props = b.user_props(path)
        assert (name, jid, nickname, locked, has_password, has_photo, group) == (
            props["Name"], props["Jid"], props["Nickname"], props["Locked"],
            props["HasPassword"], props["HasPhoto"], props["Group"])
    assert any(row[7] == NO_OBJECT for row in page)
    assert any(row[4] for row in page)


@pytest.mark.parametrize("limit", [1, 2, 7, USERS - 1, USERS, USERS + 1, 0])
def test_get_users_pages_add_up(filled, limit):
    _, b, _, _ = filled
    whole, _ = get_users(b, 0, 0)
    paged, total = all_pages(lambda o, n: get_users(b, o, n), limit)
    assert total == USERS
    assert paged == whole
    if limit:
        assert len(get_users(b, 0, limit)[0]) == min(limit, USERS)


def test_get_users_past_the_end(filled):
    _, b, _, _ = filled
    whole, _ = get_users(b, 0, 0)
    assert get_users(b, USERS - 1, 5) == ([whole[-1]], USERS)
    assert get_users(b, USERS, 5) == ([], USERS)
    assert get_users(b, 2 ** 32 - 1, 2 ** 32 - 1) == ([], USERS)


def get_user_table(b, offset, limit):
    """GetUserTable's page, loaded the way a GLib client would (cj-user-table.h)."""
    from gi.repository import GLib
    data, total = b.call(MANAGER_PATH, MANAGER, "GetUserTable", "uu", offset, limit)
    rows = GLib.Variant.new_from_bytes(GLib.VariantType.new("a(osssbbbos)"),
                                       GLib.Bytes.new(bytes(data)), False)
    assert rows.is_normal_form()
    return rows.unpack(), total


def test_get_user_table_is_get_users_with_group_names(filled):
    _, b, _, _ = filled
    whole, total = get_users(b, 0, 0)
    names = {row[0]: row[1] for row in get_groups(b, 0, 0)[0]}
    table, table_total = get_user_table(b, 0, 0)
    assert table_total == total == USERS
    assert [tuple(row[:8]) for row in table] == [tuple(row) for row in whole]
    assert [row[8] for row in table] == [names.get(row[7], "") for row in whole]
    assert any(row[8] == "" for row in table) and any(row[8] for row in table)
    for limit in (1, 7, USERS, USERS + 1):
        paged, total = all_pages(lambda o, n: get_user_table(b, o, n), limit)
        assert (paged, total) == (table, USERS)
    assert get_user_table(b, USERS - 1, 5) == ([table[-1]], USERS)
    assert get_user_table(b, USERS, 5) == ([], USERS)
    assert get_user_table(b, 2 ** 32 - 1, 2 ** 32 - 1) == ([], USERS)
    # Reading needs no rights.
    r = client.call(MANAGER_PATH, MANAGER, "GetUserTable", "uu", "(0, 1)", user="nobody")
    assert r.ok, r


def test_get_groups(filled):
    _, b, _, groups = filled
    page, total = get_groups(b, 0, 0)
    assert total == GROUPS
    assert [row[1] for row in page] == sorted(row[1] for row in page)
    assert sorted(row[0] for row in page) == sorted(groups)
    for path, name, members in page:
        assert b.group_props(path) == {"Name": name, "Members": members}
    assert sum(len(row[2]) for row in page) == USERS - (USERS + 2) // 3
    for limit in (1, 3, GROUPS):
        assert all_pages(lambda o, n: get_groups(b, o, n), limit) == (page, GROUPS)
    assert get_groups(b, GROUPS, 1) == ([], GROUPS)


def introspect(b, path):
    return b.call(path, "org.freedesktop.DBus.Introspectable", "Introspect")


def test_introspect_names_children_only_up_to_the_cap(filled):
    """Past the cap a subtree's Introspect names no children (GDBus builds that XML on the
    main loop for any caller); every object is still reachable and introspectable by path."""
    _, b, users, groups = filled
    users_xml = introspect(b, MANAGER_PATH + "/Users")
    groups_xml = introspect(b, MANAGER_PATH + "/Groups")
    assert "<node name=" not in users_xml
    for path in groups:
        assert f'<node name="{path.rsplit("/", 1)[1]}"/>' in groups_xml
    assert USER in introspect(b, users["u002"])


def test_get_managed_objects_over_the_cap_is_refused_and_the_daemon_stays(filled):
    world, b, users, _ = filled
    with pytest.raises(DBusError) as e:
        b.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")
    assert e.value.name == LIMITS
    assert "GetUsers" in e.value.message
    # Still on the bus, same process, still answering.
    assert harness_bus.has_owner(client.SERVICE)
    assert world.daemon.proc.alive()
    assert sorted(b.list_users()) == sorted(users.values())
    # A caller without any rights gets the same answer (no polkit involved).
    r = client.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects", user="nobody")
    assert r.error == LIMITS, r
    assert harness_bus.has_owner(client.SERVICE)


@pytest.mark.parametrize("page_size", [None, 1, 4])
def test_cli_user_list_pages(filled, page_size):
    world, b, users, _ = filled
    r = cli(world, "user", "list", "--no-legend", page_size=page_size)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == sorted(users)
    page, _ = get_users(b, 0, 0)
    names = {row[0]: row[1] for row in get_groups(b, 0, 0)[0]}
    for line, row in zip(lines, page):
        name, jid, nickname, group, locked, password, photo = line.split("\t")
        assert (name, jid, nickname) == row[1:4]
        assert (locked == "yes") == row[4]
        assert (password == "set") == row[5]
        assert (photo == "yes") == row[6]
        assert group == names.get(row[7], "-")
    # For people: a header, and the same rows.
    r = cli(world, "user", "list", page_size=page_size)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["NAME", "JID", "NICKNAME", "GROUP", "LOCKED",
                                               "PASSWORD", "PHOTO"]
    assert len(r.stdout.splitlines()) == len(lines) + 1


@pytest.mark.parametrize("page_size", [None, 3])
def test_cli_group_list_pages(filled, page_size):
    world, b, users, _ = filled
    r = cli(world, "group", "list", "--no-legend", page_size=page_size)
    assert r.returncode == 0, r.stderr
    by_path = {path: name for name, path in users.items()}
    expected = [f"{name}\t{len(members)}\t" + ",".join(by_path[m] for m in members)
                for _, name, members in get_groups(b, 0, 0)[0]]
    assert r.stdout.splitlines() == expected
