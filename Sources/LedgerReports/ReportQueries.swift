/// The report queries of `reports/*.sql`, embedded at build time (EmbedSQLPlugin).
enum ReportQueries {
    /// The SQL text of `reports/NAME.sql`.
    static func sql(_ name: String) throws -> String {
        guard let entry = EmbeddedSQL.reports.first(where: { $0.name == name }) else {
            throw ReportError.missingQuery(name)
        }
        return entry.sql
    }
}
