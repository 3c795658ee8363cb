/* plugin_define.c - the header twice (include guard), and a definition, as strict C11. */
#include <walletpass/plugin.h>
#include <walletpass/plugin.h>

static wp_status init(const wp_host *host, wp_plugin *self, const json_object *config)
{
    (void)config;
    return WP_HOST_HAS(host, url_check) ? WP_OK : host->route_add(self, "GET", "/x", WP_AUTH_PUBLIC, NULL, NULL);
}
static void fini(wp_plugin *self) { (void)self; }

WP_PLUGIN_DEFINE("c", "1.0", "C check", init, fini)
