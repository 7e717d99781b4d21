# Runs one syntax-only compile for a compile_fail test (cmake -P). Inputs:
#   COMPILER, SOURCE, FLAGS_FILE (a response file of -I/-isystem/-D/-std flags), MODE and EXPECT.
#   MODE=fail:    passes only when the compile fails AND its output matches the regex EXPECT.
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
  if(NOT out MATCHES "${EXPECT}")
    message(FATAL_ERROR "compile failed without continua's message /${EXPECT}/\n${out}")
  endif()
  message(STATUS "rejected with the expected message /${EXPECT}/")
else()
  message(FATAL_ERROR "check_compile.cmake: unknown MODE '${MODE}'")
endif()
