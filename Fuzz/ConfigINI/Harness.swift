/// libFuzzer entry: any configuration file text is applied or refused with a ProxyConfigurationError, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigINI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    if let configuration = try? ProxyConfiguration().applying(file: text) {
        _ = configuration.resolvingKeys(from: ["HOLYSHEEP_API_KEY": "k", "OFFICIAL_API_KEY": "k"])
    }
    return 0
}
