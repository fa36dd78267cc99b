import Foundation
import RapportCore
import RapportEventLog

/// Operations waiting for their moment, ordered by the event count at which they are due.
struct Schedule {
    enum Action {
        case workLead(LeadID, Principal)
        case resolveLead(LeadID, Principal)
        case advanceDeal(DealID)
        case rescheduleTask(TaskID, Principal, Date)
        case closeTask(TaskID, Principal)
    }

    private var heap: [(due: Int, order: Int, action: Action)] = []
    private var counter = 0

    mutating func add(at due: Int, _ action: Action) {
        counter += 1
        heap.append((due, counter, action))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest action due at or before `now`, removed from the schedule.
    mutating func popDue(at now: Int) -> Action? {
        guard let first = heap.first, first.due <= now else { return nil }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.before(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first.action
    }

    private static func before(_ a: (due: Int, order: Int, action: Action), _ b: (due: Int, order: Int, action: Action)) -> Bool {
        (a.due, a.order) < (b.due, b.order)
    }
}

/// Ranks drawn from a Zipf distribution: rank 0 most often, then falling as 1 / (rank + 1)^s.
struct ZipfTable {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var total = 0.0
        cumulative = (1...max(count, 1)).map { rank in
            total += 1 / pow(Double(rank), exponent)
            return total
        }
    }

    /// A rank below `limit` (the ranks that exist so far).
    func sample<G: RandomNumberGenerator>(below limit: Int, using random: inout G) -> Int {
        let bound = min(limit, cumulative.count)
        let target = Double.random(in: 0..<cumulative[bound - 1], using: &random)
        var low = 0, high = bound - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return min(low, limit - 1)
    }
}

/// Words for names and texts.
enum Vocabulary {
    static let givenNames = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Dennis", "Frances",
                             "John", "Radia", "Tim", "Leslie", "Niklaus", "Sophie", "Katherine", "Linus", "Anita", "Bjarne"]
    static let familyNames = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Ritchie",
                              "Allen", "Backus", "Perlman", "Berners-Lee", "Lamport", "Wirth", "Wilson", "Johnson", "Torvalds", "Borg", "Stroustrup"]
    static let companyWords = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Hooli",
                               "Vandelay", "Wonka", "Aperture", "Massive", "Dynamic", "Blue", "North", "Bright", "Summit", "Vertex"]
    static let industries = ["software", "manufacturing", "retail", "healthcare", "finance", "logistics", "education", "energy", "media"]
    static let streets = ["Main Street", "Market Square", "Harbour Road", "Station Road", "Park Avenue", "Mill Lane"]
    static let cities = ["Berlin", "London", "Paris", "Amsterdam", "Vienna", "Madrid", "Lisbon", "Prague"]
    static let jobTitles = ["CEO", "CTO", "Head of Sales", "Buyer", "IT Manager", "Office Manager", "CFO", "Engineer"]
    static let products = ["Starter plan", "Team plan", "Enterprise plan", "Onboarding package", "Support contract", "Add-on seats"]
    static let words = ["call", "budget", "proposal", "follow", "up", "demo", "contract", "renewal", "pricing", "meeting",
                        "team", "decision", "next", "week", "quarter", "discount", "integration", "trial", "feedback", "timeline",
                        "the", "a", "with", "for", "about", "asked", "wants", "needs", "sent", "agreed", "review", "legal"]
}
