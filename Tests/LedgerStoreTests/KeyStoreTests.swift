import Foundation
import GRDB
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Testing

@Suite struct KeyStoreTests {
    @Test func aCreatedSecretVerifiesAsItsKey() async throws {
        let keys = KeyStore(database: try LedgerDatabase(DatabaseQueue()))
        let (key, secret) = try keys.create(name: "alice", team: "research", nowMicros: 5)
        #expect(secret.hasPrefix("hsl-"))
        #expect(secret.count == 52)
        #expect(key.lookupPrefix == String(secret.prefix(12)))
        let identity = await keys.verify(secret: secret)
        #expect(identity == ClientIdentity(keyID: key.id, name: "alice", team: "research"))
    }

    @Test func wrongOrMalformedSecretsAreRefused() async throws {
        let keys = KeyStore(database: try LedgerDatabase(DatabaseQueue()))
        let (_, secret) = try keys.create(name: "alice", team: nil, nowMicros: 5)
        // Same lookup prefix, different tail: found by prefix, refused by the hash.
        var tampered = Array(secret)
        tampered[tampered.count - 1] = tampered.last == "0" ? "1" : "0"
        #expect(await keys.verify(secret: String(tampered)) == nil)
        #expect(await keys.verify(secret: secret + "0") == nil)
        #expect(await keys.verify(secret: "") == nil)
        #expect(await keys.verify(secret: "sk-" + secret.dropFirst(4)) == nil)
        #expect(await keys.verify(secret: String(secret.prefix(12))) == nil)
    }

    @Test func theSecretIsNeverStoredOnlyItsSaltedHash() throws {
        let database = try LedgerDatabase(DatabaseQueue())
        let keys = KeyStore(database: database)
        let (_, a) = try keys.create(name: "alice", team: nil, nowMicros: 5)
        let (_, b) = try keys.create(name: "bob", team: nil, nowMicros: 6)
        #expect(a != b)
        let rows = try database.writer.read { try Row.fetchAll($0, sql: "SELECT * FROM api_key") }
        for row in rows {
            for column in row.columnNames {
                let value = row[column] as DatabaseValue
                if let text = String.fromDatabaseValue(value) {
                    #expect(!text.contains(a.suffix(40)) && !text.contains(b.suffix(40)), "\(column)")
                }
            }
            #expect((row["salt"] as Data).count == 16)
            #expect((row["secret_sha256"] as Data).count == 32)
        }
        #expect(rows[0]["salt"] as Data != rows[1]["salt"] as Data)
    }

    @Test func aRevokedKeyNoLongerVerifiesOnTheNextCall() async throws {
        let keys = KeyStore(database: try LedgerDatabase(DatabaseQueue()))
        let (key, secret) = try keys.create(name: "alice", team: "research", nowMicros: 5)
        #expect(await keys.verify(secret: secret) != nil)
        try keys.revoke(id: key.id, nowMicros: 9)
        #expect(await keys.verify(secret: secret) == nil)
        #expect(try keys.list().first?.revokedAtMicros == 9)
        #expect(throws: LedgerStoreError.keyAlreadyRevoked(id: key.id)) { try keys.revoke(id: key.id, nowMicros: 10) }
        #expect(throws: LedgerStoreError.keyNotFound(id: 999)) { try keys.revoke(id: 999, nowMicros: 10) }
    }

    @Test func aRevokeFromAnotherConnectionTakesEffectImmediately() async throws {
        let temp = TemporaryLedgerPath("keys")
        defer { temp.remove() }
        let server = KeyStore(database: try LedgerDatabase(path: temp.path))
        let cli = KeyStore(database: try LedgerDatabase(path: temp.path))
        let (key, secret) = try cli.create(name: "alice", team: nil, nowMicros: 5)
        #expect(await server.verify(secret: secret)?.keyID == key.id)
        try cli.revoke(id: key.id, nowMicros: 6)
        #expect(await server.verify(secret: secret) == nil)
    }

    @Test func listShowsKeysWithoutSecretsAndRejectsEmptyNames() throws {
        let keys = KeyStore(database: try LedgerDatabase(DatabaseQueue()))
        _ = try keys.create(name: " alice ", team: "", nowMicros: 5)
        let listed = try keys.list()
        #expect(listed.map(\.name) == ["alice"])
        #expect(listed[0].team == nil)
        #expect(throws: LedgerStoreError.invalid("a key needs a non-empty --name")) {
            try keys.create(name: "  ", team: nil, nowMicros: 5)
        }
    }
}

/// The proxy's verifier: the same check on its own read-only connection to the ledger file.
@Suite struct KeyVerifierTests {
    @Test func verifiesLikeKeyStoreOnAFileAndSeesARevokeFromAnotherConnectionAtOnce() async throws {
        let temp = TemporaryLedgerPath("verifier")
        defer { temp.remove() }
        let keys = KeyStore(database: try LedgerDatabase(path: temp.path))
        let (alice, aliceSecret) = try keys.create(name: "alice", team: "research", nowMicros: 5)
        let verifier = try KeyVerifier(database: try LedgerDatabase(path: temp.path))
        #expect(await verifier.verify(secret: aliceSecret) == ClientIdentity(keyID: alice.id, name: "alice", team: "research"))
        // A key created after the verifier opened is found on its first use (no cache to go stale).
        let (bob, bobSecret) = try keys.create(name: "bob", team: nil, nowMicros: 6)
        #expect(await verifier.verify(secret: bobSecret) == ClientIdentity(keyID: bob.id, name: "bob", team: nil))
        var tampered = Array(aliceSecret)
        tampered[tampered.count - 1] = tampered.last == "0" ? "1" : "0"
        #expect(await verifier.verify(secret: String(tampered)) == nil)
        #expect(await verifier.verify(secret: aliceSecret + "0") == nil)
        #expect(await verifier.verify(secret: "sk-" + aliceSecret.dropFirst(4)) == nil)
        #expect(await verifier.verify(secret: "") == nil)
        // Remembered after its first match: still verified, still refused once tampered.
        #expect(await verifier.verify(secret: aliceSecret)?.keyID == alice.id)
        #expect(await verifier.verify(secret: String(tampered)) == nil)
        // Revoked through another connection (as `keys revoke` from another process): refused on the next call.
        try keys.revoke(id: alice.id, nowMicros: 7)
        #expect(await verifier.verify(secret: aliceSecret) == nil)
        #expect(await verifier.verify(secret: bobSecret) != nil)
    }

    @Test func concurrentVerificationsAllSucceed() async throws {
        let temp = TemporaryLedgerPath("verifier-concurrent")
        defer { temp.remove() }
        let keys = KeyStore(database: try LedgerDatabase(path: temp.path))
        let created = try (0..<8).map { try keys.create(name: "k\($0)", team: nil, nowMicros: 1) }
        let verifier = try KeyVerifier(database: try LedgerDatabase(path: temp.path))
        let verified = await withTaskGroup(of: Int64?.self) { group in
            for i in 0..<400 {
                let (key, secret) = created[i % created.count]
                group.addTask { await verifier.verify(secret: secret)?.keyID == key.id ? key.id : nil }
            }
            return await group.reduce(into: 0) { $0 += $1 == nil ? 0 : 1 }
        }
        #expect(verified == 400)
    }

    @Test func anInMemoryLedgerIsVerifiedThroughKeyStore() async throws {
        let database = try LedgerDatabase(DatabaseQueue())
        let (key, secret) = try KeyStore(database: database).create(name: "alice", team: nil, nowMicros: 5)
        let verifier = try KeyVerifier(database: database)
        #expect(await verifier.verify(secret: secret)?.keyID == key.id)
        #expect(await verifier.verify(secret: secret + "0") == nil)
    }
}
