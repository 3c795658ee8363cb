# walletpass_add_plugin(<name> SOURCES <file>... [MIGRATIONS <dir>] [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds <name>.so (no "lib" prefix) as a MODULE against the plugin SDK
# (target Walletpass::plugin: walletpass/plugin.h and json-c, linked
# dynamically), with hidden visibility so that only the definition made by
# WP_PLUGIN_DEFINE is exported.  MIGRATIONS copies <dir>/*.sql to
# <output dir>/<name>/migrations/, where the gateway looks for them (next to
# the .so).  Installs the plugin and its migrations to
# ${CMAKE_INSTALL_LIBDIR}/walletpass/plugins unless NO_INSTALL.
include_guard(GLOBAL)
include(GNUInstallDirs)

function(walletpass_add_plugin name)
  cmake_parse_arguments(WPA "NO_INSTALL" "MIGRATIONS;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT WPA_SOURCES)
    message(FATAL_ERROR "walletpass_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT WPA_OUTPUT_DIRECTORY)
    set(WPA_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  add_library(${name} MODULE ${WPA_SOURCES})
  target_link_libraries(${name} PRIVATE Walletpass::plugin)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${WPA_OUTPUT_DIRECTORY})
  if(WPA_MIGRATIONS)
    get_filename_component(mdir ${WPA_MIGRATIONS} ABSOLUTE)
    file(GLOB sqls CONFIGURE_DEPENDS ${mdir}/*.sql)
    set(outs)
    foreach(sql ${sqls})
      get_filename_component(f ${sql} NAME)
      set(out ${WPA_OUTPUT_DIRECTORY}/${name}/migrations/${f})
      add_custom_command(OUTPUT ${out} COMMAND ${CMAKE_COMMAND} -E copy ${sql} ${out} DEPENDS ${sql} VERBATIM)
      list(APPEND outs ${out})
    endforeach()
    add_custom_target(${name}_migrations ALL DEPENDS ${outs})
    add_dependencies(${name} ${name}_migrations)
    if(NOT WPA_NO_INSTALL)
      install(FILES ${sqls} DESTINATION ${CMAKE_INSTALL_LIBDIR}/walletpass/plugins/${name}/migrations)
    endif()
  endif()
  if(NOT WPA_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/walletpass/plugins)
  endif()
endfunction()
