// plugin_define.cpp - a plugin definition compiled as C++ (checks the macros, not just the declarations).
#include <walletpass/plugin.h>

static wp_status init(const wp_host *host, wp_plugin *self, const json_object *config)
{
    (void)config;
    return WP_HOST_HAS(host, url_check) ? WP_OK : host->route_add(self, "GET", "/x", WP_AUTH_PUBLIC, nullptr, nullptr);
}
static void fini(wp_plugin *) {}

WP_PLUGIN_DEFINE("cxx", "1.0", "C++ check", init, fini)
