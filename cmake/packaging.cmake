# Debian packages: `cpack -G DEB` in the build folder writes two.
#   engram          the programs (engram, engram-lm, engram-spm-train), libengram.so.0 and the
#                   SentencePiece module: what running Engram needs
#   libengram-dev   the headers, libengram.so and the CMake package (find_package(Engram))
# Every install() belongs to the component "runtime" unless it says "dev" (CMakeLists.txt sets
# the default before adding the folders). Dependencies on Debian's libraries (FAISS, RocksDB,
# LibTorch, ...) are computed from the binaries by dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME engram)
set(CPACK_PACKAGE_VENDOR "Engram")
set(CPACK_PACKAGE_CONTACT "Engram developers <engram@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Embeddable vector-memory database (FAISS + RocksDB)")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # engram_0.1.0_amd64.deb, libengram-dev_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME engram)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "Engram: named memories of (key, value, payload) slots with attention reads, gated writes and\n"
    "nearest-neighbour search; the engram command (embedded use, HTTP server) and its library.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# libengram.so.0 is in the same package: dpkg-shlibdeps finds it here instead of in a package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/api)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libengram-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "Engram: headers and CMake package (find_package(Engram), target Engram::engram) for programs\n"
    "that embed it.")
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)  # libengram-dev Depends: engram (= version)

include(CPack)
