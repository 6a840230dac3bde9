/* Names shared by calculate-jabberd and its clients: one place, so a path or an option key
 * can never differ between the two sides. */
#pragma once

#define CJ_BUS_NAME            "org.calculate.Jabber"
#define CJ_MANAGER_PATH        "/org/calculate/Jabber"
#define CJ_SERVER_PATH         "/org/calculate/Jabber/Server"
#define CJ_USERS_PATH          "/org/calculate/Jabber/Users"
#define CJ_GROUPS_PATH         "/org/calculate/Jabber/Groups"
#define CJ_JOBS_PATH           "/org/calculate/Jabber/Jobs"
#define CJ_NO_OBJECT           "/"

#define CJ_IFACE_MANAGER       "org.calculate.Jabber.Manager"
#define CJ_IFACE_SERVER        "org.calculate.Jabber.Server"
#define CJ_IFACE_USER          "org.calculate.Jabber.User"
#define CJ_IFACE_GROUP         "org.calculate.Jabber.Group"
#define CJ_IFACE_JOB           "org.calculate.Jabber.Job"

/* Keys of the a{sv} option dictionaries (see dbus-interfaces/ XML files). */
#define CJ_OPT_PASSWORD        "password"
#define CJ_OPT_GROUP           "group"
#define CJ_OPT_PHOTO           "photo"
#define CJ_OPT_MEMBERS         "members"
#define CJ_OPT_ADMIN_PASSWORD  "admin-password"
#define CJ_OPT_PRIMARY_HOST    "primary-host"
#define CJ_OPT_HOSTS           "hosts"
#define CJ_OPT_HISTORY         "history"
#define CJ_OPT_LISTEN          "listen"
#define CJ_OPT_CERTIFICATE     "certificate"
/* User.Modify's keys beside password, group and photo. */
#define CJ_OPT_NICKNAME        "nickname"
#define CJ_OPT_LOCKED          "locked"
#define CJ_OPT_CLEAR_PHOTO     "clear-photo"
/* Group.Modify's keys. */
#define CJ_OPT_NAME            "name"
#define CJ_OPT_ADD_MEMBERS     "add-members"
#define CJ_OPT_REMOVE_MEMBERS  "remove-members"
#define CJ_OPT_FORMAT          "format"
#define CJ_OPT_CREATE_GROUPS   "create-groups"
#define CJ_OPT_UPDATE_PASSWORDS "update-passwords"

/* polkit actions (polkit/org.calculate.jabber.policy.in). */
#define CJ_ACTION_SETUP        "org.calculate.jabber.setup"
#define CJ_ACTION_USERS        "org.calculate.jabber.manage-users"
#define CJ_ACTION_GROUPS       "org.calculate.jabber.manage-groups"

/* Input limits, checked by the daemon (and early by the CLI for friendlier messages). */
#define CJ_MAX_NAME_BYTES      64
#define CJ_MAX_NICKNAME_CHARS  128
#define CJ_MAX_GROUP_CHARS     64
/* The name is the RDN: slapd's mdb keys cap a DN at about 250 bytes. */
#define CJ_MAX_GROUP_BYTES     160
#define CJ_MAX_PASSWORD_BYTES  256
