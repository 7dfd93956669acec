/// What can go wrong with a PostgreSQL ledger; every description is one line a CLI can print as is, and none
/// contains a password.
package enum PostgresLedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bad `postgres://` URL or `.pgpass` setting.
    case settings(String)
    /// The server could not be reached or refused the login: `address` is host:port.
    case connect(address: String, cause: String)
    /// The database's schema is not one this build can use (newer, or not a ledger); nothing was changed.
    case schema(String)
    /// A query failed.
    case query(String)

    package var description: String {
        switch self {
        case .settings(let message): "PostgreSQL settings: \(message)"
        case .connect(let address, let cause): "cannot connect to PostgreSQL at \(address): \(cause)"
        case .schema(let message): "PostgreSQL ledger schema: \(message)"
        case .query(let message): "PostgreSQL: \(message)"
        }
    }
}
