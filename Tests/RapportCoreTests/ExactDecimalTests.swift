import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

/// The integer path must give Foundation's results digit for digit: the
/// same value and the same text, for every kind of operand, and hand over
/// to Foundation where the digits do not fit.
@Suite("Exact decimals") struct ExactDecimalTests {
    /// A random decimal text: up to `digits` digits, a sign, a point anywhere
    /// or none, and sometimes an exponent.
    static func text(_ random: inout SplitMix64, digits: Int) -> String {
        let count = 1 + Int(random.next() % UInt64(digits))
        var text = random.next() % 3 == 0 ? "-" : ""
        let body = String((0..<count).map { _ in Character(String(random.next() % 10)) })
        let point = Int(random.next() % UInt64(count + 1))
        if point > 0 && point < count && random.next() % 2 == 0 {
            text += body.prefix(point) + "." + body.dropFirst(point)
        } else {
            text += body
        }
        if random.next() % 5 == 0 { text += "e\(Int(random.next() % 41) - 20)" }
        return text
    }

    static func values(count: Int, digits: Int, seed: UInt64) -> [Decimal] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in Decimal(string: text(&random, digits: digits), locale: nil)! }
    }

    static let edges: [Decimal] = [
        0, 1, -1, 10, 100, Decimal(string: "0.1")!, Decimal(string: "-0.001")!, Decimal(string: "1e30")!, Decimal(string: "1e-30")!,
        Decimal(string: "8999999999999999999")!, Decimal(string: "9000000000000000000")!, Decimal(string: "18446744073709551615")!,
        Decimal(string: "123456789012345678901234567890")!, Decimal(string: "0.333333333333333333333333333333333333")!,
        Decimal(string: "1e120")!, Decimal(string: "1e-120")!, Decimal(UInt64.max), Decimal(Int64.min),
    ]

    @Test("text is Foundation's description")
    func text() throws {
        for value in Self.values(count: 5_000, digits: 24, seed: 11) + Self.edges {
            #expect(ExactDecimal.text(of: value) == value.description, "\(value)")
        }
        #expect(ExactDecimal.text(of: Decimal.nan) == Decimal.nan.description)
        // Amounts in payloads come through JSONDecoder, whose number reader is its own (trailing zeros, exponents).
        var random = SplitMix64(seed: 12)
        func digits(_ count: UInt64) -> String { String((0..<count).map { _ in Character(String(random.next() % 10)) }) }
        let texts = (0..<2_000).map { _ in
            // JSON's number syntax: no leading zeros, a fraction and an exponent sometimes.
            var text = (random.next() % 3 == 0 ? "-" : "") + String(random.next() % 1_000_000)
            if random.next() % 2 == 0 { text += "." + digits(1 + random.next() % 6) }
            if random.next() % 5 == 0 { text += "E\(Int(random.next() % 11) - 5)" }
            return text
        } + ["12000.50", "1200", "0.000", "-0.10", "100e-2", "1.5E3"]
        let decoded = try JSONDecoder().decode([Decimal].self, from: Data(("[" + texts.joined(separator: ",") + "]").utf8))
        for (text, value) in zip(texts, decoded) {
            #expect(ExactDecimal.text(of: value) == value.description, "\(text) read as \(value)")
            #expect(ExactDecimal.sum(value, 1) == value + 1 && ExactDecimal.sum(value, 1).description == (value + 1).description, "\(text)")
        }
    }

    @Test("sums, differences and products are Foundation's, value and text")
    func arithmetic() {
        // Short values take the integer path; long ones (24 digits) fall back.
        for digits in [6, 12, 24] {
            let left = Self.values(count: 2_000, digits: digits, seed: UInt64(digits)) + Self.edges
            let right = Self.values(count: 2_000, digits: digits, seed: UInt64(digits) + 100) + Self.edges.reversed()
            for (a, b) in zip(left, right) {
                for (mine, foundation, name) in [
                    (ExactDecimal.sum(a, b), a + b, "+"), (ExactDecimal.difference(a, b), a - b, "-"), (ExactDecimal.product(a, b), a * b, "×"),
                ] {
                    #expect(mine == foundation && mine.description == foundation.description, "\(a) \(name) \(b): \(mine) against \(foundation)")
                }
            }
        }
    }

    @Test("the integer path is taken where the digits fit, and not where they do not")
    func paths() {
        let amount = Decimal(string: "12000.5")!, probability = Decimal(string: "0.25")!
        #expect(ExactDecimal(amount).map { ($0.mantissa, $0.exponent) } ?? (0, 0) == (120005, -1))
        #expect(ExactDecimal(amount)!.adding(ExactDecimal(probability)!)!.decimal == Decimal(string: "12000.75")!)
        #expect(ExactDecimal(amount)!.multiplied(by: ExactDecimal(probability)!)!.decimal == Decimal(string: "3000.125")!)
        #expect(ExactDecimal(Decimal(string: "-3.25")!).map { ($0.mantissa, $0.exponent) } ?? (0, 0) == (-325, -2))
        #expect(ExactDecimal(Decimal(string: "123456789012345678901234567890")!) == nil)
        #expect(ExactDecimal(Decimal.nan) == nil)
        // Too far apart to align, or a product past 64 bits: left to Foundation.
        #expect(ExactDecimal(Decimal(string: "1e30")!)!.adding(ExactDecimal(Decimal(string: "1e-30")!)!) == nil)
        #expect(ExactDecimal(Decimal(string: "8999999999")!)!.multiplied(by: ExactDecimal(Decimal(string: "8999999999")!)!) == nil)
    }
}
