"""End to end, groups (issue 6): groups made with cl-groupadd/cl-useradd -g show in every
user's roster under their exact (Cyrillic) names with their members (ejabberd's
mod_shared_roster_ldap, configured by `cl-setup jabber`); a moved user and a renamed group
show after reconnecting (the daemon clears ejabberd's shared-roster cache: without that
they would take cache_life_time).

What a user sees: every group with its members, except the user itself
(e2e.expected_roster). One world for the file; the tests build on each other in order."""

import pytest

from harness import e2e

PASSWORDS = {"anna": "Anna-pw-1", "boris": "Boris-pw-1", "vera": "Vera-pw-1",
             "gleb": "Gleb-pw-1"}
SALES = "Отдел продаж"
BOOKS = "Бухгалтерия «Север»"
PURCHASES = "Отдел закупок"


@pytest.fixture(scope="module")
def world(make_world):
    w = e2e.cli_world(make_world)
    cli = w.cli
    cli.groupadd(SALES)
    cli.groupadd(BOOKS)
    cli.useradd("anna", PASSWORDS["anna"], "-g", SALES, "-c", "Анна")
    cli.useradd("boris", PASSWORDS["boris"], "-g", SALES, "-c", "Борис")
    cli.useradd("vera", PASSWORDS["vera"], "-g", BOOKS, "-c", "Вера")
    cli.useradd("gleb", PASSWORDS["gleb"], "-c", "Глеб")           # in no group
    return w


def check(world, groups, what):
    for viewer in PASSWORDS:
        e2e.roster_after_reconnect(world, viewer, PASSWORDS[viewer],
                                   e2e.expected_roster(groups, viewer),
                                   f"{what}: {viewer}'s roster")


def test_roster_shows_groups_with_exact_names_and_members(world):
    check(world, {SALES: ["anna", "boris"], BOOKS: ["vera"]}, "the first rosters")


def test_roster_names_are_nicknames(world):
    with e2e.login(world, "vera", PASSWORDS["vera"]) as s:
        names = s.roster_names()
    assert names == {e2e.jid("anna"): "Анна", e2e.jid("boris"): "Борис"}, names


def test_moved_user_shows_after_reconnect(world):
    # Warm ejabberd's shared-roster cache with the old state first.
    with e2e.login(world, "anna", PASSWORDS["anna"]) as s:
        assert s.roster() == e2e.expected_roster({SALES: ["anna", "boris"], BOOKS: ["vera"]},
                                                 "anna")
    world.cli.usermod("boris", "-g", BOOKS)
    check(world, {SALES: ["anna"], BOOKS: ["vera", "boris"]}, "after moving boris")


def test_user_added_to_a_group_shows(world):
    world.cli.groupmod(SALES, "-a", "gleb")
    check(world, {SALES: ["anna", "gleb"], BOOKS: ["vera", "boris"]}, "after adding gleb")


def test_renamed_group_shows_after_reconnect(world):
    world.cli.groupmod(SALES, "-n", PURCHASES)
    check(world, {PURCHASES: ["anna", "gleb"], BOOKS: ["vera", "boris"]},
          "after renaming the group")


def test_locked_user_vanishes_from_rosters(world):
    # docs/ldap-layout.md: a locked user vanishes from other users' shared rosters.
    world.cli.usermod("gleb", "-L")
    e2e.roster_after_reconnect(world, "anna", PASSWORDS["anna"], e2e.expected_roster(
        {BOOKS: ["vera", "boris"]}, "anna"), "gleb locked: anna's roster")
    world.cli.usermod("gleb", "-U")
    e2e.roster_after_reconnect(world, "anna", PASSWORDS["anna"], e2e.expected_roster(
        {PURCHASES: ["anna", "gleb"], BOOKS: ["vera", "boris"]}, "anna"),
        "gleb unlocked: anna's roster")
