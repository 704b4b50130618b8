# What `cmake --install` lays out and what `cmake --build build --target
# package` packs into treesync_<version>_amd64.deb (CPack), for /usr.

install(TARGETS treesync RUNTIME DESTINATION bin)
# Both relays, private to treesync: an installed treesync looks there
# (src/ssh/relay_path.h) and ships each node the one of its architecture.
install(TARGETS treesync-relay RUNTIME DESTINATION ${TREESYNC_RELAY_DIR})
if(TREESYNC_ARM64_RELAY)
  install(PROGRAMS ${ARM64_RELAY} DESTINATION ${TREESYNC_RELAY_DIR})
endif()

# The man page and both completions, from the built treesync's own --help
# (scripts/help-docs), so they list exactly the flags it takes.
set(HELP_DOCS ${CMAKE_BINARY_DIR}/help-docs)
add_custom_command(
  OUTPUT ${HELP_DOCS}/treesync.1.gz ${HELP_DOCS}/treesync ${HELP_DOCS}/_treesync
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/help-docs $<TARGET_FILE:treesync> ${HELP_DOCS}
  DEPENDS treesync ${CMAKE_SOURCE_DIR}/scripts/help-docs
  COMMENT "Man page and completions from treesync --help")
add_custom_target(help_docs ALL DEPENDS ${HELP_DOCS}/treesync.1.gz ${HELP_DOCS}/treesync ${HELP_DOCS}/_treesync)
install(FILES ${HELP_DOCS}/treesync.1.gz DESTINATION share/man/man1)
install(FILES ${HELP_DOCS}/treesync DESTINATION share/bash-completion/completions)
install(FILES ${HELP_DOCS}/_treesync DESTINATION share/zsh/vendor-completions)

install(FILES README.md DESTINATION share/doc/treesync)
install(DIRECTORY docs/ DESTINATION share/doc/treesync)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME treesync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "put container images on many cluster nodes over SSH, with no registry")
set(CPACK_PACKAGE_DESCRIPTION "treesync reaches every node over SSH, ships a small static relay there and \
streams the images through a fan-out tree; each node loads them into its own runtime (Docker, containerd or \
podman) as the stream passes.")
set(CPACK_PACKAGE_CONTACT "treesync maintainers <treesync@localhost>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Without the debug info of a RelWithDebInfo build: 70 MiB less.
set(CPACK_STRIP_FILES ON)
# The runtime libraries come from dpkg-shlibdeps. treesync speaks SSH with
# libssh2 and never runs ssh, so openssh-client is no dependency; a runtime
# holds the images it sends, whichever one the operator has.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io | podman | containerd")
include(CPack)
