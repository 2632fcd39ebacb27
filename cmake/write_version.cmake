# Writes OUT (a C++ source) with Engram's version and the git commit it was built from. Runs at
# every build (api/CMakeLists.txt), so the commit never goes stale; configure_file leaves OUT
# untouched when nothing changed, so an unchanged tree rebuilds nothing.
#   cmake -DSRC=... -DOUT=... -DVERSION=... -DSOURCE_DIR=... -P write_version.cmake
set(ENGRAM_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND commit)
    set(ENGRAM_GIT_COMMIT "${commit}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" diff --quiet HEAD
                    RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      set(ENGRAM_GIT_COMMIT "${commit}-dirty")
    endif()
  endif()
endif()
set(ENGRAM_VERSION "${VERSION}")
configure_file("${SRC}" "${OUT}" @ONLY)
