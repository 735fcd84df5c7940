# A rank that fails while the other waits in an allreduce — through dist::mpi::abort, killed by SIGKILL, or
# hanging without dying —: mpirun must end the run with a non-zero status within 60 s (the bound this test
# sets; mpirun notices a dead rank at once, and the waiting rank's watchdog fires after TINYMIM_DIST_TIMEOUT,
# 3 s here), and name the failed rank (our message for abort, mpirun's for a killed process) or, for a hang,
# the rank that waited and the call it waited in.
foreach(how abort kill hang)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env TINYMIM_FAIL_RANK=1 TINYMIM_FAIL_HOW=${how} TINYMIM_DIST_TIMEOUT=3
                          ${MPIEXEC} --allow-run-as-root --oversubscribe -np 2 ${PROGRAM}
                          --run_test=dist_mpi/a_failed_rank_ends_every_rank
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  message(STATUS "${how}: mpirun exited with ${rc}:\n${out}\n${err}")
  if(rc EQUAL 0 OR rc MATCHES "timeout")
    message(FATAL_ERROR "${how}: the run did not end with an error (status: ${rc})")
  endif()
  if(how STREQUAL "abort")
    set(expect "tinymim: rank 1 of 2 failed: a planted failure")
  elseif(how STREQUAL "hang")
    set(expect "tinymim: rank 0 of 2 waited 3 s in MPI_Allreduce for the other ranks")
  else()
    set(expect "rank 1")
  endif()
  string(FIND "${out}${err}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${how}: the output does not name the failed rank ('${expect}')")
  endif()
endforeach()
