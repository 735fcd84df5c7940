# Builds TARGET in BUILD_DIR and succeeds only when the build FAILS with a message containing EXPECT.
# (A bare WILL_FAIL would also pass on an unrelated error, such as a typo in the test itself.)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not: expected the error \"${EXPECT}\"")
endif()
string(FIND "${out}${err}" "${EXPECT}" pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "${TARGET} failed to compile, but without the expected message \"${EXPECT}\":\n${out}${err}")
endif()
message(STATUS "${TARGET}: compile error as expected: ${EXPECT}")
