import ArgumentParser
import Foundation
import LedgerReports
import LedgerStore

/// `holysheep-ledger export`: the raw call rows of a date range, streamed.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the raw call rows of a date range as CSV or JSON Lines (streamed, constant memory).",
        discussion: """
            The range is half-open and UTC: --from 2026-11-01 --to 2026-12-01 is November. Rows come in id order; \
            timestamps are ISO 8601 UTC; costs are exact USD (12 decimals). With --output the file appears only \
            when complete (temp file + rename; a device or named pipe such as /dev/null is written in place). On a \
            terminal, progress is shown on stderr.

            Examples:
              holysheep-ledger export --from 2026-11-01 --to 2026-12-01 --output nov-calls.csv
              holysheep-ledger export --from 2026-11-01 --to 2026-11-02 --format jsonl | jq .cost_paid_usd
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: ArgumentHelp("First day included (UTC).", valueName: "YYYY-MM-DD"))
    var from: String

    @Option(help: ArgumentHelp("First day NOT included (UTC).", valueName: "YYYY-MM-DD"))
    var to: String

    @Option(help: "csv or jsonl (default: from --output's extension, else csv).")
    var format: CallExporter.Format?

    @Option(help: ArgumentHelp("Write to this file (atomically) instead of stdout.", valueName: "file"))
    var output: String?

    @Flag(help: "Start CSV with a UTF-8 byte-order mark (for Excel).")
    var bom = false

    func run() async throws {
        let period = try ReportPeriod(from: from, to: to)
        let format = format ?? (output?.lowercased().hasSuffix(".jsonl") == true ? .jsonl : .csv)
        let exporter = CallExporter(database: try await ledger.open())
        let sink = try ExportSink(path: output)
        let showProgress = ReportOutput.isTerminal(STDERR_FILENO)
        let progress: ((Int64, Int64) -> Void)? = showProgress ? { ExportSink.progress($0, $1) } : nil
        let count = try exporter.export(
            period: period, format: format, bom: bom, write: { bytes in try sink.write(bytes) }, progress: progress)
        try sink.finish()
        if showProgress { FileHandle.standardError.write(Data("\nexported \(count) calls\n".utf8)) }
    }
}

extension CallExporter.Format: ExpressibleByArgument {}

/// stdout, or a temp file renamed over the target when complete; a target that is not a regular file (/dev/null, a
/// named pipe) is written in place (see `ReportOutput`).
struct ExportSink {
    let handle: FileHandle
    let path: String?
    let temp: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            handle = .standardOutput
            temp = nil
            return
        }
        if let handle = try ReportOutput.inPlace(path) {
            self.handle = handle
            temp = nil
            return
        }
        let temp = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temp, contents: nil) else {
            throw ExportFileError(path: temp)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temp))
        self.temp = temp
    }

    func write(_ bytes: [UInt8]) throws { try handle.write(contentsOf: bytes) }

    func finish() throws {
        guard let path else { return }
        guard let temp else { return try handle.close() }
        try handle.synchronize()
        try handle.close()
        guard rename(temp, path) == 0 else { throw ExportFileError(path: path) }
    }

    static func progress(_ done: Int64, _ total: Int64) {
        let pct = total > 0 ? done * 100 / total : 100
        FileHandle.standardError.write(Data("\rexporting: \(done) / \(total) calls (\(pct)%)".utf8))
    }
}

/// A file the export could not create or rename.
struct ExportFileError: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot write \(path)" }
}
