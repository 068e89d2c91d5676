# `cmake --install <build>`: the drove program, and the public library for C++ programs
# (docs/library.md): headers in include/drove/, libdrove.a with the engine layers it stands on,
# a CMake package (find_package(drove) -> target drove::drove) and a pkg-config file (drove.pc).
# The library is static: the engine is small and an embedding program then carries no runtime
# dependency on drove but libuv.
include(CMakePackageConfigHelpers)

set(DROVE_LIBRARY_LAYERS drove_api drove_cluster drove_ipc drove_process drove_base)

install(TARGETS drove RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/share/drove/node-metrics.js DESTINATION ${CMAKE_INSTALL_DATADIR}/drove)
if(TARGET drove-web)
  install(TARGETS drove-web RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
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

# What a system install adds around the program, each written from the built binary at build
# time (nothing downloaded, nothing to drift from the CLI): the bash and zsh completions
# (`drove completion`), the manual drove.1 (cmake/drove-man.sh, from the help text).
set(DROVE_SHELL_FILES ${CMAKE_BINARY_DIR}/completions/drove ${CMAKE_BINARY_DIR}/completions/_drove
                      ${CMAKE_BINARY_DIR}/man/drove.1)
add_custom_command(
  OUTPUT ${DROVE_SHELL_FILES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/completions ${CMAKE_BINARY_DIR}/man
  # A sanitizer build's binary runs here too; a leak report at its exit must not fail the build.
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
          sh -c "\"$1\" completion bash >\"$2\" && \"$1\" completion zsh >\"$3\"" sh $<TARGET_FILE:drove>
          ${CMAKE_BINARY_DIR}/completions/drove ${CMAKE_BINARY_DIR}/completions/_drove
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
          ${CMAKE_SOURCE_DIR}/cmake/drove-man.sh $<TARGET_FILE:drove> ${PROJECT_VERSION}
          ${CMAKE_BINARY_DIR}/man/drove.1
  DEPENDS drove ${CMAKE_SOURCE_DIR}/cmake/drove-man.sh
  COMMENT "Writing the completions and drove.1 from drove's help"
  VERBATIM)
add_custom_target(drove_shell_files ALL DEPENDS ${DROVE_SHELL_FILES})
install(FILES ${CMAKE_BINARY_DIR}/completions/drove DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CMAKE_BINARY_DIR}/completions/_drove DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${CMAKE_BINARY_DIR}/man/drove.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The systemd unit template drove@<user>.service. Its ExecStart= must name the installed binary,
# and the prefix is known only at install time (`cmake --install --prefix`, CPack's /usr), so
# the template is configured then (absolute: `--prefix` may be relative to where one stands).
install(CODE "
  get_filename_component(DROVE_UNIT_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\" ABSOLUTE)
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/drove@.service.in\" \"${CMAKE_BINARY_DIR}/systemd/drove@.service\" @ONLY)
")
install(FILES ${CMAKE_BINARY_DIR}/systemd/drove@.service DESTINATION lib/systemd/system)
