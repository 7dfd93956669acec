import ArgumentParser
import Foundation
import LedgerCore
import LedgerStore

/// `holysheep-ledger keys`: client keys that attribute calls to people and teams.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke client keys (hsl-...) for cost attribution.",
        discussion: """
            Clients send their key as the bearer token. The ledger stores only a salted SHA-256 of each secret; \
            a secret is shown once, when it is created. A revoked key is refused from the next request on.

            Examples:
              holysheep-ledger keys create --name alice --team research
              holysheep-ledger keys list
              holysheep-ledger keys revoke 3
            """,
        subcommands: [KeysCreate.self, KeysList.self, KeysRevoke.self]
    )
}

struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a key and print its secret, once.",
        discussion: """
            The secret is printed alone on standard output (so it can be captured), the key's id and a reminder on \
            standard error. It cannot be shown again: store it now.

            Examples:
              holysheep-ledger keys create --name alice --team research
              SECRET=$(holysheep-ledger keys create --name batch-jobs --team data)
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: "Who or what uses the key (a person, a service).")
    var name: String

    @Option(help: "The team its calls are attributed to.")
    var team: String?

    @Flag(help: "An admin key: may also read reports from `serve` (GET /reports); client keys get 403 there.")
    var admin = false

    func run() async throws {
        let (key, secret) = try await ledger.open().createKey(
            name: name, team: team, nowMicros: nowMicros(), admin: admin)
        let teamText = (key.team.map { " (team \($0))" } ?? "") + (key.isAdmin ? " (admin)" : "")
        FileHandle.standardError.write(
            Data(
                "created key \(key.id) for \(key.name)\(teamText); store this secret now, it is not shown again:\n".utf8
            ))
        print(secret)
    }
}

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List keys (never their secrets).",
        discussion: """
            Tab-separated: id, name, team, prefix (the public start of the secret), created_at, revoked_at.

            Examples:
              holysheep-ledger keys list
            """)

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        let keys = try await ledger.open().listKeys()
        print(["id", "name", "team", "prefix", "created_at", "revoked_at"].joined(separator: "\t"))
        for key in keys {
            print(
                [
                    String(key.id), key.name, key.team ?? "", key.lookupPrefix + "...",
                    UTCDate.isoTimestamp(micros: key.createdAtMicros),
                    key.revokedAtMicros.map { UTCDate.isoTimestamp(micros: $0) } ?? "",
                ].joined(separator: "\t"))
        }
    }
}

struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a key: its secret is refused from the next request on.",
        discussion: """
            Calls already recorded with the key keep their attribution.

            Examples:
              holysheep-ledger keys revoke 3
            """)

    @OptionGroup var ledger: LedgerOptions

    @Argument(help: "The key's id (see keys list).")
    var id: Int64

    func run() async throws {
        try await ledger.open().revokeKey(id: id, nowMicros: nowMicros())
        print("revoked key \(id)")
    }
}
