import ArgumentParser
import RapportCore
import RapportEventLog

/// `rapport import contacts FILE.csv`.
struct ImportContacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "Import contacts from a CSV file.",
        discussion: """
            Columns (any order, case and spaces ignored): given_name (or first_name), family_name (or last_name), \
            name (or full_name: used when there are no given/family names), email, phone, job_title (or title), \
            company_domain, company (or company_name), owner. A name is required. A company must already be in \
            the store (import companies first); it is found by domain, else by name. Other columns are reported \
            and ignored.
            """)

    static let aliases: [String: String] = [
        "given_name": "given_name", "first_name": "given_name", "firstname": "given_name",
        "family_name": "family_name", "last_name": "family_name", "lastname": "family_name", "surname": "family_name",
        "name": "name", "full_name": "name",
        "email": "email", "email_address": "email", "e_mail": "email",
        "phone": "phone", "phone_number": "phone",
        "job_title": "job_title", "title": "job_title",
        "company_domain": "company_domain", "domain": "company_domain",
        "company": "company", "company_name": "company",
        "owner": "owner",
    ]

    @OptionGroup var options: StoreOptions

    @Option(name: .customLong("country-code"), help: ArgumentHelp(
        "The country code for phone numbers written without one, such as 49.", valueName: "digits"))
    var countryCode: String?

    @Argument(help: "The CSV file.")
    var file: String

    func run() async throws {
        try await reportingErrors {
            try options.checkBackend()
            var csv = try CSVImport(file: file, aliases: Self.aliases)
            guard ["given_name", "family_name", "name"].contains(where: { csv.columns[$0] != nil }) else {
                throw CLIError("\(file) has no name column: given_name, family_name or name", status: .dataError)
            }
            csv.reportUnknownHeaders()
            try await options.open(create: true).using { store in
                let needsCompanies = csv.columns["company"] != nil || csv.columns["company_domain"] != nil
                let companies = needsCompanies ? try await CompanyDirectory.load(from: store) : CompanyDirectory()
                try await csv.importRows(into: Repository(store: store), kind: "contact") { (csv, row) throws(CRMError) in
                    let name = try personName(csv, row)
                    let email = try csv.value("email", in: row).map { (text) throws(CRMError) in try EmailAddress(text) }
                    let company = try companyID(csv, row, companies)
                    let id = CSVImport.contactID(email: email, name: name)
                    let phone = csv.value("phone", in: row)
                    let owner = csv.value("owner", in: row)
                    let jobTitle = csv.value("job_title", in: row)
                    let countryCode = countryCode
                    return CSVImportRow(id: id) { (unit) throws(CRMError) in
                        try await unit.execute(
                            .create(name: name, email: email?.value, phone: phone, defaultCountryCode: countryCode, owner: owner), on: id)
                        if let jobTitle { try await unit.execute(.changeJobTitle(to: jobTitle), on: id) }
                        if let company { try await unit.linkContact(id, to: company, role: jobTitle) }
                    }
                }
            }
            csv.printSummary(kind: "contacts")
        }
    }

    private func personName(_ csv: CSVImport, _ row: [String]) throws(CRMError) -> PersonName {
        let given = csv.value("given_name", in: row), family = csv.value("family_name", in: row)
        if given != nil || family != nil { return try PersonName(given: given ?? "", family: family ?? "") }
        let split = PersonName(splitting: csv.value("name", in: row) ?? "")
        return try PersonName(given: split.given, family: split.family)
    }

    private func companyID(_ csv: CSVImport, _ row: [String], _ companies: CompanyDirectory) throws(CRMError) -> CompanyID? {
        if let domain = csv.value("company_domain", in: row) {
            guard let id = companies.byDomain[domain.lowercased()] else {
                throw .invalidValue(field: "company_domain", reason: "no company with domain \(domain) is in the store; import companies first")
            }
            return id
        }
        if let name = csv.value("company", in: row) {
            guard let id = companies.byName[name.lowercased()] else {
                throw .invalidValue(field: "company", reason: "no company named \"\(name)\" is in the store; import companies first")
            }
            return id
        }
        return nil
    }
}
