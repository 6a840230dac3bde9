"""calculate-jabber's test harness: the real daemon on a private system bus with the real
polkitd (or python-dbusmock's), a private slapd, all in private mount/network/PID
namespaces so that nothing on the host changes. See world.py for the entry point and
the shared notes testing-dbus-polkit.md for why it looks like this.
Debian's /usr/bin/python3 with only the stdlib, python3-gi and python3-dbus(mock).
"""
