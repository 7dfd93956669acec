import Foundation
import GRDB
package import LedgerCore

/// Client keys in the `api_key` table: create, list, revoke, verify.
///
/// A secret is `hsl-` followed by 48 hex digits (24 random bytes from the system's CSPRNG). Its first 12 characters
/// (`hsl-` + 8 hex digits) are stored as `lookup_prefix` to find the row; the secret itself is never stored, only
/// SHA-256(salt ‖ secret) with a fresh 16-byte salt, compared in constant time.
///
/// Verification reads the table on every call (one indexed lookup and one hash), with no cache, so a `keys revoke`
/// from any process takes effect on the very next request; the proxy does it through `KeyVerifier`.
package struct KeyStore: ClientKeyVerifier {
    package let database: LedgerDatabase

    package init(database: LedgerDatabase) { self.database = database }

    /// A key as `keys list` shows it: never the secret.
    package struct Key: Sendable, Hashable {
        package var id: Int64
        package var name: String
        package var team: String?
        package var lookupPrefix: String
        package var createdAtMicros: Int64
        package var revokedAtMicros: Int64?
        /// May read reports over HTTP (`serve`: GET /reports).
        package var isAdmin: Bool = false

        package init(
            id: Int64, name: String, team: String?, lookupPrefix: String, createdAtMicros: Int64,
            revokedAtMicros: Int64?, isAdmin: Bool = false
        ) {
            self.id = id
            self.name = name
            self.team = team
            self.lookupPrefix = lookupPrefix
            self.createdAtMicros = createdAtMicros
            self.revokedAtMicros = revokedAtMicros
            self.isAdmin = isAdmin
        }
    }

    /// The name and team a key is stored with (trimmed; an empty team is none); refuses an empty name.
    package static func normalized(name: String, team: String?) throws -> (name: String, team: String?) {
        let name = name.trimmingSpaces
        guard !name.isEmpty else { throw LedgerStoreError.invalid("a key needs a non-empty --name") }
        return (name, team.map(\.trimmingSpaces).flatMap { $0.isEmpty ? nil : $0 })
    }

    /// A fresh secret, its lookup prefix, a fresh salt and SHA-256(salt ‖ secret): what a store keeps of a key.
    package static func draw(using rng: inout some RandomNumberGenerator) -> (
        secret: String, prefix: String, salt: [UInt8], digest: [UInt8]
    ) {
        let secret = secretPrefix + SHA256.hex((0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return (secret, String(secret.prefix(lookupLength)), salt, SHA256.hash(salt + Array(secret.utf8)))
    }

    static let secretPrefix = "hsl-"
    static let lookupLength = 12

    /// Creates a key and returns it with its secret, which exists only in this return value.
    package func create(name: String, team: String?, nowMicros: Int64, admin: Bool = false) throws -> (
        key: Key, secret: String
    ) {
        var rng = SystemRandomNumberGenerator()
        return try create(name: name, team: team, nowMicros: nowMicros, admin: admin, using: &rng)
    }

    /// `create(name:team:nowMicros:)` with an injected random source (tests).
    package func create(
        name: String, team: String?, nowMicros: Int64, admin: Bool = false,
        using rng: inout some RandomNumberGenerator
    ) throws -> (key: Key, secret: String) {
        let (name, team) = try Self.normalized(name: name, team: team)
        do {
            return try database.writer.write { db in
                // A 32-bit lookup prefix can collide; draw again rather than fail.
                for _ in 0..<8 {
                    let (secret, prefix, salt, digest) = Self.draw(using: &rng)
                    let taken = try Bool.fetchOne(
                        db, sql: "SELECT EXISTS (SELECT 1 FROM api_key WHERE lookup_prefix = ?)", arguments: [prefix])
                    if taken == true { continue }
                    try db.execute(
                        sql: """
                            INSERT INTO api_key (name, team, lookup_prefix, salt, secret_sha256, created_at_us, is_admin)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """, arguments: [name, team, prefix, Data(salt), Data(digest), nowMicros, admin])
                    let key = Key(
                        id: db.lastInsertedRowID, name: name, team: team, lookupPrefix: prefix,
                        createdAtMicros: nowMicros, revokedAtMicros: nil, isAdmin: admin)
                    return (key, secret)
                }
                throw LedgerStoreError.invalid("could not draw an unused key prefix")
            }
        } catch let error as DatabaseError {
            throw LedgerStoreError.database(error.message ?? "\(error.resultCode)")
        }
    }

    /// Every key, oldest first, without secrets.
    package func list() throws -> [Key] {
        try database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, name, team, lookup_prefix, created_at_us, revoked_at_us, is_admin FROM api_key ORDER BY id
                    """
            ).map {
                Key(
                    id: $0[0], name: $0[1], team: $0[2], lookupPrefix: $0[3], createdAtMicros: $0[4],
                    revokedAtMicros: $0[5], isAdmin: $0[6])
            }
        }
    }

    /// Revokes a key from `nowMicros`: it fails verification from the next request on.
    package func revoke(id: Int64, nowMicros: Int64) throws {
        try database.writer.write { db in
            guard
                let revoked = try Row.fetchOne(
                    db, sql: "SELECT revoked_at_us FROM api_key WHERE id = ?", arguments: [id])
            else { throw LedgerStoreError.keyNotFound(id: id) }
            guard (revoked[0] as Int64?) == nil else { throw LedgerStoreError.keyAlreadyRevoked(id: id) }
            try db.execute(sql: "UPDATE api_key SET revoked_at_us = ? WHERE id = ?", arguments: [nowMicros, id])
        }
    }

    /// The identity of a valid, unrevoked secret; nil otherwise (unknown, revoked, malformed, or a database error).
    /// The proxy verifies through `KeyVerifier` (the same check on its own connection, without GRDB's pool).
    package func verify(secret: String) async -> ClientIdentity? {
        guard let prefix = Self.lookupPrefix(of: secret) else { return nil }
        let row = try? database.writer.read { db in
            try Row.fetchOne(db.cachedStatement(sql: Self.lookupSQL), arguments: [prefix])
        }
        guard let row = row ?? nil else { return nil }
        return Self.identity(secret: secret, salt: [UInt8](row[3] as Data), digest: [UInt8](row[4] as Data)) {
            ClientIdentity(keyID: row[0], name: row[1], team: row[2])
        }
    }

    /// Whether `secret` is an unrevoked admin key: nil when it is no valid key at all, false for a client key.
    package func isAdmin(secret: String) async -> Bool? {
        guard let prefix = Self.lookupPrefix(of: secret) else { return nil }
        let row = try? database.writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT salt, secret_sha256, is_admin FROM api_key
                    WHERE lookup_prefix = ? AND revoked_at_us IS NULL
                    """, arguments: [prefix])
        }
        guard let row = row ?? nil else { return nil }
        let ok = SHA256.constantTimeEqual(
            SHA256.hash([UInt8](row[0] as Data) + Array(secret.utf8)), [UInt8](row[1] as Data))
        return ok ? (row[2] as Bool) : nil
    }

    /// The unrevoked key with a lookup prefix: id, name, team, salt, digest (one bound parameter).
    static let lookupSQL = """
        SELECT id, name, team, salt, secret_sha256 FROM api_key
        WHERE lookup_prefix = ? AND revoked_at_us IS NULL
        """

    /// The lookup prefix of a well-formed secret (`hsl-`, between the prefix's length and 256 bytes), else nil.
    static func lookupPrefix(of secret: String) -> String? {
        guard secret.hasPrefix(secretPrefix), secret.utf8.count >= lookupLength, secret.utf8.count <= 256 else {
            return nil
        }
        return String(secret.prefix(lookupLength))
    }

    /// `identity()` when SHA-256(salt ‖ secret) equals the stored digest (compared in constant time), else nil.
    static func identity(
        secret: String, salt: [UInt8], digest: [UInt8], _ identity: () -> ClientIdentity
    ) -> ClientIdentity? {
        SHA256.constantTimeEqual(SHA256.hash(salt + Array(secret.utf8)), digest) ? identity() : nil
    }
}
