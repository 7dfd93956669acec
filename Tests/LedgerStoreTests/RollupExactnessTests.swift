import GRDB
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Logging
import ServiceLifecycle
import Testing

/// `call_rollup` (migrations/0003) is maintained by `CallRecord.insert` per transaction, not by a trigger. These tests
/// compare the whole table with a GROUP BY over `call`, written here independently of the migration's backfill.
@Suite(.timeLimit(.minutes(1))) struct RollupExactnessTests {
    static let groupBy = """
        SELECT (started_at_us - ((started_at_us % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d,
               month, ifnull(model, ''), ifnull(provider, ''), ifnull(provider_kind, ''), ifnull(team, ''),
               ifnull(key_id, 0), ifnull(tags, ''), price_status, ifnull(official_price_id, 0),
               ifnull(holysheep_price_id, 0), count(*), total(status != 'ok'), total(fallback_used),
               total(ifnull(prompt_tokens, 0)), total(ifnull(cached_prompt_tokens, 0)),
               total(ifnull(completion_tokens, 0)), total(latency_us), total(ifnull(cache_write_5m_tokens, 0)),
               total(ifnull(cache_write_1h_tokens, 0)), total(ifnull(audio_prompt_tokens, 0)),
               total(ifnull(audio_completion_tokens, 0))
        FROM call GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
        """
    static let rollup = """
        SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
               holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
               completion_tokens, latency_us, cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
               audio_completion_tokens
        FROM call_rollup ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
        """

    /// Fails with the first differing row rather than both whole tables.
    static func expectEqual(
        _ actual: [[String]], _ expected: [[String]], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        let mismatch = zip(actual, expected).first { $0 != $1 }
        #expect(mismatch == nil, sourceLocation: sourceLocation)
    }

    /// Both sides as text rows (`total()` is a REAL; exact for these sums, far below 2^53).
    static func compare(_ ledger: LedgerDatabase) throws -> (expected: [[String]], actual: [[String]]) {
        try ledger.writer.read { db in
            func rows(_ sql: String) throws -> [[String]] {
                try Row.fetchAll(db, sql: sql).map { row in
                    row.databaseValues.map { value in
                        if case .double(let d) = value.storage { return String(Int64(d)) }
                        return value.description
                    }
                }
            }
            return (try rows(groupBy), try rows(rollup))
        }
    }

    /// A small deterministic generator (SplitMix64), so a failure reproduces.
    struct Random {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    /// Calls that vary every rollup key column, NULLs included: days on both sides of a month boundary, an
    /// unpriced model and calls without a model, failures without usage, fallbacks, teams, keys and tags.
    static func event(id: Int64, random: inout Random) -> UsageEvent {
        let models: [String?] = ["gpt-4.1", "deepseek-v3.2", "claude-sonnet-4.5", "not-a-priced-model", nil]
        let kinds: [ProviderKind?] = [.holysheep, .holysheep, .official, nil]
        let kind = kinds[random.next(kinds.count)]
        let failed = random.next(10) == 0
        // 2026-10-30 .. 2026-11-02, at any microsecond.
        let start = UTCDate.days(year: 2026, month: 10, day: 30) * UTCDate.microsPerDay
            + Int64(random.next(4 * 86_400)) * 1_000_000 + Int64(random.next(1_000_000))
        let prompt = Int64(random.next(50_000))
        return UsageEvent(
            id: id, startedAtMicros: start, finishedAtMicros: start + 1000, endpoint: "/v1/chat/completions",
            model: models[random.next(models.count)], provider: kind?.rawValue, providerKind: kind,
            status: failed ? .upstreamError : .ok, fallbackUsed: kind == .official,
            usage: failed
                ? nil
                : {
                    // Cache reads, 5-minute writes and audio input share the prompt without exceeding it.
                    let cached = Int64(random.next(Int(prompt) + 1))
                    let write = Int64(random.next(Int(prompt - cached) + 1))
                    let audio = Int64(random.next(Int(prompt - cached - write) + 1))
                    let completion = Int64(random.next(9_000))
                    return TokenUsage(
                        promptTokens: prompt, cachedPromptTokens: cached, completionTokens: completion,
                        cacheWrite5mTokens: write, audioPromptTokens: audio,
                        audioCompletionTokens: Int64(random.next(Int(completion) + 1)))
                }(),
            latencyMicros: Int64(random.next(3_000_000)), keyID: [nil, 1, 2][random.next(3)],
            team: [nil, "search", "support", "ทีมไทย"][random.next(4)],
            tags: [nil, "project=atlas", "project=helpdesk,env=prod"][random.next(3)])
    }

    @Test func rollupEqualsGroupByAfterConcurrentWriterBatches() async throws {
        let temp = TemporaryLedgerPath("rollup")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        // Calls recorded before the writer starts go through LedgerDatabase.insert, the other insert path.
        var seed = Random(state: 42)
        try ledger.insert((1...50).map { Self.event(id: $0, random: &seed) })
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [writer], logger: Logger(label: "test"))
        let failures = try await withThrowingTaskGroup(of: Int.self) { tasks in
            tasks.addTask {
                try await group.run()
                return 0
            }
            let failures = try await withThrowingTaskGroup(of: Int.self) { producers in
                for producer in 0..<12 {
                    producers.addTask {
                        var random = Random(state: UInt64(producer) &* 7919 &+ 1)
                        var failures = 0
                        for n in 0..<120 {
                            // Now and then a duplicate id: its batch rolls back (rollup upserts included) and is
                            // retried row by row, so only that call fails.
                            let id = n % 40 == 39 ? Int64(1 + random.next(50)) : writer.reserveCallID()
                            do { try await writer.record(Self.event(id: id, random: &random)) } catch { failures += 1 }
                        }
                        return failures
                    }
                }
                return try await producers.reduce(0, +)
            }
            await group.triggerGracefulShutdown()
            return try await tasks.reduce(failures, +)
        }
        #expect(failures == 12 * 3)
        let calls = try await ledger.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM call") ?? 0 }
        #expect(calls == 50 + 12 * 117)
        #expect(writer.statistics.commits < writer.statistics.rows)  // batches of more than one row happened
        let (expected, actual) = try Self.compare(ledger)
        #expect(expected.count > 100)
        Self.expectEqual(actual, expected)

        // The rare paths (triggers): a correction moves a call to another key, a deletion removes one.
        try await ledger.writer.write { db in
            try db.execute(sql: "UPDATE call SET team = 'moved', prompt_tokens = prompt_tokens + 7 WHERE id = 3")
            try db.execute(sql: "DELETE FROM call WHERE id IN (4, 60, 61)")
        }
        let (expectedAfter, actualAfter) = try Self.compare(ledger)
        #expect(expectedAfter != expected)
        Self.expectEqual(actualAfter, expectedAfter)
    }

    @Test func aFailedBatchLeavesNoRollupBehind() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        var random = Random(state: 7)
        try ledger.insert([Self.event(id: 1, random: &random)])
        let before = try Self.compare(ledger).actual
        // The second row repeats id 1: the whole transaction fails, the first row's rollup upsert with it.
        #expect(throws: (any Error).self) {
            try ledger.insert([Self.event(id: 2, random: &random), Self.event(id: 1, random: &random)])
        }
        let after = try Self.compare(ledger)
        #expect(after.actual == before)
        Self.expectEqual(after.actual, after.expected)
    }
}
