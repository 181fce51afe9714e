# Writes a C source holding every scenarios/*.tsim as a byte array, so that
# tide-sim carries its built-in scenarios. Run at build time:
#   cmake -DDIR=<scenarios dir> -DOUT=<file.c> -P embed_scenarios.cmake
# Bytes rather than string literals: no escaping rules to get wrong, and
# any UTF-8 in a scenario's comments survives as it is.
file(GLOB files "${DIR}/*.tsim")
list(SORT files)
set(out "/* Generated from the scenarios/NAME.tsim files by tools/sim/embed_scenarios.cmake: do not edit. */\n")
string(APPEND out "#include \"scenario.h\"\n\n")
set(table "")
set(i 0)
foreach(f ${files})
  get_filename_component(base "${f}" NAME)
  string(REGEX REPLACE "\\.tsim$" "" name "${base}")
  file(READ "${f}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # 16 bytes a line keeps the generated file readable in an editor
  string(REGEX REPLACE "((0x..,){16})" "\\1\n\t" bytes "${bytes}")
  string(APPEND out "static const unsigned char scenario_${i}[] = {\n\t${bytes}0\n};\n")
  string(APPEND table "\t{ \"${name}\", (const char *)scenario_${i} },\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND out "\nstatic const struct sim_builtin builtins[] = {\n${table}\t{ 0, 0 }\n};\n\n")
string(APPEND out "const struct sim_builtin *sim_builtins(size_t *count)\n{\n\t*count = ${i};\n\treturn builtins;\n}\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL out)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${out}")
