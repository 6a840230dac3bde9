"""Several administrators at once (issue 9): clients making mixed changes in parallel for a
bounded number of steps (add with a group, move between groups, add and remove members,
delete). Whatever the interleaving, afterwards every user is in at most one group, no group
lists a user that does not exist, and the daemon's D-Bus view equals the directory.

Each client has a connection of its own (root, authorized by polkitd). Errors a race
explains (the user or group was just deleted by another client: NotFound) are allowed, and
so is RemoveMembers of a user who is not a member; any other error fails the test."""

import random
import threading

from helpers_directory import (DBusError, ERROR, GROUP, MANAGER, MANAGER_PATH, NO_OBJECT,
                               USER, Bus, poll)

CLIENTS = 4
STEPS = 30
GROUPS = ["Load A", "Load B", "Load C", "Отдел (Москва)"]
RACE_ERRORS = {ERROR + "NotFound"}


def client_run(index, groups, seed, errors):
    rnd = random.Random(seed)
    bus = Bus()
    mine = []          # [(name, path)] of users this client added and has not deleted
    try:
        for step in range(STEPS):
            op = rnd.choice(["add", "add", "move", "members", "remove", "delete"])
            try:
                if op == "add" or not mine:
                    name = f"load{index}x{step}"
                    group = rnd.choice(groups + [None])
                    mine.append((name, bus.add_user(name, "", "pw", group)))
                elif op == "move":
                    _, path = rnd.choice(mine)
                    bus.call(path, USER, "SetGroup", "o", rnd.choice(groups + [NO_OBJECT]))
                elif op == "members":
                    paths = [p for _, p in rnd.sample(mine, min(2, len(mine)))]
                    bus.call(rnd.choice(groups), GROUP, "AddMembers", "ao", paths)
                elif op == "remove":
                    _, path = rnd.choice(mine)
                    bus.call(rnd.choice(groups), GROUP, "RemoveMembers", "ao", [path])
                else:
                    name, path = mine.pop(rnd.randrange(len(mine)))
                    bus.call(path, USER, "Delete")
            except DBusError as e:
                # Removing a user from a group it is not in (any more) is refused by design.
                expected = RACE_ERRORS | ({ERROR + "InvalidArgument"} if op == "remove" else set())
                if e.name not in expected:
                    errors.append(f"client {index} step {step} {op}: {e.name}: {e.message}")
    finally:
        bus.close()


def view(bus):
    """{user name: group name or None} as the daemon shows it."""
    users, _ = bus.send(MANAGER_PATH, MANAGER, "GetUsers", "uu", (0, 0))
    groups, _ = bus.send(MANAGER_PATH, MANAGER, "GetGroups", "uu", (0, 0))
    group_names = {path: name for path, name, _members in groups[0]}
    return {name: group_names.get(group) for _p, name, _j, _n, _l, _h, _ph, group in users[0]}


def directory_view(ldap):
    """The same from LDAP, and the invariants' breaches."""
    users = set(ldap.users())
    memberships = ldap.memberships()
    breaches = [f"{u} is in {g}" for u, g in memberships.items() if len(g) > 1]
    breaches += [f"{g} lists {u}, who does not exist" for u, gs in memberships.items()
                 if u not in users for g in gs]
    return {u: (memberships.get(u) or [None])[0] for u in users}, breaches


def test_parallel_mixed_changes_keep_the_invariants(env):
    groups = [env.bus.add_group(name) for name in GROUPS]
    errors = []
    threads = [threading.Thread(target=client_run, args=(i, groups, 1000 + i, errors))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive(), "a client did not finish within 5 minutes"
    assert not errors, errors

    expected, breaches = directory_view(env.ldap)
    assert not breaches, breaches
    # The daemon follows the directory; its view settles on the same state.
    poll(lambda: view(env.bus) == directory_view(env.ldap)[0],
         "the D-Bus view equals the directory")
