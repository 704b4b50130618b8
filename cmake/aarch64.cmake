# Cross-compiling for arm64 (aarch64) with Debian's gcc-aarch64-linux-gnu;
# the libraries are Debian's multiarch arm64 packages in
# /usr/lib/aarch64-linux-gnu (libzstd-dev:arm64, libssl-dev:arm64), which
# CMake searches by the compiler's library architecture. Headers shared by
# every architecture (nlohmann-json, header-only xxHash, which pkg-config
# finds as installed) come from /usr/include.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
