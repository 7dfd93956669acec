import LedgerProxy
import LedgerReports
import LedgerStore

/// `GET /reports` for `serve`: the proxy gets closures; the reports are made here with the same `ReportRequest`
/// the `report` command uses, so the bytes are the same for the same arguments.
enum ServeReports {
    static func endpoint(database: any LedgerBackend) -> ReportsEndpoint {
        ReportsEndpoint(
            isAdmin: { secret in await database.isAdmin(secret: secret) },
            render: { query in
                let now = ReportOutput.nowMicros()
                let request: ReportRequest
                do { request = try ReportRequest(query: query, nowMicros: now) } catch {
                    throw ReportsEndpoint.BadRequest(String(describing: error))
                }
                do {
                    let body = try request.render(database: database, nowMicros: now)
                    return .init(contentType: request.format.contentType, body: body)
                } catch let error as ReportError {
                    throw ReportsEndpoint.BadRequest(error.description)
                }
            },
            index: {
                .init(
                    contentType: ReportFormat.html.contentType,
                    body: Array(ReportRequest.indexPage(nowMicros: ReportOutput.nowMicros()).utf8))
            })
    }
}
