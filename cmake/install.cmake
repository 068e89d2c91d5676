# `cmake --install <build>`: the drove program, and the public library for C++ programs
# (docs/library.md): headers in include/drove/, libdrove.a with the engine layers it stands on,
# a CMake package (find_package(drove) -> target drove::drove) and a pkg-config file (drove.pc).
# The library is static: the engine is small and an embedding program then carries no runtime
# dependency on drove but libuv.
include(CMakePackageConfigHelpers)

set(DROVE_LIBRARY_LAYERS drove_api drove_cluster drove_ipc drove_process drove_base)

install(TARGETS drove RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# drove-runtime -> drove, relative, so the installed tree (and the .deb) can move.
install(CODE "file(CREATE_LINK drove \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/drove-runtime\" SYMBOLIC)")
install(TARGETS ${DROVE_LIBRARY_LAYERS} EXPORT droveTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/drove DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")

set(DROVE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/drove)
install(EXPORT droveTargets NAMESPACE drove:: DESTINATION ${DROVE_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/droveConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/droveConfig.cmake INSTALL_DESTINATION ${DROVE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/droveConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/droveConfig.cmake ${CMAKE_BINARY_DIR}/droveConfigVersion.cmake
        DESTINATION ${DROVE_CMAKE_DIR})

# pkg-config: the archives in link order, libuv through its own .pc file.
# fmt is header-only in the static build; otherwise libdrove_base.a needs libfmt.
set(DROVE_PC_FMT "")
if(NOT DROVE_STATIC_DEPS)
  set(DROVE_PC_FMT " fmt")
endif()
set(DROVE_PC_LIBS "-ldrove -ldrove_cluster -ldrove_ipc -ldrove_process -ldrove_base")
if(DROVE_SANITIZE)
  string(APPEND DROVE_PC_LIBS " -fsanitize=address,undefined")
endif()
# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix).
file(RELATIVE_PATH DROVE_PC_UP /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
set(DROVE_PC_PREFIX "\${pcfiledir}/${DROVE_PC_UP}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/drove.pc.in ${CMAKE_BINARY_DIR}/drove.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/drove.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
