import Foundation
import LedgerCore
import LedgerPostgres
import Logging
import PostgresNIO
import Testing

@Suite struct PostgresLedgerTests {
    /// A priced call with tokens that vary by `n`, so sums catch a lost or doubled row.
    static func event(id: Int64, n: Int, team: String) -> UsageEvent {
        let start: Int64 = 1_793_000_000_000_000 + Int64(n) * 1_000_003
        return UsageEvent(
            id: id, startedAtMicros: start, finishedAtMicros: start + 5_000, endpoint: "/v1/chat/completions",
            requestedModel: "gpt-4.1", model: n % 3 == 0 ? "deepseek-v3.2" : "gpt-4.1", provider: "holysheep",
            providerKind: n % 5 == 0 ? .official : .holysheep, status: n % 7 == 0 ? .upstreamError : .ok,
            fallbackUsed: n % 5 == 0,
            usage: n % 11 == 0 ? nil : TokenUsage(promptTokens: Int64(100 + n), cachedPromptTokens: Int64(n % 50), completionTokens: Int64(7 * n + 1)),
            latencyMicros: Int64(1_000 + n), team: team)
    }

    @Test func concurrentRecordsFromTwoReplicasAreAllCommittedOnceWithUniqueIDs() async throws {
        let settings = try await migratedDatabase()
        let a = try await PostgresLedger.open(settings, logger: testLogger)
        let b = try await PostgresLedger.open(settings, logger: testLogger)
        let perReplica = 300
        let ids = try await whileRunning(a) {
            try await whileRunning(b) {
                try await withThrowingTaskGroup(of: (Int64, Int).self) { group in
                    for n in 0..<(2 * perReplica) {
                        let ledger = n % 2 == 0 ? a : b
                        group.addTask {
                            let id = ledger.reserveCallID()
                            try await ledger.record(Self.event(id: id, n: n, team: n % 2 == 0 ? "a" : "b"))
                            return (id, n)
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }
        }
        // Every reserved id distinct across the two instances, and each recorded call in the table exactly once.
        #expect(ids.count == 2 * perReplica)
        #expect(try await scalar(settings, "SELECT count(*) FROM call") == Int64(2 * perReplica))
        #expect(try await scalar(settings, "SELECT count(DISTINCT id) FROM call") == Int64(2 * perReplica))
        #expect(try await scalar(settings, "SELECT coalesce(sum(calls), 0)::bigint FROM call_rollup") == Int64(2 * perReplica))
        #expect(a.batchStats.rows == perReplica)
        #expect(b.batchStats.rows == perReplica)
        // The two instances took different id blocks.
        let blocks = try await scalar(settings, "SELECT count(DISTINCT id >> 32) FROM call")
        #expect(blocks == 2)

        // Costs as the ledger's own CostCalculator gives them with the default price book (migration 0002).
        var expectedPaid: Int128 = 0
        var expectedPrompt: Int64 = 0
        for n in 0..<(2 * perReplica) {
            let e = Self.event(id: 0, n: n, team: "")
            guard let usage = e.usage, let model = e.model else { continue }
            expectedPrompt += usage.promptTokens
            let kind: ProviderKind = e.providerKind == .official ? .official : .holysheep
            let price = try #require(a.price(model: model, kind: kind, atMicros: e.startedAtMicros))
            expectedPaid += try CostCalculator.cost(for: usage, price: price).picoUSD
        }
        let paid = try await scalar(settings, "SELECT sum(cost_paid_pusd)::bigint FROM call")
        #expect(Int128(paid) == expectedPaid)
        #expect(try await scalar(settings, "SELECT sum(prompt_tokens)::bigint FROM call_rollup") == expectedPrompt)
        #expect(try await scalar(settings, "SELECT count(*) FROM call WHERE price_status = 'no_usage'") == Int64((0..<600).filter { $0 % 11 == 0 }.count))
        #expect(try await scalar(settings, "SELECT sum(failed_calls)::bigint FROM call_rollup") == Int64((0..<600).filter { $0 % 7 == 0 }.count))
    }

    @Test func firstReplicaNumbersFromOneAndRecordAfterStopFails() async throws {
        let settings = try await migratedDatabase()
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        #expect(ledger.reserveCallID() == 1)
        #expect(ledger.reserveCallID() == 2)
        let second = try await PostgresLedger.open(settings, logger: testLogger)
        #expect(second.reserveCallID() == 2 << 32)
        try await whileRunning(ledger) {
            try await ledger.record(Self.event(id: 2, n: 1, team: "x"))
        }
        #expect(try await scalar(settings, "SELECT count(*) FROM call WHERE id = 2") == 1)
        await #expect(throws: PostgresLedgerError.self) { try await ledger.record(Self.event(id: 3, n: 2, team: "x")) }
        #expect(try await scalar(settings, "SELECT count(*) FROM call") == 1)
    }

    @Test func aReplayedIDCountsOnceAndABadRowFailsOnlyItsOwnCall() async throws {
        let settings = try await migratedDatabase()
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        let outcomes = try await whileRunning(ledger) {
            let id = ledger.reserveCallID()
            try await ledger.record(Self.event(id: id, n: 1, team: "t"))
            // The same call again (what a retried batch whose first commit landed does): no second row, no second count.
            try await ledger.record(Self.event(id: id, n: 1, team: "t"))
            // 20 good calls and one the server refuses (attempts beyond `integer`), queued together.
            return await withTaskGroup(of: Bool.self) { group in
                for n in 0..<21 {
                    group.addTask {
                        var event = Self.event(id: ledger.reserveCallID(), n: n + 2, team: "t")
                        if n == 10 { event.attempts = Int(Int32.max) + 1 }
                        do {
                            try await ledger.record(event)
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
        }
        #expect(outcomes.filter { $0 }.count == 20)
        #expect(try await scalar(settings, "SELECT count(*) FROM call") == 21)
        #expect(try await scalar(settings, "SELECT sum(calls)::bigint FROM call_rollup") == 21)
        #expect(try await scalar(settings, "SELECT count(*) FROM call WHERE attempts > 1000") == 0)
    }

    @Test func keyVerifySeesARevokeOnTheNextRequest() async throws {
        let settings = try await migratedDatabase()
        let secret = "hsl-0123abcd" + String(repeating: "e5", count: 20)
        let salt: [UInt8] = (0..<16).map { UInt8($0 * 7 + 3) }
        let digest = SHA256.hash(salt + Array(secret.utf8))
        try await execute(
            settings,
            """
            INSERT INTO api_key (name, team, lookup_prefix, salt, secret_sha256, created_at_us)
            VALUES ('ci', 'platform', \(String(secret.prefix(12))), \(ByteBuffer(bytes: salt)), \(ByteBuffer(bytes: digest)), 1)
            """)
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        try await whileRunning(ledger) {
            let identity = await ledger.verify(secret: secret)
            #expect(identity?.name == "ci")
            #expect(identity?.team == "platform")
            #expect(await ledger.verify(secret: String(secret.dropLast()) + "f") == nil)
            #expect(await ledger.verify(secret: "hsl-0123") == nil)
            #expect(await ledger.verify(secret: "sk-nothing") == nil)
            try await execute(settings, "UPDATE api_key SET revoked_at_us = 2 WHERE name = 'ci'")
            #expect(await ledger.verify(secret: secret) == nil)
        }
    }

    @Test func priceLookupFollowsThePriceTable() async throws {
        let settings = try await migratedDatabase()
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        let later: Int64 = 1_800_000_000_000_000
        #expect(ledger.price(model: "gpt-4.1", kind: .official, atMicros: later) == ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000))
        #expect(ledger.price(model: "no-such-model", kind: .official, atMicros: later) == nil)
        try await execute(
            settings,
            """
            INSERT INTO price (provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok,
                               output_musd_per_mtok, effective_from_us, source, created_at_us)
            VALUES ('official', 'gpt-4.1', 1000000, 250000, 4000000, \(later), 'test', 1)
            """)
        try await whileRunning(ledger) {
            try await ledger.refreshPrices()
        }
        #expect(ledger.price(model: "gpt-4.1", kind: .official, atMicros: later) == ModelPrice(input: 1_000_000, cachedInput: 250_000, output: 4_000_000))
        #expect(ledger.price(model: "gpt-4.1", kind: .official, atMicros: later - 1) == ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000))
    }

    /// Rollup rows whose per-key sums differ from the sums of `call` itself (migrations/postgres/0008: a key's rollup
    /// is the sum of its total and pending rows).
    static let rollupMismatches = """
        WITH r AS (
            SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                   holysheep_price_id, sum(calls) AS c, sum(failed_calls) AS f, sum(fallback_calls) AS b,
                   sum(prompt_tokens) AS p, sum(cached_prompt_tokens) AS k, sum(completion_tokens) AS o,
                   sum(latency_us) AS l
            FROM call_rollup GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 HAVING sum(calls) <> 0),
        c AS (
            SELECT floor(started_at_us / 86400000000.0)::bigint, month, coalesce(model, ''), coalesce(provider, ''),
                   coalesce(provider_kind, ''), coalesce(team, ''), coalesce(key_id, 0), coalesce(tags, ''),
                   price_status, coalesce(official_price_id, 0), coalesce(holysheep_price_id, 0),
                   count(*)::numeric, (count(*) FILTER (WHERE status <> 'ok'))::numeric, sum(fallback_used)::numeric,
                   coalesce(sum(prompt_tokens), 0)::numeric, coalesce(sum(cached_prompt_tokens), 0)::numeric,
                   coalesce(sum(completion_tokens), 0)::numeric, sum(latency_us)::numeric
            FROM call GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
        SELECT (SELECT count(*) FROM (SELECT * FROM r EXCEPT SELECT * FROM c) AS x)
             + (SELECT count(*) FROM (SELECT * FROM c EXCEPT SELECT * FROM r) AS y)
        """

    /// Folds until a fold of this caller's ran (-1: the ledger's own periodic fold held the lock), so every pending
    /// row committed before the call is folded when it returns.
    static func foldEverything(_ ledger: PostgresLedger) async throws {
        while try await ledger.foldRollup() < 0 { await Task.yield() }
    }

    @Test func pendingRollupRowsAreExactBeforeAndAfterTheFoldAndCorrectionsFoldAway() async throws {
        let settings = try await migratedDatabase()
        let ledger = try await PostgresLedger.open(settings, logger: testLogger, writers: 3)
        try await whileRunning(ledger) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<240 {
                    group.addTask {
                        try await ledger.record(Self.event(id: ledger.reserveCallID(), n: n, team: "t\(n % 4)"))
                    }
                }
                try await group.waitForAll()
            }
            // Read right after the calls, folded or not: every acknowledged call counted once.
            #expect(try await scalar(settings, Self.rollupMismatches) == 0)
            try await Self.foldEverything(ledger)
            #expect(try await scalar(settings, "SELECT count(*) FROM call_rollup WHERE pending = 1") == 0)
            let keys = try await scalar(
                settings,
                """
                SELECT count(*) FROM (SELECT DISTINCT day, model, provider, provider_kind, team, key_id, tags,
                    price_status, official_price_id, holysheep_price_id FROM call_rollup) AS k
                """)
            #expect(try await scalar(settings, "SELECT count(*) FROM call_rollup") == keys)
            #expect(try await scalar(settings, Self.rollupMismatches) == 0)

            // Corrections by hand (the ledger never makes them): pending rows of minus the deleted sums, and a
            // moved call, exact before the fold; the fold drops the totals left with no call.
            try await execute(settings, "DELETE FROM call WHERE team = 't1' OR id % 7 = 0")
            try await execute(settings, "UPDATE call SET team = 'moved' WHERE id % 5 = 0")
            #expect(try await scalar(settings, Self.rollupMismatches) == 0)
            try await Self.foldEverything(ledger)
            #expect(try await scalar(settings, "SELECT count(*) FROM call_rollup WHERE pending = 1 OR calls = 0") == 0)
            #expect(try await scalar(settings, "SELECT count(*) FROM call_rollup WHERE team = 't1'") == 0)
            #expect(try await scalar(settings, Self.rollupMismatches) == 0)
        }
        #expect(try await scalar(settings, "SELECT sum(calls)::bigint FROM call_rollup") == (try await scalar(settings, "SELECT count(*) FROM call")))

        // What the dropped price foreign keys refused is still refused: a price row recorded calls name.
        await #expect(throws: (any Error).self) {
            try await execute(settings, "DELETE FROM price WHERE id = (SELECT holysheep_price_id FROM call WHERE holysheep_price_id IS NOT NULL LIMIT 1)")
        }
        await #expect(throws: (any Error).self) { try await execute(settings, "TRUNCATE price") }
        // An unused row can go, as before.
        try await execute(settings, "DELETE FROM price WHERE model = 'text-embedding-3-large'")
    }
}
