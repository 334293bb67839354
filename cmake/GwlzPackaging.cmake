# Packaging of gwlz: the shared library, the HDF5 filter plugin, the Python
# package, the install rules, gwlz.pc and the CMake package gwlz::gwlz.
# Included at the end of the top-level CMakeLists.txt.
#
# Install layout (GNUInstallDirs):
#   bin/gwlz                              command-line tool
#   include/gwlz.h, include/gwlz_h5z.h     headers
#   LIBDIR/libgwlz.so.X, LIBDIR/libgwlz.a  libraries
#   LIBDIR/pkgconfig/gwlz.pc              pkg-config file
#   LIBDIR/cmake/gwlz/                    CMake package (find_package(gwlz CONFIG))
#   GWLZ_HDF5_PLUGIN_DIR/libh5gwlz.so     HDF5 filter plugin (HDF5_PLUGIN_PATH);
#                                         default LIBDIR/hdf5/plugin, or Debian's
#                                         HDF5 plugin directory for prefix /usr
#   GWLZ_PYTHON_INSTALL_DIR/gwlz/          Python package
#   MANDIR/man1/gwlz.1                    manual page

include(CMakePackageConfigHelpers)

option(GWLZ_HDF5_PLUGIN "Build the HDF5 filter plugin (needs HDF5's C library)" ON)
option(GWLZ_PYTHON "Install the Python package" ON)

# SONAME: libgwlz.so.MAJOR, or libgwlz.so.0.MINOR while the major version is 0
# (every 0.x release may change the binary interface).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(GWLZ_SOVERSION "0.${PROJECT_VERSION_MINOR}")
else()
  set(GWLZ_SOVERSION "${PROJECT_VERSION_MAJOR}")
endif()

# ---- shared library: the static library's objects, public symbols only ----
add_library(gwlz_shared SHARED $<TARGET_OBJECTS:gwlz>)
set_target_properties(gwlz_shared PROPERTIES
  OUTPUT_NAME gwlz
  VERSION ${PROJECT_VERSION}
  SOVERSION ${GWLZ_SOVERSION}
  C_VISIBILITY_PRESET hidden
  LINKER_LANGUAGE C)
# Whatever the static library links (now or later), the shared one links too.
target_link_libraries(gwlz_shared PRIVATE $<TARGET_PROPERTY:gwlz,LINK_LIBRARIES>)
target_link_options(gwlz_shared PRIVATE LINKER:--no-undefined)
target_include_directories(gwlz_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)

# ---- link flags a user of the static library needs -------------------------
# Read from the link targets of the library (imported targets, library files,
# bare names, flags) so that a new dependency shows up in gwlz.pc and in the
# CMake package without being listed here.
function(_gwlz_strip_genex item out)
  set(v "${item}")
  # $<LINK_ONLY:x>, $<$<LINK_LANGUAGE:C>:x>, $<$<COMPILE_LANGUAGE:C>:x> -> x
  string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" v "${v}")
  string(REGEX REPLACE "^\\$<\\$<(LINK|COMPILE)_LANGUAGE:C>:(.*)>$" "\\2" v "${v}")
  string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "" v "${v}")
  string(REGEX REPLACE "^\\$<INSTALL_INTERFACE:(.*)>$" "\\1" v "${v}")
  if(v MATCHES "\\$<")
    message(WARNING "gwlz.pc: link item '${item}' left out (generator expression)")
    set(v "")
  endif()
  set(${out} "${v}" PARENT_SCOPE)
endfunction()

function(_gwlz_collect_link_flags items depth out_var)
  set(acc "${${out_var}}")
  if(depth GREATER 8)
    set(${out_var} "${acc}" PARENT_SCOPE)
    return()
  endif()
  math(EXPR next "${depth} + 1")
  foreach(raw IN LISTS items)
    _gwlz_strip_genex("${raw}" item)
    if(item STREQUAL "" OR item STREQUAL "gwlz" OR item MATCHES "^::@")
      continue()
    endif()
    if(TARGET "${item}")
      get_target_property(aliased "${item}" ALIASED_TARGET)
      if(aliased)
        set(item "${aliased}")
      endif()
      get_target_property(type "${item}" TYPE)
      get_target_property(imported "${item}" IMPORTED)
      if(imported AND NOT type STREQUAL "INTERFACE_LIBRARY")
        set(loc "")
        foreach(cfg "" _RELEASE _RELWITHDEBINFO _NOCONFIG _MINSIZEREL _DEBUG)
          get_target_property(l "${item}" IMPORTED_LOCATION${cfg})
          if(l)
            set(loc "${l}")
            break()
          endif()
        endforeach()
        if(loc)
          _gwlz_collect_link_flags("${loc}" ${next} acc)
        endif()
      elseif(NOT imported AND NOT type STREQUAL "INTERFACE_LIBRARY")
        message(WARNING "gwlz.pc: '${item}' is a library built by this project; "
                        "link its objects into gwlz instead")
        continue()
      endif()
      get_target_property(sub "${item}" INTERFACE_LINK_LIBRARIES)
      if(sub)
        _gwlz_collect_link_flags("${sub}" ${next} acc)
      endif()
      get_target_property(opts "${item}" INTERFACE_LINK_OPTIONS)
      if(opts)
        _gwlz_collect_link_flags("${opts}" ${next} acc)
      endif()
    elseif(item MATCHES "^-")
      list(APPEND acc "${item}")
    elseif(IS_ABSOLUTE "${item}")
      get_filename_component(dir "${item}" DIRECTORY)
      get_filename_component(name "${item}" NAME)
      if(name MATCHES "^lib(.+)\\.(so|a|dylib)(\\.[0-9.]+)?$")
        list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${dir}" implicit)
        if(implicit EQUAL -1)
          list(APPEND acc "-L${dir}")
        endif()
        list(APPEND acc "-l${CMAKE_MATCH_1}")
      else()
        list(APPEND acc "${item}")
      endif()
    else()
      list(APPEND acc "-l${item}")
    endif()
  endforeach()
  set(${out_var} "${acc}" PARENT_SCOPE)
endfunction()

function(_gwlz_write_link_files)
  get_target_property(direct gwlz LINK_LIBRARIES)
  set(flags "")
  _gwlz_collect_link_flags("${direct}" 0 flags)
  list(REMOVE_DUPLICATES flags)
  list(JOIN flags " " GWLZ_PC_LIBS_PRIVATE)
  # For the CMake package: "-lzstd" -> "zstd" (CMake adds -l), flags as they are.
  set(cmake_libs "")
  foreach(f IN LISTS flags)
    if(f MATCHES "^-l(.+)$")
      list(APPEND cmake_libs "${CMAKE_MATCH_1}")
    else()
      list(APPEND cmake_libs "${f}")
    endif()
  endforeach()
  set(GWLZ_CMAKE_STATIC_LIBS "${cmake_libs}")
  set(GWLZ_PC_VERSION "${PROJECT_VERSION}")
  # Relocatable: the prefix is found from where gwlz.pc lies, so that
  # "cmake --install build --prefix DIR" gives a working file in any DIR.
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(GWLZ_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(GWLZ_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
  else()
    file(RELATIVE_PATH up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
    set(GWLZ_PC_PREFIX "\${pcfiledir}/${up}")
    set(GWLZ_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  endif()
  if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(GWLZ_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
  else()
    set(GWLZ_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/gwlz.pc.in ${PROJECT_BINARY_DIR}/gwlz.pc @ONLY)
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gwlzConfig.cmake.in
    ${PROJECT_BINARY_DIR}/gwlzConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gwlz
    PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
endfunction()

# Run after every other command of the top-level CMakeLists.txt.
if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.19)
  cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _gwlz_write_link_files)
else()
  _gwlz_write_link_files()
endif()

write_basic_package_version_file(${PROJECT_BINARY_DIR}/gwlzConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

# ---- HDF5 filter plugin ----------------------------------------------------
set(GWLZ_HAVE_HDF5_PLUGIN OFF)
if(GWLZ_HDF5_PLUGIN)
  pkg_check_modules(GWLZ_HDF5 IMPORTED_TARGET hdf5)
  # Default install directory: HDF5's own default plugin directory when
  # installing into /usr on Debian (<hdf5 libdir>/plugins, searched without
  # HDF5_PLUGIN_PATH), else <libdir>/hdf5/plugin.
  set(_plugdir "${CMAKE_INSTALL_LIBDIR}/hdf5/plugin")
  list(GET GWLZ_HDF5_LIBRARY_DIRS 0 _h5libdir)
  if(GWLZ_HDF5_FOUND AND CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND _h5libdir MATCHES "^/usr/lib/.*/hdf5/serial$")
    set(_plugdir "${_h5libdir}/plugins")
  endif()
  set(GWLZ_HDF5_PLUGIN_DIR "${_plugdir}" CACHE STRING
      "Install directory of the HDF5 filter plugin (relative to the prefix or absolute)")
  if(GWLZ_HDF5_FOUND)
    add_subdirectory(${PROJECT_SOURCE_DIR}/plugins ${PROJECT_BINARY_DIR}/plugins)
    set(GWLZ_HAVE_HDF5_PLUGIN ON)
  else()
    message(STATUS "gwlz: HDF5 not found (pkg-config hdf5): no HDF5 filter plugin")
  endif()
endif()
if(GWLZ_HAVE_HDF5_PLUGIN)
  set(GWLZ_PY_PLUGIN_BUILD "r'${PROJECT_BINARY_DIR}/hdf5-plugin'")
else()
  set(GWLZ_PY_PLUGIN_BUILD "None")
  set(GWLZ_HDF5_PLUGIN_DIR "")
endif()

# ---- Python package: a copy in the build tree, usable with PYTHONPATH -------
# build/python/gwlz finds build/libgwlz.so and build/hdf5-plugin through its
# generated _paths.py; the installed copy gets one pointing at the install dirs.
# The system interpreter first (Debian's python3 with numpy), not one found
# earlier on PATH.
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT DEFINED GWLZ_PYTHON_INSTALL_DIR)
  set(_pydir "lib/python3/dist-packages")
  if(Python3_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c
      "import sys,sysconfig; p=sysconfig.get_paths().get('purelib',''); \
print('lib/python%d.%d/%s' % (sys.version_info[0], sys.version_info[1], \
'dist-packages' if 'dist-packages' in p else 'site-packages'))"
      OUTPUT_VARIABLE _pyout OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _pyrc)
    if(_pyrc EQUAL 0 AND _pyout)
      set(_pydir "${_pyout}")
    endif()
    if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND _pydir MATCHES "dist-packages")
      set(_pydir "lib/python3/dist-packages")
    endif()
  endif()
  set(GWLZ_PYTHON_INSTALL_DIR "${_pydir}" CACHE STRING
      "Install directory of the Python package (relative to the prefix or absolute)")
endif()

file(GLOB GWLZ_PY_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/gwlz/*.py)
set(GWLZ_PY_BUILD_DIR ${PROJECT_BINARY_DIR}/python/gwlz)
file(GENERATE OUTPUT ${GWLZ_PY_BUILD_DIR}/_paths.py CONTENT
"# Generated by CMake: where this copy of the package finds its libraries.
LIBRARY = r'$<TARGET_FILE:gwlz_shared>'
HDF5_PLUGIN_DIR = ${GWLZ_PY_PLUGIN_BUILD}
")
add_custom_target(gwlz_python ALL
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GWLZ_PY_BUILD_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy_if_different ${GWLZ_PY_SOURCES} ${GWLZ_PY_BUILD_DIR}/
  DEPENDS ${GWLZ_PY_SOURCES} gwlz_shared
  COMMENT "Python package in ${GWLZ_PY_BUILD_DIR}")

# ---- install ---------------------------------------------------------------
install(TARGETS gwlz gwlz_shared gwlz_cli
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/gwlz.h ${PROJECT_SOURCE_DIR}/include/gwlz_h5z.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/gwlz.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${PROJECT_BINARY_DIR}/gwlzConfig.cmake ${PROJECT_BINARY_DIR}/gwlzConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gwlz)
install(FILES ${PROJECT_SOURCE_DIR}/docs/gwlz.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

if(GWLZ_PYTHON)
  install(FILES ${GWLZ_PY_SOURCES} DESTINATION ${GWLZ_PYTHON_INSTALL_DIR}/gwlz)
  # _paths.py of the installed copy: paths relative to the package directory,
  # so the installed tree can be moved as a whole.
  install(CODE "
    set(_prefix \"\${CMAKE_INSTALL_PREFIX}\")
    if(DEFINED ENV{DESTDIR})
      set(_dest \"\$ENV{DESTDIR}\")
    else()
      set(_dest \"\")
    endif()
    foreach(_v pkg lib plug)
      set(_d_\${_v} \"\")
    endforeach()
    set(_d_pkg \"${GWLZ_PYTHON_INSTALL_DIR}/gwlz\")
    set(_d_lib \"${CMAKE_INSTALL_LIBDIR}\")
    set(_d_plug \"${GWLZ_HDF5_PLUGIN_DIR}\")
    foreach(_v pkg lib plug)
      if(NOT IS_ABSOLUTE \"\${_d_\${_v}}\")
        set(_d_\${_v} \"\${_prefix}/\${_d_\${_v}}\")
      endif()
    endforeach()
    file(RELATIVE_PATH _rel_lib \"\${_d_pkg}\" \"\${_d_lib}/libgwlz.so.${GWLZ_SOVERSION}\")
    if(\"${GWLZ_HAVE_HDF5_PLUGIN}\" STREQUAL \"ON\")
      file(RELATIVE_PATH _rel_plug \"\${_d_pkg}\" \"\${_d_plug}\")
      set(_plug_expr \"_os.path.normpath(_os.path.join(_here, r'\${_rel_plug}'))\")
    else()
      set(_plug_expr None)
    endif()
    message(STATUS \"Installing: \${_dest}\${_d_pkg}/_paths.py\")
    file(WRITE \"\${_dest}\${_d_pkg}/_paths.py\"
\"# Written by cmake --install: paths relative to this package directory.
import os as _os
_here = _os.path.dirname(_os.path.abspath(__file__))
LIBRARY = _os.path.normpath(_os.path.join(_here, r'\${_rel_lib}'))
HDF5_PLUGIN_DIR = \${_plug_expr}
\")
  ")
endif()

if(GWLZ_BUILD_TESTS)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/integration ${PROJECT_BINARY_DIR}/tests/integration)
endif()
