import ArgumentParser
import RapportCore
import RapportEventLog

/// `rapport import companies FILE.csv`.
struct ImportCompanies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "companies",
        abstract: "Import companies from a CSV file.",
        discussion: """
            Columns (any order, case and spaces ignored): name (or company, company_name; required), domain \
            (or website), industry, size (or employees), address, tax_id (or vat_id), owner. Other columns are \
            reported and ignored.
            """)

    static let aliases: [String: String] = [
        "name": "name", "company": "name", "company_name": "name",
        "domain": "domain", "website": "domain",
        "industry": "industry",
        "size": "size", "employees": "size",
        "address": "address",
        "tax_id": "tax_id", "vat_id": "tax_id",
        "owner": "owner",
    ]

    static let details: [(column: String, field: CompanyField)] = [
        ("domain", .domain), ("industry", .industry), ("size", .size), ("address", .address), ("tax_id", .taxID),
    ]

    @OptionGroup var options: StoreOptions

    @Argument(help: "The CSV file.")
    var file: String

    func run() async throws {
        try await reportingErrors {
            try options.checkBackend()
            var csv = try CSVImport(file: file, aliases: Self.aliases)
            guard csv.columns["name"] != nil else { throw CLIError("\(file) has no name column", status: .dataError) }
            csv.reportUnknownHeaders()
            try await options.open(create: true).using { store in
                try await csv.importRows(into: Repository(store: store), kind: "company") { (csv, row) throws(CRMError) in
                    guard let name = csv.value("name", in: row) else { throw .invalidValue(field: "company name", reason: "it is empty") }
                    var details: [CompanyField: String] = [:]
                    for (column, field) in Self.details { details[field] = csv.value(column, in: row) }
                    let id = CSVImport.companyID(domain: details[.domain], name: name)
                    let owner = csv.value("owner", in: row)
                    return CSVImportRow(id: id) { (unit) throws(CRMError) in
                        try await unit.execute(.create(name: name, details: details, owner: owner), on: id)
                    }
                }
            }
            csv.printSummary(kind: "companies")
        }
    }
}
