import GRDB
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Logging
import Testing

/// The live price book `serve` reads: prices added by another process apply within the refresh interval, and the
/// calls the ledger writer commits all the time (which move SQLite's data version too) never reload the book.
@Suite struct LivePriceBookTests {
    /// Polls `condition` until it holds or `seconds` pass.
    private func eventually(within seconds: Int = 5, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test func callsCommittedElsewhereDoNotReloadTheBookButAPriceAddedElsewhereDoes() async throws {
        let ledger = TemporaryLedgerPath("live-prices")
        defer { ledger.remove() }
        let serving = try LedgerDatabase(path: ledger.path)
        let book = try LivePriceBook(database: serving)
        #expect(book.bookLoads == 1)

        // Another connection (as `serve`'s writer or another process) commits calls, one transaction each, for
        // longer than several refresh intervals and at least 20 of them; the book is asked for on every one.
        let other = try LedgerDatabase(path: ledger.path)
        let writer = try LedgerWriter(database: other, logger: Logger(label: "test"))
        let deadline = ContinuousClock.now + LivePriceBook.refreshInterval * 4
        var id: Int64 = 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            while ContinuousClock.now < deadline || id <= 20 {
                try await writer.record(
                    UsageEvent(
                        id: id, startedAtMicros: 1, finishedAtMicros: 2, endpoint: "/v1/chat/completions",
                        model: "gpt-4.1", provider: "holysheep", providerKind: .holysheep, status: .ok,
                        usage: TokenUsage(promptTokens: 3, completionTokens: 4), latencyMicros: 1))
                id += 1
                _ = book.price(model: "gpt-4.1", kind: .official, atMicros: 1)
            }
            group.cancelAll()
        }
        #expect(id > 20)
        #expect(book.bookLoads == 1, "the book was reloaded for calls, not prices")

        // A price added by another connection applies within the refresh interval, with one reload.
        let from = UTCDate.micros(parsing: "2026-12-01")!
        #expect(book.price(model: "live-test-model", kind: .official, atMicros: from) == nil)
        try other.addPrices(
            [
                PriceBookEntry(
                    kind: .official, model: "live-test-model",
                    price: ModelPrice(input: 1_000_000, cachedInput: 100_000, output: 2_000_000),
                    effectiveFromMicros: from, source: "test")
            ], nowMicros: from)
        let seen = try await eventually {
            book.price(model: "live-test-model", kind: .official, atMicros: from)
                == ModelPrice(input: 1_000_000, cachedInput: 100_000, output: 2_000_000)
        }
        #expect(seen)
        #expect(book.bookLoads == 2)
    }
}
