/// libFuzzer entry: any price file is parsed whole or refused with a LedgerStoreError, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPriceCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let lines = try PriceCSV.parse(text)
        for line in lines { precondition(line.line >= 1, "line numbers are 1-based") }
    } catch is LedgerStoreError {
    } catch {
        preconditionFailure("PriceCSV threw something other than LedgerStoreError: \(error)")
    }
    return 0
}
