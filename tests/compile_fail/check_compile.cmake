# Runs one syntax-only compile for a compile_fail test (cmake -P). Inputs:
#   COMPILER, SOURCE, FLAGS_FILE (a response file of -I/-isystem/-D/-std flags), MODE and EXPECT.
#   EXPECT holds one regex, or several joined by "@@" that must all match (e.g. the missing
#   member and the user's type).
#   MODE=fail:    passes only when the compile fails AND its output matches every regex.
#   MODE=control: passes only when the compile succeeds (warnings are errors).
# A plain PASS_REGULAR_EXPRESSION would ignore the exit status; checking both here means a
# message printed as a warning, or a control that stops compiling, cannot pass unnoticed.
foreach(var COMPILER SOURCE FLAGS_FILE MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_compile.cmake: ${var} not set")
  endif()
endforeach()

set(extra "")
if(MODE STREQUAL "control")
  set(extra -DCONTINUA_CONTROL)
endif()
execute_process(COMMAND "${COMPILER}" "@${FLAGS_FILE}" ${extra} -fsyntax-only "${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)

if(MODE STREQUAL "control")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "control did not compile (exit ${rc}): the rejected case proves nothing\n${out}")
  endif()
  message(STATUS "control compiled")
elseif(MODE STREQUAL "fail")
  if(rc EQUAL 0)
    message(FATAL_ERROR "compiled, but continua must reject this type\n${out}")
  endif()
  string(REPLACE "@@" ";" expects "${EXPECT}")
  foreach(expect IN LISTS expects)
    if(NOT out MATCHES "${expect}")
      message(FATAL_ERROR "compile failed without continua's message /${expect}/\n${out}")
    endif()
    message(STATUS "rejected with the expected message /${expect}/")
  endforeach()
else()
  message(FATAL_ERROR "check_compile.cmake: unknown MODE '${MODE}'")
endif()
