/* XEP-0084 avatars from the directory: modern clients (Conversations, Dino, Monal) show the
 * PEP avatar, not the vCard photo that mod_vcard reads from LDAP, and ejabberd never converts
 * one into the other from LDAP (#3673). So the daemon follows the directory: when a user's
 * jpegPhoto appears or changes (whoever wrote it) it publishes it as that user (send_stanza
 * from and to the bare JID) to urn:xmpp:avatar:data, then :metadata; when it goes, it
 * publishes an empty metadata (XEP-0084 §4.5) and retracts the data. ejabberd's caches are
 * cleared too, so that the XEP-0153 hash in presence follows.
 *
 * What was published is kept in StateDirectory/avatars (one "uid sha1" a line), so that a
 * restart publishes only what changed meanwhile. */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

void cj_avatars_init    (CjDaemon *daemon);
/* The registry changed: users whose entry changed are looked at, coalesced. */
void cj_avatars_changed (CjDaemon *daemon);
/* ejabberd answers (again): what failed to publish is tried again. */
void cj_avatars_retry   (CjDaemon *daemon);

G_END_DECLS
