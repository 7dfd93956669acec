package import LedgerCore

/// Client keys in the `api_key` table: create, list, revoke, verify.
///
/// INTERIM: verification always fails. The store work implements salted SHA-256 and constant-time comparison
/// behind this API.
package struct KeyStore: ClientKeyVerifier {
    package let database: LedgerDatabase

    package init(database: LedgerDatabase) { self.database = database }

    package func verify(secret: String) async -> ClientIdentity? { nil }
}
