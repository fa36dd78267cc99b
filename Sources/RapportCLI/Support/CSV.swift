/// One record of a CSV file: the line it starts on (1-based) and its fields,
/// or why it could not be read.
struct CSVRecord: Equatable {
    var line: Int
    var fields: Result<[String], CSVError>
}

/// Why a CSV record could not be read.
struct CSVError: Error, Equatable, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// A small RFC 4180 reader: fields separated by commas, records by CRLF or LF;
/// a field in double quotes may hold commas, line breaks and doubled quotes
/// (`""` for `"`). Blank lines are skipped. A malformed record (a quote inside
/// an unquoted field, text after a closing quote, a quote never closed) is
/// returned as an error with its line number (and the lines it took in, when
/// a quote left open ran it over several); reading goes on at the next line.
///
/// ```swift
/// for record in CSVReader.records(in: "name,email\r\n\"Lovelace, Ada\",ada@example.com\r\n") { … }
/// ```
enum CSVReader {
    static func records(in text: String) -> [CSVRecord] {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }  // a UTF-8 byte order mark
        var records: [CSVRecord] = []
        var index = 0
        var line = 1
        let end = scalars.count

        while index < end {
            let startLine = line
            var fields: [String] = []
            var field = String.UnicodeScalarView()
            var error: String?
            var endOfRecord = false
            var quotedFieldClosed = false
            var fieldStarted = false

            func isLineBreak(_ at: Int) -> Int {  // length of the line break at `at`, or 0
                if scalars[at] == "\n" { return 1 }
                if scalars[at] == "\r" { return at + 1 < end && scalars[at + 1] == "\n" ? 2 : 1 }
                return 0
            }

            while index < end && !endOfRecord {
                let scalar = scalars[index]
                if scalar == "\"" && !fieldStarted {
                    // A quoted field: read to the closing quote.
                    fieldStarted = true
                    index += 1
                    var closed = false
                    while index < end {
                        let inner = scalars[index]
                        if inner == "\"" {
                            if index + 1 < end && scalars[index + 1] == "\"" {
                                field.append("\"")
                                index += 2
                                continue
                            }
                            index += 1
                            closed = true
                            break
                        }
                        let breakLength = isLineBreak(index)
                        if breakLength > 0 {
                            line += 1
                            field.append(contentsOf: scalars[index..<(index + breakLength)])
                            index += breakLength
                            continue
                        }
                        field.append(inner)
                        index += 1
                    }
                    if !closed { error = error ?? "a quoted field is never closed" }
                    quotedFieldClosed = true
                    continue
                }
                if scalar == "," {
                    fields.append(String(field))
                    field = String.UnicodeScalarView()
                    fieldStarted = false
                    quotedFieldClosed = false
                    index += 1
                    continue
                }
                let breakLength = isLineBreak(index)
                if breakLength > 0 {
                    index += breakLength
                    line += 1
                    endOfRecord = true
                    continue
                }
                if quotedFieldClosed {
                    error = error ?? "text after the closing quote of field \(fields.count + 1)"
                } else if scalar == "\"" {
                    error = error ?? "a quote inside unquoted field \(fields.count + 1); quote the field and double its quotes"
                }
                field.append(scalar)
                fieldStarted = true
                index += 1
            }
            fields.append(String(field))
            if var error {
                // A quote left open reads the lines after it into this record: say which, so none goes unreported.
                let lastLine = endOfRecord ? line - 1 : line
                if lastLine > startLine { error += " (lines \(startLine)–\(lastLine) were read as this one record)" }
                records.append(CSVRecord(line: startLine, fields: .failure(CSVError(reason: error))))
            } else if !(fields.count == 1 && fields[0].isEmpty) {
                records.append(CSVRecord(line: startLine, fields: .success(fields)))
            }
        }
        return records
    }
}
