# treesync-relay for arm64 nodes: the same sources built again by this same
# CMakeLists.txt with TREESYNC_RELAY_ONLY and the cross toolchain
# (cmake/aarch64.cmake), in BUILD/arm64, and copied beside treesync as
# treesync-relay-arm64, where treesync looks for it (src/ssh/relay_path.h).
# scripts/setup installs the cross compiler and the arm64 libraries.
option(TREESYNC_ARM64_RELAY "also build treesync-relay-arm64 for arm64 nodes (needs scripts/setup's cross compiler)" ON)
if(NOT TREESYNC_ARM64_RELAY)
  return()
endif()
find_program(AARCH64_CXX aarch64-linux-gnu-g++)
if(NOT AARCH64_CXX)
  message(FATAL_ERROR "no aarch64-linux-gnu-g++ for the arm64 relay: run scripts/setup, "
                      "or configure with -DTREESYNC_ARM64_RELAY=OFF (no arm64 nodes then)")
endif()
include(ExternalProject)
set(ARM64_RELAY ${CMAKE_BINARY_DIR}/treesync-relay-arm64)
ExternalProject_Add(relay_arm64
  SOURCE_DIR ${CMAKE_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/arm64
  CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/aarch64.cmake -DTREESYNC_RELAY_ONLY=ON
             -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
  INSTALL_COMMAND ${CMAKE_COMMAND} -E copy_if_different <BINARY_DIR>/treesync-relay ${ARM64_RELAY}
  BUILD_BYPRODUCTS ${ARM64_RELAY}
  # Its make decides what changed in the sources; ExternalProject alone would not look.
  BUILD_ALWAYS ON)
