import Foundation
import LedgerPostgres
import Testing

@Suite struct PostgresSettingsTests {
    @Test func parsesURLWithPasswordPortAndPercentEncoding() throws {
        let s = try PostgresSettings(url: "postgres://led%40ger:s%3Acret%2F1@db.example:6543/ledger_prod", environment: [:])
        #expect(s.host == "db.example")
        #expect(s.port == 6543)
        #expect(s.user == "led@ger")
        #expect(s.password == "s:cret/1")
        #expect(s.database == "ledger_prod")
        let alt = try PostgresSettings(url: "postgresql://u@h/d", environment: [:])
        #expect(alt.port == 5432)
        #expect(alt.password == nil)
        #expect(PostgresSettings.isPostgresURL("postgresql://u@h/d"))
        #expect(!PostgresSettings.isPostgresURL("ledger.sqlite"))
    }

    @Test func passwordNeverInDescriptionOrErrors() throws {
        let s = try PostgresSettings(url: "postgres://u:hunter2secret@h:1/d", environment: [:])
        #expect(!s.description.contains("hunter2secret"))
        #expect(!String(describing: s).contains("hunter2secret"))
        #expect(!String(reflecting: s).contains("hunter2secret"))
        var dumped = ""
        dump(s, to: &dumped)
        #expect(!dumped.contains("hunter2secret"))
        #expect(s.redacted == "postgres://u:***@h:1/d")
        let error = PostgresLedgerError.connect(address: s.address, cause: "refused")
        #expect(error.description == "cannot connect to PostgreSQL at h:1: refused")
    }

    @Test func badURLsAreClearErrors() {
        for url in ["postgres://h/d", "postgres://u@/d", "postgres://u@h", "postgres://u@h/", "mysql://u@h/d"] {
            #expect(throws: PostgresLedgerError.self, "\(url)") { try PostgresSettings(url: url, environment: [:]) }
        }
    }

    @Test func pgpasswordIsUsedWhenTheURLHasNone() throws {
        let s = try PostgresSettings(url: "postgres://u@h/d", environment: ["PGPASSWORD": "fromenv"])
        #expect(s.password == "fromenv")
        let url = try PostgresSettings(url: "postgres://u:fromurl@h/d", environment: ["PGPASSWORD": "fromenv"])
        #expect(url.password == "fromurl")
    }

    @Test func pgpassWildcardsEscapesAndOrder() throws {
        let text = """
            # comment line
            other:5432:*:u:wrong
            h:5432:d:other:wrong
            h\\:x:5432:d:u:escaped-host
            h:*:d:u:first\\:match\\\\
            *:*:*:*:catch-all
            """
        #expect(PostgresSettings.pgpassPassword(text, host: "h", port: 5432, database: "d", user: "u") == "first:match\\")
        #expect(PostgresSettings.pgpassPassword(text, host: "h:x", port: 5432, database: "d", user: "u") == "escaped-host")
        #expect(PostgresSettings.pgpassPassword(text, host: "zz", port: 1, database: "q", user: "v") == "catch-all")
        #expect(PostgresSettings.pgpassPassword("h:5432:d:u:p", host: "h", port: 5433, database: "d", user: "u") == nil)

        let dir = FileManager.default.temporaryDirectory.appending(path: "pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appending(path: "pgpass").path(percentEncoded: false)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let viaFile = try PostgresSettings(url: "postgres://u@h/d", environment: ["PGPASSFILE": file])
        #expect(viaFile.password == "first:match\\")
        try "*:*:*:*:from-home\n".write(toFile: dir.appending(path: ".pgpass").path(percentEncoded: false), atomically: true, encoding: .utf8)
        let viaHome = try PostgresSettings(url: "postgres://u@h/d", environment: ["HOME": dir.path(percentEncoded: false)])
        #expect(viaHome.password == "from-home")
        let envWins = try PostgresSettings(url: "postgres://u@h/d", environment: ["PGPASSWORD": "env", "PGPASSFILE": file])
        #expect(envWins.password == "env")
    }

    @Test func splitsSQLFilesIntoStatements() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE t (a text DEFAULT 'x;y');
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$;
            INSERT INTO t VALUES ('it''s; fine') -- trailing
            """
        let statements = PostgresMigrations.statements(in: sql)
        #expect(statements.count == 3)
        #expect(statements[0] == "CREATE TABLE t (a text DEFAULT 'x;y')")
        #expect(statements[1].hasSuffix("BEGIN RETURN NULL; END; $$"))
        #expect(statements[2].hasPrefix("INSERT INTO t VALUES ('it''s; fine')"))
    }
}
