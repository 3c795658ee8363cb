# find_package(WalletPass) for plugin authors: the same package as
# find_package(WalletpassPlugin) (the plugin SDK: Walletpass::plugin and
# walletpass_add_plugin()), under the project's name.  The version asked for is
# the plugin ABI (find_package(WalletPass 1.10)).
include(CMakeFindDependencyMacro)
find_dependency(WalletpassPlugin ${WalletPass_FIND_VERSION} PATHS "${CMAKE_CURRENT_LIST_DIR}/../WalletpassPlugin" NO_DEFAULT_PATH)
set(WalletPass_ABI_MAJOR ${WalletpassPlugin_ABI_MAJOR})
set(WalletPass_ABI_MINOR ${WalletpassPlugin_ABI_MINOR})
