"""The D-Bus API as the project's introspection XML describes it (dbus-interfaces/*.xml),
so that tests cover every method without a list to keep in step by hand."""

import glob
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Reading needs no authorization; everything else is a change and passes the gate.
READ_ONLY_PREFIXES = ("Find", "List")
READ_ONLY_NAMES = ("GetPhoto", "GetUsers", "GetUserTable", "GetGroups", "Check", "GetErrors", "Verify")


@dataclass(frozen=True)
class Method:
    interface: str
    name: str
    in_signature: str

    @property
    def mutating(self):
        return not (self.name.startswith(READ_ONLY_PREFIXES) or self.name in READ_ONLY_NAMES)

    def __str__(self):
        return f"{self.interface}.{self.name}({self.in_signature})"


def methods(sourcedir):
    out = []
    for path in sorted(glob.glob(os.path.join(sourcedir, "dbus-interfaces", "*.xml"))):
        for iface in ET.parse(path).getroot().iter("interface"):
            for m in iface.iter("method"):
                sig = "".join(a.get("type") for a in m.iter("arg")
                              if a.get("direction", "in") == "in")
                out.append(Method(iface.get("name"), m.get("name"), sig))
    return out
