/* Messages for people: ejabberd's failures in one line (cj-ejabberd-summary.c), and the
 * machine's addresses checked before a listen address is used (cj-interfaces.c). */
#include "config.h"

#include <string.h>

#include "cj-ejabberd.h"
#include "cj-error.h"
#include "cj-interfaces.h"

static void
test_summary (void)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autofree char *cause = NULL, *first = NULL, *empty = NULL, *one = NULL;

  /* An Erlang supervisor report, twice, as ejabberdctl prints it. */
  for (int i = 0; i < 2; i++)
    g_string_append (report,
                     "=SUPERVISOR REPORT==== 2-Dec-2026::03:30:00.000000 ===\n"
                     "    supervisor: {local,ejabberd_listener}\n"
                     "    errorContext: start_error\n"
                     "    reason: {{listen,eaddrnotavail},{ejabberd_c2s,{{1,2,3,4},5222}}}\n");
  cause = cj_ejabberd_summarize (report->str);
  g_assert_null (strchr (cause, '\n'));
  g_assert_nonnull (strstr (cause, "does not have it"));

  first = cj_ejabberd_summarize ("{error, whatever}\n\nFailed RPC connection to the node x: timeout\nmore\n");
  g_assert_cmpstr (first, ==, "Failed RPC connection to the node x: timeout");
  empty = cj_ejabberd_summarize ("");
  g_assert_cmpstr (empty, ==, "no message");
  one = cj_ejabberd_summarize ("short and plain");
  g_assert_cmpstr (one, ==, "short and plain");
}

static void
test_addresses (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (cj_interfaces_have_address ("127.0.0.1", NULL));
  g_assert_true (cj_interfaces_have_address ("0.0.0.0", NULL));
  g_assert_true (cj_interfaces_have_address ("::", NULL));
  /* Local without being an interface's address (127.0.0.0/8 on Linux). */
  g_assert_true (cj_interfaces_have_address ("127.0.0.2", NULL));
  /* TEST-NET-3 (RFC 5737): never a machine's own. */
  g_assert_false (cj_interfaces_have_address ("203.0.113.77", &error));
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "203.0.113.77"));
  g_assert_nonnull (strstr (error->message, "127.0.0.1"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/messages/ejabberd-summary", test_summary);
  g_test_add_func ("/messages/listen-addresses", test_addresses);
  return g_test_run ();
}
