# A rank that fails while the other waits in an allreduce — through dist::mpi::abort, or killed by SIGKILL —:
# mpirun must end the run with a non-zero status within 60 s (the bound this test sets; mpirun notices a
# dead rank at once), and name the failed rank (our message for abort, mpirun's for a killed process).
foreach(how abort kill)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env TINYMIM_FAIL_RANK=1 TINYMIM_FAIL_HOW=${how}
                          ${MPIEXEC} --allow-run-as-root --oversubscribe -np 2 ${PROGRAM}
                          --run_test=dist_mpi/a_failed_rank_ends_every_rank
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  message(STATUS "${how}: mpirun exited with ${rc}:\n${out}\n${err}")
  if(rc EQUAL 0 OR rc MATCHES "timeout")
    message(FATAL_ERROR "${how}: the run did not end with an error (status: ${rc})")
  endif()
  if(how STREQUAL "abort")
    set(expect "tinymim: rank 1 of 2 failed: a planted failure")
  else()
    set(expect "rank 1")
  endif()
  string(FIND "${out}${err}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${how}: the output does not name the failed rank ('${expect}')")
  endif()
endforeach()
