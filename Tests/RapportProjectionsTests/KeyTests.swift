@testable import RapportProjections
import Testing

@Suite("Keys")
struct KeyTests {
    /// A number is in the range exactly when its padded key starts with one of the prefixes.
    @Test func prefixesCoverExactlyTheRange() {
        let ranges: [ClosedRange<UInt64>] = [0...0, 0...9, 1...1, 7...123, 99...100, 120...135, 1...1_000, 995...2_017, 10...99]
        for range in ranges {
            let prefixes = Key.prefixes(covering: range)
            #expect(prefixes == prefixes.sorted(), "\(range) out of order")
            for number in UInt64(0)...2_100 {
                let key = Key.padded(number)
                #expect(prefixes.contains { key.hasPrefix($0) } == range.contains(number), "\(number) in \(range)")
            }
        }
        let huge = Key.prefixes(covering: 5...UInt64.max)
        #expect(huge.count < 400 && huge.first == Key.padded(5) && huge.last == Key.padded(UInt64.max))
        #expect(Key.prefixes(covering: 0...UInt64.max).count < 100)  // "0" (0 ... 10^19 - 1), then the partial top decade
        #expect(Key.padded(UInt64.max).count == Key.width && Key.inverted(1) > Key.inverted(2))
        #expect(Key.component("a/b%c") == "a%2Fb%25c" && Key.decodeComponent("a%2Fb%25c") == "a/b%c")
    }
}
