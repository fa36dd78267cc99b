import ArgumentParser

/// `rapport import`: CSV imports.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import contacts or companies from a CSV file.",
        discussion: """
            The first row names the columns. Rows that fail validation are reported with their line number and \
            skipped; the others are imported. Importing the same file again imports nothing twice: each row's id \
            is derived from its content (contacts: email, else name; companies: domain, else name). \
            Exit code 0 once the file was read, whatever was rejected.
            """,
        subcommands: [ImportContacts.self, ImportCompanies.self])
}
