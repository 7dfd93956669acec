/// Runs a batch's lines with bounded concurrency and returns their results in input order. Malformed lines become
/// failed results without being sent; a failing line never stops the others.
package enum BatchRunner {
    /// - Parameters:
    ///   - lines: the batch file's lines, read by the `batch` command.
    ///   - concurrency: lines in flight at once (at least 1). The pool still applies its own limits per call.
    ///   - send: sends one request through the router, pool and ledger, and describes the outcome.
    ///   - progress: called after each line finishes with (done, total, failed), on the caller's task.
    package static func run(
        _ lines: [BatchLine], concurrency: Int,
        send: @escaping @Sendable (BatchRequest) async -> BatchResult,
        progress: (_ done: Int, _ total: Int, _ failed: Int) -> Void = { _, _, _ in }
    ) async -> [BatchResult] {
        var results = [BatchResult?](repeating: nil, count: lines.count)
        var done = 0
        var failed = 0
        var pending: [(Int, BatchRequest)] = []
        for (index, line) in lines.enumerated() {
            switch line.request {
            case .success(let request): pending.append((index, request))
            case .failure(let error):
                results[index] = BatchResult(line: line.line, error: error)
                done += 1
                failed += 1
                progress(done, lines.count, failed)
            }
        }
        await withTaskGroup(of: (Int, BatchResult).self) { group in
            var next = 0
            let width = max(1, concurrency)
            while next < pending.count && next < width {
                let (index, request) = pending[next]
                group.addTask { (index, await send(request)) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                done += 1
                if !result.succeeded { failed += 1 }
                progress(done, lines.count, failed)
                if next < pending.count {
                    let (nextIndex, request) = pending[next]
                    group.addTask { (nextIndex, await send(request)) }
                    next += 1
                }
            }
        }
        return results.enumerated().map { index, result in
            result ?? BatchResult(line: lines[index].line, error: .cancelled)
        }
    }
}
