# Install headers and the exported continua::continua target with a package config and version file.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS continua EXPORT continua-targets)
install(EXPORT continua-targets NAMESPACE continua::
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/continua)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/continua-config.cmake.in
                              ${PROJECT_BINARY_DIR}/continua-config.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/continua)
# Header-only: any architecture may use the same package.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/continua-config-version.cmake
                                 COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/continua-config.cmake
              ${PROJECT_BINARY_DIR}/continua-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/continua)
