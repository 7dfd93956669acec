/// A request's priority, 1 (lowest) to 5 (highest), from `X-Priority` or `metadata.priority`.
/// Higher priorities leave the pool's queue first; equal priorities leave in arrival order.
package struct RequestPriority: Sendable, Hashable, Comparable, CustomStringConvertible {
    package let value: Int

    package static let lowest = RequestPriority(unchecked: 1)
    package static let highest = RequestPriority(unchecked: 5)
    /// Requests that say nothing sit in the middle, so callers can mark work as more or less urgent.
    package static let normal = RequestPriority(unchecked: 3)

    private init(unchecked value: Int) { self.value = value }

    /// A priority from a whole number 1...5.
    package init(_ value: Int) throws(RoutingError) {
        guard (1...5).contains(value) else { throw .invalidPriority(String(value)) }
        self.value = value
    }

    /// A priority from header text ("4", " 2 ").
    package init(parsing text: String) throws(RoutingError) {
        guard let number = Int(text.trimmingSpaces()), (1...5).contains(number) else {
            throw .invalidPriority(text)
        }
        self.value = number
    }

    /// The priority of a request: the `X-Priority` header wins over the body's `metadata.priority`; neither gives
    /// `fallback`. An invalid value is an error (the proxy answers 400), not silently clamped.
    package static func resolve(
        header: String?, metadata: Int?, fallback: RequestPriority = .normal
    ) throws(RoutingError) -> RequestPriority {
        if let header, !header.trimmingSpaces().isEmpty { return try RequestPriority(parsing: header) }
        if let metadata { return try RequestPriority(metadata) }
        return fallback
    }

    package static func < (lhs: RequestPriority, rhs: RequestPriority) -> Bool { lhs.value < rhs.value }

    package var description: String { String(value) }
}
