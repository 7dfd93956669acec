#!/usr/bin/env bash
# Fails when a build log has a compiler or package warning about the project's own files (Sources, Tests, bench,
# Plugins, Fuzz, Package.swift); warnings inside dependencies (.build/checkouts) are not ours and are ignored.
#
#   scripts/check-warnings.sh BUILD_LOG
#
# Only a clean build compiles every file, so only a clean build's log lists every warning (CI builds clean).
set -euo pipefail
cd "$(dirname "$0")/.."
log="${1:?usage: scripts/check-warnings.sh BUILD_LOG}"
root="$PWD"

# "PATH:LINE:COL: warning: ..." from swiftc/clang, for files of this repository outside .build*.
own=$(grep -E "^$root/(Sources|Tests|bench|Plugins|Fuzz|Package\.swift)[^:]*:[0-9]+:[0-9]+: warning:" "$log" |
    sort -u || true)
# SwiftPM's "found N file(s) which are unhandled" names the files on the lines that follow it.
unhandled=$(awk -v root="$root/" '
    /warning: .*found [0-9]+ file\(s\) which are unhandled/ { grab = 1; next }
    grab && /^    \// { if (index($1, root) == 1 && index($1, root ".build") != 1) print "unhandled file: " $1; next }
    { grab = 0 }' "$log" | sort -u)

if [ -n "$own$unhandled" ]; then
    echo "check-warnings: the build warned about the project's own files; fix these:" >&2
    [ -n "$own" ] && echo "$own" >&2
    [ -n "$unhandled" ] && echo "$unhandled" >&2
    exit 1
fi
echo "check-warnings: no warnings from the project's own files" >&2
