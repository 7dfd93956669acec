import ArgumentParser
import LedgerCore
import LedgerReports

/// `holysheep-ledger close`: freezes a month that has ended.
struct Close: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Close (freeze) a month that has ended: its report figures no longer change.",
        discussion: """
            Stores the month's report rows with their SHA-256 and totals. Afterwards `report --month` shows the \
            closed figures and when the month was closed; calls recorded later for the month appear as \
            adjustments in the first open month. `report --month M --as-recorded` shows what the rows say now; \
            `reopen` undoes a close (recorded, with its reason).

            Example:
              holysheep-ledger close --month 2026-11
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(
        help: ArgumentHelp("The UTC month to close.", valueName: "YYYY-MM"),
        transform: { text in try BillingMonth(parsing: text) })
    var month: BillingMonth

    func run() async throws {
        let database = try await ledger.open()
        let close = try MonthClose.close(month, nowMicros: ReportOutput.nowMicros(), database: database)
        let paid = Money.format(units: close.paid.centsRoundedHalfEven, scale: 2)
        print(
            "closed \(close.month) at \(UTCDate.isoTimestamp(micros: close.closedAtMicros)): \(close.calls) calls, "
                + "paid \(paid) USD, rows SHA-256 \(close.rowsSHA256)")
    }
}

/// `holysheep-ledger reopen`: undoes a close, recording why.
struct Reopen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reopen a closed month (recorded with the time and the reason).",
        discussion: """
            Example:
              holysheep-ledger reopen --month 2026-11 --reason "provider credit note 4711 rebooked"
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(
        help: ArgumentHelp("The UTC month to reopen.", valueName: "YYYY-MM"),
        transform: { text in try BillingMonth(parsing: text) })
    var month: BillingMonth

    @Option(help: ArgumentHelp("Why the month is reopened (kept in the ledger).", valueName: "text"))
    var reason: String

    func run() async throws {
        let database = try await ledger.open()
        let close = try MonthClose.reopen(
            month, reason: reason, nowMicros: ReportOutput.nowMicros(), database: database)
        print(
            "reopened \(close.month) at \(UTCDate.isoTimestamp(micros: close.reopenedAtMicros ?? 0)) "
                + "(closed \(UTCDate.isoTimestamp(micros: close.closedAtMicros))): \(close.reopenReason ?? "")")
    }
}
