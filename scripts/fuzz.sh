#!/usr/bin/env bash
# Runs one libFuzzer target over the project's parsers for a bounded time.
#
#   scripts/fuzz.sh TARGET SECONDS     e.g. scripts/fuzz.sh JSONReader 20
#   scripts/fuzz.sh all SECONDS        every target, one after the other
#   scripts/fuzz.sh --list             the targets
#
# Each target is built with swiftc -sanitize=fuzzer,address from the parser's own source files (the modules they
# import are pure: LedgerCore, LedgerRouting), so no dependency needs an instrumented build. It starts from the seed
# corpus in Fuzz/TARGET/corpus (committed), works in .build-fuzz/, and exits non-zero when libFuzzer finds a crash,
# leaving the input in .build-fuzz/TARGET/crash-*: turn it into a regression test, then fix the parser.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/.build-fuzz"

targets=(JSONReader SSESplitter UsageParser ConfigINI PriceCSV BatchJSONL)

# The sources each target compiles into its own module beside its harness, and the modules it imports.
sources_for() {
    case "$1" in
        JSONReader) echo "" ;;
        SSESplitter) echo "Sources/LedgerProxy/OpenAI/SSEEventSplitter.swift" ;;
        UsageParser) echo "Sources/LedgerProxy/OpenAI/OpenAIUsage.swift" ;;
        ConfigINI) echo "Sources/LedgerProxy/ProxyConfiguration.swift Sources/LedgerProxy/ProxyConfiguration+File.swift" ;;
        PriceCSV) echo "Sources/LedgerStore/PriceCSV.swift Sources/LedgerStore/LedgerStoreError.swift" ;;
        BatchJSONL) echo "$(batch_sources)" ;;
        *) echo "fuzz: unknown target '$1' (scripts/fuzz.sh --list)" >&2; exit 2 ;;
    esac
}
batch_sources() {
    # The batch file parser lives with the batch command.
    ls Sources/LedgerCLI/Batch/BatchFile.swift 2>/dev/null || echo "Sources/LedgerRouting/BatchFile.swift"
}
modules_for() {
    case "$1" in
        ConfigINI | BatchJSONL) echo "LedgerCore LedgerRouting" ;;
        *) echo "LedgerCore" ;;
    esac
}

flags=(-sanitize=fuzzer,address -parse-as-library -package-name holysheep_ledger -swift-version 6 -Onone -g
    -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility
    -enable-upcoming-feature InternalImportsByDefault)

# A pure module, instrumented, as a static library in .build-fuzz/modules.
build_module() {
    local name="$1" dir="$out/modules"
    local files; files=$(find "Sources/$name" -name '*.swift' | sort)
    local stamp="$dir/$name.stamp" newest
    newest=$(ls -t $files | head -1)
    if [ -f "$stamp" ] && [ "$stamp" -nt "$newest" ]; then return; fi
    mkdir -p "$dir"
    echo "fuzz: building $name (instrumented)" >&2
    (cd "$dir" && swiftc "${flags[@]}" -I "$dir" -module-name "$name" -emit-module -emit-library -static \
        -o "$dir/lib$name.a" $(printf "$root/%s " $files))
    touch "$stamp"
}

build_target() {
    local target="$1"
    local mods; mods=$(modules_for "$target")
    for m in $mods; do build_module "$m"; done
    local dir="$out/$target"
    mkdir -p "$dir"
    # Static libraries link dependents first (LedgerRouting before LedgerCore).
    local links=()
    for m in $mods; do links=(-l"$m" "${links[@]}"); done
    links+=(-lswiftSynchronization)
    echo "fuzz: building $target" >&2
    swiftc "${flags[@]}" -I "$out/modules" -L "$out/modules" "${links[@]}" -module-name "Fuzz$target" \
        -o "$dir/fuzz-$target" "Fuzz/$target/Harness.swift" $(sources_for "$target")
}

run_target() {
    local target="$1" seconds="$2"
    build_target "$target"
    local dir="$out/$target"
    mkdir -p "$dir/corpus"
    echo "fuzz: $target for ${seconds}s" >&2
    # New inputs go to the work corpus; the committed seeds are read only.
    (cd "$dir" && ASAN_OPTIONS=detect_leaks=0 ./"fuzz-$target" -max_total_time="$seconds" -max_len=4096 \
        -timeout=10 -print_final_stats=1 corpus "$root/Fuzz/$target/corpus" 2>"$dir/log") || {
        tail -40 "$dir/log" >&2
        echo "fuzz: $target FAILED: see $dir/log and $dir/crash-*" >&2
        return 1
    }
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$dir/log" | tr '\n' ' ' >&2
    echo >&2
}

case "${1:-}" in
    --list) printf '%s\n' "${targets[@]}" ;;
    all)
        status=0
        for t in "${targets[@]}"; do run_target "$t" "${2:-20}" || status=1; done
        exit $status ;;
    "" | -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    *) run_target "$1" "${2:-20}" ;;
esac
