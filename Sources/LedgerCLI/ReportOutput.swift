import ArgumentParser
import Foundation
import LedgerCore
import LedgerReports

extension ReportFormat: ExpressibleByArgument {}

/// Where report text goes: a file written atomically (temp file + rename), or stdout. A path that is not a regular
/// file (/dev/null, /dev/stdout, a named pipe) is written in place: renaming a temp file over it would replace the
/// device or pipe with a plain file (as root, /dev/null itself).
enum ReportOutput {
    static func write(_ text: String, to path: String?) throws { try write(Array(text.utf8), to: path) }

    static func write(_ bytes: [UInt8], to path: String?) throws {
        guard let path else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        if let handle = try inPlace(path) {
            defer { try? handle.close() }
            try handle.write(contentsOf: bytes)
            return
        }
        // .atomic writes a temporary file beside the target and renames it over the target.
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// `path` opened for writing in place when it is not a regular file (a device, a named pipe, a symbolic link
    /// such as /dev/stdout, written through); nil for a regular file or nothing yet, which a temp file renamed over
    /// it may replace.
    static func inPlace(_ path: String) throws -> FileHandle? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType != .typeRegular
        else { return nil }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ExportFileError(path: path) }
        return handle
    }

    /// Now, in microseconds since the epoch (UTC): the CLI's one clock. `HOLYSHEEP_LEDGER_NOW` (an ISO timestamp
    /// such as 2026-11-27T00:00:00Z) pins it, so tests and re-runs of "the current month" are reproducible.
    static func nowMicros() -> Int64 {
        if let pinned = ProcessInfo.processInfo.environment["HOLYSHEEP_LEDGER_NOW"],
            let micros = UTCDate.micros(parsing: pinned)
        {
            return micros
        }
        return Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    /// Whether a file descriptor is a terminal.
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
}
