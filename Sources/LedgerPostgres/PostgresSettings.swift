import Foundation

/// Where a PostgreSQL ledger lives: parsed from `postgres://USER:PASSWORD@HOST:PORT/DB` (or `postgresql://`), with
/// the password from the URL, else `PGPASSWORD`, else a `.pgpass` file (`PGPASSFILE`, else `~/.pgpass`).
///
/// The password never appears in `description` or any error: print and log a settings value freely.
package struct PostgresSettings: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var user: String
    package var database: String
    package var password: String?

    package init(host: String, port: Int = 5432, user: String, database: String, password: String?) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
    }

    /// True for a `--db` value this store handles (`postgres://` or `postgresql://`).
    package static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    /// Parses `url`, taking a missing password from `PGPASSWORD`, then the `.pgpass` file, in `environment` (the
    /// process environment when nil).
    /// - Throws: `PostgresLedgerError.settings` naming what is wrong (never echoing the password).
    package init(url: String, environment: [String: String]? = nil) throws {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw PostgresLedgerError.settings("not a postgres://USER:PASSWORD@HOST:PORT/DB URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresLedgerError.settings("the PostgreSQL URL has no host")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? ""
        guard !user.isEmpty else { throw PostgresLedgerError.settings("the PostgreSQL URL has no user") }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        let database = path.removingPercentEncoding ?? path
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresLedgerError.settings("the PostgreSQL URL names no database (postgres://USER@HOST:PORT/DB)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresLedgerError.settings("the PostgreSQL port is out of range") }
        var password = components.password.flatMap { $0.removingPercentEncoding }
        if password == nil { password = environment["PGPASSWORD"] }
        if password == nil {
            let file = environment["PGPASSFILE"] ?? environment["HOME"].map { $0 + "/.pgpass" }
            if let file, let text = try? String(contentsOfFile: file, encoding: .utf8) {
                password = Self.pgpassPassword(text, host: host, port: port, database: database, user: user)
            }
        }
        self.init(host: host, port: port, user: user, database: database, password: password)
    }

    /// The password of the first `.pgpass` line matching (`host:port:database:user:password`; `*` matches any
    /// value in the first four fields; `\:` and `\\` are a literal colon and backslash), or nil.
    package static func pgpassPassword(_ text: String, host: String, port: Int, database: String, user: String)
        -> String?
    {
        let wanted = [host, String(port), database, user]
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = splitPgpassLine(Substring(line))
            guard fields.count == 5 else { continue }
            let matches = zip(fields.prefix(4), wanted).allSatisfy { field, value in field == "*" || field == value }
            if matches { return fields[4] }
        }
        return nil
    }

    private static func splitPgpassLine(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    /// `host:port`, for error lines.
    package var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL with the password replaced by `***` (or absent): safe to print and log.
    package var redacted: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(address)/\(database)"
    }

    package var description: String { redacted }

    /// The full URL, password included (percent-encoded): only for handing these settings to a child process (the
    /// benchmark's second replica), never for printing or logging.
    package var urlWithPassword: String {
        func encoded(_ s: String, _ allowed: CharacterSet) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s }
        let secret = password.map { ":" + encoded($0, .urlPasswordAllowed.subtracting(CharacterSet(charactersIn: ":@/"))) } ?? ""
        let who = encoded(user, .urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@/")))
        return "postgres://\(who)\(secret)@\(address)/\(encoded(database, .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))))"
    }
}

extension PostgresSettings: CustomReflectable {
    /// `dump` and debuggers see the redacted URL, never the password field.
    package var customMirror: Mirror { Mirror(self, children: ["url": redacted]) }
}
