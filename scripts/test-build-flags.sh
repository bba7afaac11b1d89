# The flags of the test build, sourced by scripts/setup.sh (which builds it) and scripts/test.sh (which runs it with
# `swift test --skip-build`, so the two must match).
# - Release mode: the numeric code is 10-100x slower in debug. -enable-testing: the tests' @testable imports.
# - Its own folder, .build-test: sharing .build with the plain release build would make each of scripts/run.sh and
#   scripts/test.sh recompile everything after the other changed the flags.
# - No debug information (-gnone for Swift, -g0 for C and C++): the build took 534 s instead of 603 s on 2 cores,
#   and nothing in the tests reads DWARF (Swift Testing reports source locations from the test source).
# shellcheck disable=SC2034  # used by the scripts that source this file
test_build_flags=(-c release --scratch-path .build-test -Xswiftc -enable-testing -Xswiftc -gnone -Xcc -g0)
