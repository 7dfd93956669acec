package import LedgerCore

/// What a budget limits: the calls of one team, one client key, or one tag (docs/budgets.md).
package enum BudgetScope: Sendable, Hashable, CustomStringConvertible {
    case team(String)
    case key(Int64)
    /// A `name=value` pair of the call's `x-ledger-tags`.
    case tag(name: String, value: String)

    /// "team", "key" or "tag": the `scope_kind` column.
    package var kind: String {
        switch self {
        case .team: "team"
        case .key: "key"
        case .tag: "tag"
        }
    }

    /// The `scope_value` column: the team, the key id, or `name=value`.
    package var value: String {
        switch self {
        case .team(let team): team
        case .key(let id): String(id)
        case .tag(let name, let value): "\(name)=\(value)"
        }
    }

    /// "team ml", "key 7", "tag project=search".
    package var description: String { "\(kind) \(value)" }

    /// Rebuilds a scope from its two columns; nil when they do not name one.
    package init?(kind: String, value: String) {
        switch kind {
        case "team":
            guard !value.isEmpty else { return nil }
            self = .team(value)
        case "key":
            guard let id = Int64(value), id > 0 else { return nil }
            self = .key(id)
        case "tag":
            guard let pair = try? Self.tagPair(value) else { return nil }
            self = .tag(name: pair.name, value: pair.value)
        default:
            return nil
        }
    }

    /// Parses `NAME=VALUE` as the proxy records tags (trimmed; no `,`; both sides non-empty).
    package static func tagPair(_ text: String) throws(BudgetError) -> (name: String, value: String) {
        let pieces = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
            String($0).trimmingSpaces
        }
        guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty, !text.contains(","),
            !pieces[1].contains("=")
        else { throw .invalid("--tag wants NAME=VALUE (one pair, no commas), got \"\(text)\"") }
        return (pieces[0], pieces[1])
    }

    /// Whether the call falls under this scope.
    package func matches(_ request: AdmissionRequest) -> Bool {
        switch self {
        case .team(let team): request.team == team
        case .key(let id): request.keyID == id
        case .tag: request.tags.map(Self.tagPairs)?.contains(value) ?? false
        }
    }

    /// The `name=value` pairs of a recorded tags string (the proxy's normalised form: trimmed, comma-separated).
    package static func tagPairs(_ tags: String) -> [String] {
        tags.split(separator: ",").map { String($0) }
    }
}

/// A calendar UTC period: the day, the week starting Monday, or the month.
package enum BudgetPeriod: String, Sendable, Hashable, CaseIterable {
    case day, week, month

    /// The half-open window [start, end) of this period that contains `micros` (UTC microseconds).
    package func window(containing micros: Int64) -> PeriodWindow {
        let day = UTCDate.floorDiv(micros, UTCDate.microsPerDay)
        switch self {
        case .day:
            return PeriodWindow(startMicros: day * UTCDate.microsPerDay, endMicros: (day + 1) * UTCDate.microsPerDay)
        case .week:
            // 1970-01-01 was a Thursday: days since the last Monday are (day + 3) mod 7.
            let monday = day - (((day + 3) % 7) + 7) % 7
            return PeriodWindow(
                startMicros: monday * UTCDate.microsPerDay, endMicros: (monday + 7) * UTCDate.microsPerDay)
        case .month:
            let c = UTCDate.civil(days: day)
            let start = UTCDate.days(year: c.year, month: c.month, day: 1)
            let end =
                c.month == 12
                ? UTCDate.days(year: c.year + 1, month: 1, day: 1) : UTCDate.days(year: c.year, month: c.month + 1, day: 1)
            return PeriodWindow(startMicros: start * UTCDate.microsPerDay, endMicros: end * UTCDate.microsPerDay)
        }
    }
}

/// One period of a budget: [start, end) in UTC microseconds.
package struct PeriodWindow: Sendable, Hashable {
    package var startMicros: Int64
    package var endMicros: Int64

    package init(startMicros: Int64, endMicros: Int64) {
        self.startMicros = startMicros
        self.endMicros = endMicros
    }

    package func contains(_ micros: Int64) -> Bool { micros >= startMicros && micros < endMicros }

    /// "2026-12-01" (a day or week's first day, a month's first day): the period's name in alerts and lists.
    package var label: String { UTCDate.isoDay(micros: startMicros) }
}

/// What a budget does when a call would take it over its limit.
package enum BudgetAction: String, Sendable, Hashable, CaseIterable {
    /// The call is refused before any upstream request (429).
    case block
    /// The call goes ahead; only the alerts fire.
    case alert
}

/// One budget, as defined by `budgets set`.
package struct Budget: Sendable, Hashable {
    package var id: Int64
    package var scope: BudgetScope
    package var period: BudgetPeriod
    /// The limit in pico-USD (exact; 1 USD = 1e12).
    package var limitPico: Int64
    package var action: BudgetAction
    /// Alert thresholds in basis points of the limit (50% = 5000), ascending.
    package var alertAtBasisPoints: [Int64]
    /// Where alerts are POSTed, or nil (alerts are then logged and recorded only).
    package var webhook: String?

    package init(
        id: Int64, scope: BudgetScope, period: BudgetPeriod, limitPico: Int64, action: BudgetAction = .block,
        alertAtBasisPoints: [Int64] = [], webhook: String? = nil
    ) {
        self.id = id
        self.scope = scope
        self.period = period
        self.limitPico = limitPico
        self.action = action
        self.alertAtBasisPoints = alertAtBasisPoints
        self.webhook = webhook
    }
}

/// Why a budget definition or operation was refused (one line each).
package enum BudgetError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)
    case unknownScope(String)
    case notFound(Int64)
    case store(String)

    package var description: String {
        switch self {
        case .invalid(let message): message
        case .unknownScope(let message): message
        case .notFound(let id): "no budget \(id) (see `budgets list`)"
        case .store(let message): message
        }
    }
}

/// Parsing of the command line's amounts, exactly (no floating point).
package enum BudgetParsing {
    /// "500", "0.25", "1000.000001" USD into pico-USD. Refuses signs, exponents, more than 12 decimals, zero, and
    /// limits a call row's Int64 cannot hold (over 9,000,000 USD).
    package static func limitPico(_ text: String) throws(BudgetError) -> Int64 {
        let t = text.trimmingSpaces
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard !t.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
            !parts[0].isEmpty, parts.count == 1 || !parts[1].isEmpty
        else {
            throw .invalid("--limit-usd wants a positive decimal amount of USD (e.g. 500 or 0.25), got \"\(text)\"")
        }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 12 else { throw .invalid("--limit-usd has more than 12 decimals: \"\(text)\"") }
        guard parts[0].count <= 7, let whole = Int64(parts[0]),
            let frac = Int64(fraction + String(repeating: "0", count: 12 - fraction.count))
        else { throw .invalid("--limit-usd \(text) is more than 9000000 USD") }
        let pico = whole * 1_000_000_000_000 + frac
        guard pico > 0 else { throw .invalid("--limit-usd must be more than 0, got \"\(text)\"") }
        guard pico <= 9_000_000 * 1_000_000_000_000 else { throw .invalid("--limit-usd \(text) is more than 9000000 USD") }
        return pico
    }

    /// "50%,80%,100%" (the % optional, up to two decimals) into ascending distinct basis points (1..=100000).
    package static func thresholds(_ text: String) throws(BudgetError) -> [Int64] {
        var result: Set<Int64> = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            var s = String(raw).trimmingSpaces
            if s.hasSuffix("%") { s.removeLast() }
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard !s.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
                !parts[0].isEmpty, parts.count == 1 || (1...2).contains(parts[1].count), parts[0].count <= 4,
                let whole = Int64(parts[0])
            else { throw .invalid("--alert-at wants percentages like 50%,80%,100%, got \"\(raw)\"") }
            let fraction = parts.count == 2 ? String(parts[1]) : ""
            let bp = whole * 100 + (Int64(fraction + String(repeating: "0", count: 2 - fraction.count)) ?? 0)
            guard bp > 0, bp <= 100_000 else {
                throw .invalid("--alert-at percentages must be above 0% and at most 1000%, got \"\(raw)\"")
            }
            result.insert(bp)
        }
        return result.sorted()
    }

    /// A webhook URL: http:// or https:// with a host.
    package static func webhook(_ text: String) throws(BudgetError) -> String {
        let t = text.trimmingSpaces
        let lower = t.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            rest = t.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            rest = t.dropFirst(8)
        } else {
            throw .invalid("--webhook must be an http:// or https:// URL, got \"\(text)\"")
        }
        guard let host = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first,
            !host.isEmpty, !t.contains(" ")
        else { throw .invalid("--webhook must be an http:// or https:// URL with a host, got \"\(text)\"") }
        return t
    }

    /// "50%", "12.5%" for basis points.
    package static func percent(_ bp: Int64) -> String {
        bp % 100 == 0 ? "\(bp / 100)%" : "\(bp / 100).\(bp % 100 < 10 ? "0" : "")\(bp % 100)%".replacingZeroTail
    }

    /// Exact USD with trailing zeros trimmed to at least two decimals: "500.00", "0.026" (integer arithmetic only:
    /// it runs once per admitted call, for the remaining-budget header).
    package static func usd(_ pico: Int128) -> String {
        let negative = pico < 0
        let magnitude = negative ? -pico : pico
        guard magnitude <= Int128(Int64.max) else { return Money.format(units: pico, scale: 12) }
        let m = Int64(magnitude)
        var fraction = m % 1_000_000_000_000
        var digits = 12
        while digits > 2, fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        var text = String(fraction)
        if text.count < digits { text = String(repeating: "0", count: digits - text.count) + text }
        return (negative ? "-" : "") + String(m / 1_000_000_000_000) + "." + text
    }
}

extension String {
    fileprivate var replacingZeroTail: String {
        guard contains(".") else { return self }
        var s = self
        s.removeLast()  // %
        while s.hasSuffix("0") { s.removeLast() }
        return s + "%"
    }
}
