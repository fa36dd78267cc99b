@testable import RapportProjections
import RapportEventLog
import Testing

@Suite("Keys")
struct KeyTests {
    /// A walk over a numeric range visits exactly the keys of the range, in
    /// order, whatever else is stored under neighbouring bases.
    @Test func aRangeWalkVisitsExactlyTheRange() async throws {
        let storage = InMemoryReadModelStorage()
        var writes: [String: [UInt8]?] = [:]
        for number in UInt64(0)...2_100 where number % 3 != 1 {
            writes["n/\(Key.padded(number))"] = [1]
            writes["n/\(Key.padded(number))/more"] = [2]
        }
        writes["n/\(Key.padded(UInt64.max))"] = [3]
        writes["m/\(Key.padded(50))"] = [4]
        writes["o/\(Key.padded(50))"] = [5]
        try await storage.commit([ReadModelChanges(projection: "p", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
        let ranges: [ClosedRange<UInt64>] = [0...0, 0...9, 1...1, 7...123, 99...100, 120...135, 995...2_017, 2_000...UInt64.max, 0...UInt64.max]
        for range in ranges {
            var seen: [String] = []
            let finished = try storage.read("p") { (reader) throws(EventStoreError) in try reader.forEach(base: "n/", in: range) { key, _ in seen.append(key); return true } }
            let expected = writes.keys.filter {
                guard $0.hasPrefix("n/"), let number = UInt64($0.dropFirst(2).prefix(Key.width)) else { return false }
                return range.contains(number)
            }.sorted()
            #expect(finished)
            #expect(seen == expected, "\(range)")
        }
        var two: [String] = []
        let finished = try storage.read("p") { (reader) throws(EventStoreError) in try reader.forEach(base: "n/", in: 0...100) { key, _ in two.append(key); return two.count < 2 } }
        #expect(!finished && two == ["n/\(Key.padded(0))", "n/\(Key.padded(0))/more"])
    }

    @Test func numbersAndComponents() {
        #expect(Key.padded(UInt64.max).count == Key.width && Key.inverted(1) > Key.inverted(2))
        #expect(Key.component("a/b%c") == "a%2Fb%25c" && Key.decodeComponent("a%2Fb%25c") == "a/b%c")
    }
}

extension KeyTests {
    @Test func aLongComponentIsReplacedByADigestThatKeepsKeysApart() {
        #expect(Key.boundedComponent("a/b%c") == "a%2Fb%25c")
        let long = String(repeating: "/", count: 43)  // 129 bytes escaped
        let other = String(repeating: "/", count: 44)
        #expect(Key.boundedComponent(String(repeating: "/", count: 42)).utf8.count == 126)
        #expect(Key.boundedComponent(long).hasPrefix("%H") && Key.boundedComponent(long).utf8.count == 66)
        #expect(Key.boundedComponent(long) != Key.boundedComponent(other))
        #expect(!Key.boundedComponent(long).contains("/"))
    }
}
