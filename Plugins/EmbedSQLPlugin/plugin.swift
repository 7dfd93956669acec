import Foundation
import PackagePlugin

/// Embeds the package's top-level `migrations/*.sql` and `reports/*.sql` into the target as string constants,
/// so the binary is self-contained and an edited .sql file rebuilds the target that uses it.
/// The PostgreSQL store (target LedgerPostgres) gets `migrations/postgres/*.sql` and `reports/postgres/*.sql` instead.
@main
struct EmbedSQLPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        var inputs: [URL] = []
        let folders = target.name == "LedgerPostgres" ? ["migrations/postgres", "reports/postgres"] : ["migrations", "reports"]
        for folder in folders {
            let dir = root.appending(path: folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path(percentEncoded: false))) ?? []
            for name in names.sorted() where name.hasSuffix(".sql") {
                inputs.append(dir.appending(path: name))
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSQL.swift")
        return [
            .buildCommand(
                displayName: "Embedding SQL into \(target.name)",
                executable: try context.tool(named: "EmbedSQL").url,
                arguments: [output.path(percentEncoded: false)] + inputs.map { $0.path(percentEncoded: false) },
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
