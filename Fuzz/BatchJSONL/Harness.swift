/// libFuzzer entry: any batch file is split into lines and each line parsed or refused with a RoutingError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchJSONL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    _ = BatchFile.parse(text)
    for (index, line) in text.split(separator: "\n").enumerated() {
        _ = try? BatchFile.request(fromLine: line, number: index + 1)
    }
    return 0
}
