import Foundation
import RapportProjections

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

    /// 1 → "1 deal", 1234 → "1,234 deals"; `plural` for nouns not made with an s ("entries").
    static func count(_ value: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count(value)) \(value == 1 ? noun : plural ?? noun + "s")"
    }

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

    /// An amount with thousands separators, and cents when it has any: "12,000", "1,234.50".
    static func amount(_ value: Decimal) -> String {
        var rounded = Decimal()
        var exact = value
        NSDecimalRound(&rounded, &exact, 2, .plain)
        let cents = NSDecimalNumber(decimal: rounded * 100).int64Value
        let whole = count(Int(cents / 100))
        let fraction = abs(cents % 100)
        let sign = cents < 0 && cents / 100 == 0 ? "-" : ""
        return fraction == 0 ? sign + whole : sign + whole + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }

    /// Amounts per currency: "12,000 EUR", "12,000 EUR + 500 USD", "0" when there are none.
    static func amounts(_ values: [String: Decimal]) -> String {
        guard !values.isEmpty else { return "0" }
        return values.sorted { $0.key < $1.key }.map { "\(amount($0.value)) \($0.key)" }.joined(separator: " + ")
    }

    /// A share as a whole percentage: "67%"; "-" when there is none.
    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.0f%%", $0 * 100) } ?? "-"
    }

    /// A duration in days with one decimal: "12.5 days".
    static func days(_ seconds: TimeInterval) -> String { String(format: "%.1f days", seconds / 86_400) }
}

/// Formats dates for output in the user's time zone, or UTC with `--utc`.
struct DateStyle: Sendable {
    let timeZone: TimeZone
    /// The zone for headers over many dates: "UTC", or its identifier ("Europe/Berlin"),
    /// which holds whether or not summer time applies to a given date.
    let zoneName: String
    private let universal: Bool

    init(utc: Bool) {
        timeZone = utc ? TimeZone(secondsFromGMT: 0)! : TimeZone.current
        universal = utc || ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Zulu"].contains(timeZone.identifier)
        zoneName = universal ? "UTC" : timeZone.identifier
    }

    /// The zone's name at `date`: "UTC", or its abbreviation then ("CEST" in
    /// summer, "CET" in winter, "GMT+2" where the system has no abbreviation).
    func zoneName(at date: Date) -> String {
        universal ? "UTC" : (timeZone.abbreviation(for: date) ?? timeZone.identifier)
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
/// with a zone offset or `Z`; fractional seconds allowed). A day that does
/// not exist (`2024-02-30`, year 0) is refused, not rolled over.
enum DateArgument {
    /// What a bare date stands for.
    enum Day {
        /// Its first instant: midnight (`--from`, `--as-of`).
        case start
        /// Its last instant, so that "up to 2024-03-31" includes the 31st (`--to`).
        case end
    }

    static func parse(_ text: String, option: String, timeZone: TimeZone, day: Day = .start) throws(CLIError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if isRealDay(trimmed.prefix(10)) {
            if trimmed.count == 10 {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withFullDate, .withDashSeparatorInDate]
                formatter.timeZone = timeZone
                if let date = formatter.date(from: trimmed) {
                    guard day == .end else { return date }
                    var calendar = Calendar(identifier: .gregorian)
                    calendar.timeZone = timeZone
                    // The start of the next day, less the store's resolution (a microsecond). The
                    // start of that day, not the same wall-clock time a day later: where a clock
                    // change skips midnight, the day starts at 01:00, and the next one at 00:00.
                    if let later = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: date)) {
                        return calendar.startOfDay(for: later).addingTimeInterval(-0.000_001)
                    }
                }
            } else if isRealTime(trimmed.dropFirst(10)), let date = dateTime(trimmed) {
                return date
            }
        }
        throw CLIError(
            "\(option): \"\(text)\" is not a date; use an ISO 8601 date or date-time such as 2024-03-01 or 2024-03-01T10:00:00Z",
            status: .usage)
    }

    /// `text`, a date-time with a zone (`2024-03-01T10:00:00Z`,
    /// `…T12:00:00.123456+02:00`), to the microsecond: the log's precision,
    /// so a `recorded_at` copied from an export finds its entry.
    /// (`ISO8601DateFormatter` keeps only the milliseconds of a fraction;
    /// the fraction is read here, digits past the sixth dropped as the
    /// exports' reader does.) nil when it is not one.
    private static func dateTime(_ text: String) -> Date? {
        var whole = Substring(text)
        var microseconds: Int64 = 0
        let afterSeconds = text.index(text.startIndex, offsetBy: 19)  // YYYY-MM-DDTHH:MM:SS, checked before
        if afterSeconds < text.endIndex, text[afterSeconds] == "." {
            let digits = text[text.index(after: afterSeconds)...].prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            let six = digits.prefix(6)
            microseconds = Int64(six + String(repeating: "0", count: 6 - six.count))!
            whole = text[..<afterSeconds] + text[digits.endIndex...]
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: String(whole)) else { return nil }
        return ProjectionTimestamp.date(microseconds: ProjectionTimestamp.microseconds(of: date) + microseconds)
    }

    /// Whether `text` is `YYYY-MM-DD` naming a day of the Gregorian calendar (years 1 to 9999).
    static func isRealDay(_ text: Substring) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              year >= 1, (1...12).contains(month), day >= 1
        else { return false }
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return day <= (month == 2 && leap ? 29 : lengths[month - 1])
    }

    /// Whether the part after the date, `THH:MM:SS…`, has an hour, minute
    /// and second in range (the zone and fraction are left to the parser).
    static func isRealTime(_ text: Substring) -> Bool {
        let characters = Array(text.prefix(9))
        guard characters.count == 9, characters[0] == "T" || characters[0] == "t", characters[3] == ":", characters[6] == ":",
              let hour = Int(String(characters[1...2])), let minute = Int(String(characters[4...5])),
              let second = Int(String(characters[7...8]))
        else { return false }
        return (0...23).contains(hour) && (0...59).contains(minute) && (0...59).contains(second)
    }
}
