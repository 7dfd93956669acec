package import LedgerCore
import Synchronization

/// An in-memory `UsageRecorder`: ids count from 1, recorded events kept in order.
package final class MemoryUsageRecorder: UsageRecorder {
    private let state = Mutex<(nextID: Int64, events: [UsageEvent])>((1, []))
    /// When set, `record` throws it (to test ledger failures).
    private let failure = Mutex<(any Error & Sendable)?>(nil)

    package init() {}

    package func reserveCallID() -> Int64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    package func record(_ event: UsageEvent) async throws {
        if let error = failure.withLock({ $0 }) { throw error }
        state.withLock { $0.events.append(event) }
    }

    /// Every recorded event, oldest first.
    package var events: [UsageEvent] { state.withLock { $0.events } }

    /// Makes later `record` calls fail with `error` (nil restores success).
    package func failRecords(with error: (any Error & Sendable)?) { failure.withLock { $0 = error } }
}

/// A `ClientKeyVerifier` over a fixed secret → identity table.
package struct StaticKeyVerifier: ClientKeyVerifier {
    package var identities: [String: ClientIdentity]

    package init(_ identities: [String: ClientIdentity]) { self.identities = identities }

    package func verify(secret: String) async -> ClientIdentity? { identities[secret] }
}

/// A `PriceLookup` over a fixed table, the same price at every instant.
package struct StaticPrices: PriceLookup {
    package var prices: [ProviderKind: [String: ModelPrice]]

    package init(_ prices: [ProviderKind: [String: ModelPrice]]) { self.prices = prices }

    package func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice? {
        prices[kind]?[model]
    }

    package func models(atMicros micros: Int64) -> [String] {
        Set(prices.values.flatMap(\.keys)).sorted()
    }
}
