# Fails when the project's docs (docs/, README.md) or its headers (include/) speak of work sessions or
# planning files outside the repository, or cite a repository path that does not exist. The project
# speaks of itself alone: what it is, how it works, what was measured and how.
#   cmake -DROOT=<repository root> [-DFILES="a;b"] -P check_docs.cmake
# ROOT is where cited paths must exist; FILES (default: docs/**/*.md, README.md, include/**) are checked.
cmake_minimum_required(VERSION 3.24)
if(NOT ROOT)
  message(FATAL_ERROR "check_docs: pass -DROOT=<repository root>")
endif()
if(NOT FILES)
  file(GLOB_RECURSE FILES RELATIVE ${ROOT} ${ROOT}/docs/*.md ${ROOT}/include/*.hpp ${ROOT}/include/*.cuh)
  list(APPEND FILES README.md)
endif()

# Words that belong to the planning of the work, not to the project (case-insensitive).
set(talk_patterns
    "[^a-z]sessions?[^a-z]"                   # work sessions
    "shared/"                                 # the planning folder beside the repository
    "design\\.md[^a-z]" "reference\\.md"      # its files (the project's own design docs live in docs/design/)
    "the [a-z-]+ issue" "issue #?[0-9]+"      # the tracker's issues
    "closing note")
# Repository paths that, cited in backquotes, must exist.
set(cited_roots "docs|include|tests|examples|benchmarks|scripts|cmake|tools")

set(found 0)
foreach(rel IN LISTS FILES)
  set(path ${ROOT}/${rel})
  if(NOT EXISTS ${path})
    message(SEND_ERROR "check_docs: ${rel}: no such file")
    math(EXPR found "${found} + 1")
    continue()
  endif()
  file(STRINGS ${path} lines ENCODING UTF-8)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    string(TOLOWER " ${line} " low)
    foreach(p IN LISTS talk_patterns)
      if(low MATCHES "${p}")
        message("${rel}:${n}: speaks of the work, not the project (`${CMAKE_MATCH_0}`): ${line}")
        math(EXPR found "${found} + 1")
        break()
      endif()
    endforeach()
    # `docs/x.md`, `include/tinymim/...`: a path under one of the repository's folders must exist.
    string(REGEX MATCHALL "`[^` ]+`" quoted "${line}")
    foreach(q IN LISTS quoted)
      string(REGEX REPLACE "^`|`$" "" q "${q}")
      string(REGEX REPLACE "[:,;)]+$" "" q "${q}")
      if(q MATCHES "^(${cited_roots})/" AND NOT q MATCHES "[*<>{}$]")
        if(NOT EXISTS ${ROOT}/${q})
          message("${rel}:${n}: cites `${q}`, which is not in the repository")
          math(EXPR found "${found} + 1")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()
if(found GREATER 0)
  message(FATAL_ERROR "check_docs: ${found} line(s) above speak of work outside the project or cite missing files")
endif()
list(LENGTH FILES count)
message("check_docs: ${count} files speak of the project alone")
