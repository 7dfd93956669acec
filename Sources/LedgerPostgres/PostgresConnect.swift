import Logging
package import PostgresNIO

extension PostgresSettings {
    /// The postgres-nio connection configuration (plain TCP: the ledger server is on a private network or
    /// 127.0.0.1; TLS is future work).
    var connectionConfiguration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        // Durable commits whatever the server's default: a row is on disk before its call is acknowledged.
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        return configuration
    }

    /// The pool configuration for the same server.
    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        configuration.options.maximumConnections = 8
        return configuration
    }

    /// The ledger writers' pool: up to `connections` connections, and generic plans for prepared statements
    /// (the batch statement has one shape for every batch size, so planning it again per batch would only cost).
    func writerClientConfiguration(connections: Int) -> PostgresClient.Configuration {
        var configuration = clientConfiguration
        configuration.options.additionalStartupParameters = [
            ("synchronous_commit", "on"), ("plan_cache_mode", "force_generic_plan"),
        ]
        configuration.options.maximumConnections = connections
        return configuration
    }

    /// One connection, or `PostgresLedgerError.connect` naming host:port and the cause in one line.
    package func connect(logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: connectionConfiguration, id: 1, logger: logger)
        } catch {
            throw PostgresLedgerError.connect(address: address, cause: Self.cause(of: error))
        }
    }

    /// Runs `body` on a fresh connection, closed afterwards.
    package func withConnection<T: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(logger: logger)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A one-line cause for a connection or query error, never containing the password.
    package static func cause(of error: any Error) -> String {
        if let error = error as? PostgresLedgerError { return error.description }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = error.underlying { return oneLine(String(describing: underlying)) }
            return oneLine(error.code.description)
        }
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.commitError ?? error.beginError { return cause(of: inner) }
        }
        return oneLine(String(describing: error))
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
