import Foundation

/// Number, size and date formatting for the plain output.
enum Format {
    /// 12345 → "12,345".
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }

    static func count(_ value: UInt64) -> String { count(Int(clamping: value)) }

    /// Bytes in binary units: "1.5 MiB".
    static func bytes(_ value: Int64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) bytes" : String(format: "%.1f %@", amount, units[unit])
    }

    /// Seconds with one decimal: "1.2 s".
    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
}

/// Formats dates for output in the user's time zone, or UTC with `--utc`.
struct DateStyle: Sendable {
    let timeZone: TimeZone
    /// The zone's short name, "UTC" or "CET".
    let zoneName: String

    init(utc: Bool) {
        timeZone = utc ? TimeZone(secondsFromGMT: 0)! : TimeZone.current
        let universal = utc || ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Zulu"].contains(timeZone.identifier)
        zoneName = universal ? "UTC" : (timeZone.abbreviation() ?? timeZone.identifier)
    }

    /// "2024-03-01 10:00".
    func dateTime(_ date: Date) -> String { format(date, "yyyy-MM-dd HH:mm") }

    /// "2024-03-01".
    func date(_ date: Date) -> String { format(date, "yyyy-MM-dd") }


    private func format(_ date: Date, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }
}

/// Parses the dates the commands accept: an ISO 8601 date (`2024-03-01`,
/// midnight in the output time zone) or date-time (`2024-03-01T10:00:00Z`,
/// with a zone offset or `Z`; fractional seconds allowed).
enum DateArgument {
    static func parse(_ text: String, option: String, timeZone: TimeZone) throws(CLIError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.count == 10 {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withDashSeparatorInDate]
            formatter.timeZone = timeZone
            if let date = formatter.date(from: trimmed) { return date }
        } else {
            for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = options
                if let date = formatter.date(from: trimmed) { return date }
            }
        }
        throw CLIError(
            "\(option): \"\(text)\" is not a date; use an ISO 8601 date or date-time such as 2024-03-01 or 2024-03-01T10:00:00Z",
            status: .usage)
    }
}
