import LedgerCore

/// libFuzzer entry: the JSON reader must never trap, and its validating skip and its building descent must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let reader = JSONReader(bytes: bytes)
    let start = reader.skipSpace(0)
    let skipped = try? reader.skip(start, depth: 0)
    let built = try? reader.value(start, depth: 0, build: true)
    // One grammar, two descents: both accept the same prefix and stop at the same byte.
    precondition(skipped == built?.end, "skip and value disagree on \(bytes)")
    if let built { precondition(built.value != nil, "value(build: true) returned no value") }
    let parsed = try? JSONScanner.parse(bytes: bytes)
    if let parsed, case .object = parsed {
        // A whole object document also scans as one.
        precondition((try? JSONObjectScan(bytes)) != nil, "JSONScanner accepted an object that JSONObjectScan refused")
    }
    return 0
}
