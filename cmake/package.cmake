# `cpack -G DEB` in a build directory: a Debian package of what `cmake --install` puts in /usr
# (cmake/install.cmake): the program, its completions, manual and systemd unit template, and the
# library for C++ programs (headers, libdrove.a, the CMake package, drove.pc).
set(CPACK_PACKAGE_NAME drove)
set(CPACK_PACKAGE_VENDOR "drove")
set(CPACK_PACKAGE_CONTACT "drove maintainers <maintainers@users.noreply.h-seed-2169ce20.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "process manager for production apps, PM2-compatible")
set(CPACK_PACKAGE_DESCRIPTION
    "drove starts, watches and restarts apps (Node.js, Python, any program) with PM2's commands,
ecosystem files and outputs, from one native binary: a CLI and its per-user daemon.
Zero-downtime reloads of Node cluster apps, logs with rotation, a systemd unit for boot
(drove@<user>.service), bash and zsh completions, and a C++ library (libdrove).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The binary is built with debug info (RelWithDebInfo); the package ships it stripped.
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries the program links (only libc when DROVE_STATIC_DEPS links the rest in).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# To link a program with libdrove.a (drove.pc: Requires: libuv nlohmann_json).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libuv1-dev, nlohmann-json3-dev, pkg-config")
include(CPack)
