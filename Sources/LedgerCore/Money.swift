/// An exact amount of US dollars, counted in pico-USD (1e-12 USD).
///
/// A call's cost is `tokens × price`, where prices are whole micro-USD per million tokens, so the product is exactly
/// pico-USD: no division, no rounding, no `Double`. `Int128` holds any sum a ledger can reach. Rounding happens once,
/// at presentation, half-even to the cent (`centsRoundedHalfEven`).
package struct Money: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Pico-USD in one USD.
    package static let picoPerUSD: Int128 = 1_000_000_000_000
    /// Pico-USD in one cent.
    package static let picoPerCent: Int128 = 10_000_000_000

    package var picoUSD: Int128

    package init(picoUSD: Int128) { self.picoUSD = picoUSD }
    package init(picoUSD: Int64) { self.picoUSD = Int128(picoUSD) }

    package static let zero = Money(picoUSD: Int128(0))

    package static func + (lhs: Money, rhs: Money) -> Money { Money(picoUSD: lhs.picoUSD + rhs.picoUSD) }
    package static func - (lhs: Money, rhs: Money) -> Money { Money(picoUSD: lhs.picoUSD - rhs.picoUSD) }
    package static func += (lhs: inout Money, rhs: Money) { lhs.picoUSD += rhs.picoUSD }
    package static func < (lhs: Money, rhs: Money) -> Bool { lhs.picoUSD < rhs.picoUSD }

    /// Whole cents, rounded once, half to even (banker's rounding), as finance expects.
    package var centsRoundedHalfEven: Int128 { Money.divideHalfEven(picoUSD, by: Money.picoPerCent) }

    /// "1949.47", "-0.05": dot decimal, no currency symbol, no thousands separator; rounded half-even to the cent.
    package var usdString: String { Money.format(units: centsRoundedHalfEven, scale: 2) }

    /// Exact decimal dollars with all 12 digits, e.g. "0.000000067200". For audits and JSON.
    package var exactUSDString: String { Money.format(units: picoUSD, scale: 12) }

    package var description: String { "$" + usdString }

    /// `numerator / denominator`, rounded half to even. `denominator` must be positive.
    package static func divideHalfEven(_ numerator: Int128, by denominator: Int128) -> Int128 {
        precondition(denominator > 0, "divideHalfEven needs a positive denominator")
        var quotient = numerator / denominator
        let remainder = numerator % denominator  // same sign as numerator
        let twice = (remainder < 0 ? -remainder : remainder) * 2
        if twice > denominator || (twice == denominator && quotient % 2 != 0) {
            quotient += numerator < 0 ? -1 : 1
        }
        return quotient
    }

    /// Renders `units / 10^scale` as a plain decimal string.
    package static func format(units: Int128, scale: Int) -> String {
        let negative = units < 0
        let magnitude = negative ? -units : units
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (negative ? "-" : "") + digits
    }
}
