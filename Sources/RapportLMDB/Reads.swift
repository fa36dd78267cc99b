import RapportEventLog

/// The read paths: walks along the links stored in the records, starting
/// from the stream's or tag's head.
extension TxnReader {
    func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int) throws(EventStoreError) -> [RecordedEvent] {
        guard limit > 0, let head = try streamHead(stream), head.count > 0 else { return [] }
        let newest: UInt64, oldest: UInt64
        switch direction {
        case .forward:
            oldest = Swift.max(version, 1)
            guard oldest <= head.count else { return [] }
            newest = Swift.min(head.count, oldest + UInt64(limit) - 1)
        case .backward:
            guard version >= 1 else { return [] }
            newest = Swift.min(version, head.count)
            oldest = newest - Swift.min(newest, UInt64(limit)) + 1
        }
        // Walk the links from the newest back to the oldest, keeping the views
        // (valid for this whole read transaction), then materialize in the
        // order asked for: one lookup per event, no reversal of whole records.
        var position = try locate(newest, head: head, in: .stream(stream))
        var number = newest
        var views: [RecordView] = []
        // Room for the events asked for, up to a bound: the count comes from a stored head,
        // which a damaged file could make any size before a record is checked.
        views.reserveCapacity(Int(Swift.min(newest - oldest + 1, 4_096)))
        while true {
            let view = try requireView(at: position, reason: "stream \(stream) links to it")
            guard view.streamVersion == number, view.isInStream(stream) else {
                throw .corruptedRecord(position: view.position, reason: "expected version \(number) of stream \(stream)")
            }
            views.append(view)
            if number == oldest { break }
            number -= 1
            position = view.previousInStream.rawValue
        }
        if direction == .forward { views.reverse() }
        return views.map { $0.materialize() }
    }

    func readLog(from position: UInt64, filter: LogFilter, limit: Int) throws(EventStoreError) -> [RecordedEvent] {
        let end = filter.through?.rawValue ?? .max
        guard limit > 0, position <= end else { return [] }
        var result: [RecordedEvent] = []
        var next = Swift.max(position, 1)
        /// Reads the log in order from `next`, keeping what the filter matches.
        func scan() throws(EventStoreError) -> [RecordedEvent] {
            try forEachRecord(from: next) { (view) throws(EventStoreError) -> Bool in
                guard view.position.rawValue <= end else { return false }
                if filter.matches(view) { result.append(view.materialize()) }
                return result.count < limit
            }
            return result
        }
        // The most selective index at hand gives candidate positions; the
        // filter then checks each candidate's header for the other criteria.
        // When the types or actors asked for make up a large share of the
        // log, reading it in order is cheaper than hopping through an index.
        // The type and actor indexes reach only the watermark: past it, the
        // log is read in order (at most the configured index lag).
        let candidates: (UInt64, Int) throws(EventStoreError) -> [UInt64]
        var indexEnd = end
        func isSelective(_ index: SecondaryIndex, _ keys: Set<String>) throws(EventStoreError) -> Bool {
            var matching: UInt64 = 0
            for key in keys { matching += try count(in: index, key: key) }
            return matching.multipliedReportingOverflow(by: Self.indexShareDenominator).partialValue <= (try last().position)
        }
        if let tags = filter.tags {
            candidates = { (from, wanted) throws(EventStoreError) in
                var found: [UInt64] = []
                for tag in tags { found += try positions(taggedWith: tag, from: from, limit: wanted) }
                return found
            }
        } else if filter.actors != nil || filter.types != nil {
            let watermark = try IndexWatermark.read(self)
            guard next <= watermark else { return try scan() }
            let index: SecondaryIndex, keys: Set<String>
            if let actors = filter.actors, try isSelective(.actor, actors) {
                (index, keys) = (.actor, actors)
            } else if let types = filter.types, try isSelective(.type, types) {
                (index, keys) = (.type, types)
            } else {
                return try scan()
            }
            indexEnd = Swift.min(end, watermark)
            candidates = { [indexEnd] (from, wanted) throws(EventStoreError) in
                var found: [UInt64] = []
                for key in keys { found += try positions(in: index, key: key, from: from, through: indexEnd, limit: wanted) }
                return found
            }
        } else {
            return try scan()
        }
        while result.count < limit {
            let wanted = limit - result.count
            var found = try candidates(next, wanted)
            guard !found.isEmpty else { break }
            found.sort()
            var previous: UInt64 = 0
            var taken = 0
            for candidate in found where candidate != previous && taken < wanted {
                guard candidate <= end else { return result }
                previous = candidate
                taken += 1
                let view = try requireView(at: candidate, reason: "an index points at it")
                if filter.matches(view) { result.append(view.materialize()) }
            }
            next = previous + 1
        }
        guard result.count < limit, indexEnd < end else { return result }
        next = Swift.max(next, indexEnd + 1)
        return try scan()
    }

    /// An index is used when the events it would yield are at most
    /// 1/`indexShareDenominator` of the log; otherwise the log is read in order.
    static let indexShareDenominator: UInt64 = 8

    /// Up to `limit` positions of events tagged `tag` at `from` or later, ascending.
    func positions(taggedWith tag: Tag, from: UInt64, limit: Int) throws(EventStoreError) -> [UInt64] {
        guard let head = try tagHead(tag), head.lastPosition >= from, limit > 0 else { return [] }
        // Descend to the first event of the tag at or after `from`.
        var number = head.count
        var position = head.lastPosition
        for level in 1..<Swift.max(head.ladder.count, 1) {
            let candidate = head.count & ~((1 << UInt64(level)) - 1)
            guard candidate > 0, head.ladder[level] >= from else { break }
            number = candidate
            position = head.ladder[level]
        }
        while true {
            let link = try tagLink(tag, at: position)
            let skipNumber = number & (number - 1)
            if skipNumber > 0 && link.skip >= from {
                number = skipNumber
                position = link.skip
            } else if number > 1 && link.previous >= from {
                number -= 1
                position = link.previous
            } else {
                break
            }
        }
        let first = number
        let last = Swift.min(head.count, first + UInt64(limit) - 1)
        position = try locate(last, head: head, in: .tag(tag))
        var result: [UInt64] = []
        result.reserveCapacity(Int(last - first + 1))
        number = last
        while true {
            result.append(position)
            if number == first { break }
            position = try tagLink(tag, at: position).previous
            number -= 1
        }
        return result.reversed()
    }

    enum Chain {
        case stream(StreamID)
        case tag(Tag)
    }

    /// The position of event number `target` of a stream or tag, walking from its head.
    func locate(_ target: UInt64, head: Head, in chain: Chain) throws(EventStoreError) -> UInt64 {
        var (number, position) = head.start(towards: target)
        while number > target {
            let previous: UInt64, skip: UInt64
            switch chain {
            case .stream(let stream):
                let view = try requireView(at: position, reason: "stream \(stream) links to it")
                guard view.streamVersion == number, view.isInStream(stream) else {
                    throw .corruptedRecord(position: view.position, reason: "expected version \(number) of stream \(stream)")
                }
                (previous, skip) = (view.previousInStream.rawValue, view.skipInStream.rawValue)
            case .tag(let tag):
                let link = try tagLink(tag, at: position)
                (previous, skip) = (link.previous, link.skip)
            }
            let skipNumber = number & (number - 1)
            if skipNumber >= target && skipNumber > 0 {
                number = skipNumber
                position = skip
            } else {
                number -= 1
                position = previous
            }
            guard position > 0 else {
                throw .corruptedRecord(position: LogPosition(position), reason: "a link of \(chain) ends before event \(target)")
            }
        }
        return position
    }

    private func tagLink(_ tag: Tag, at position: UInt64) throws(EventStoreError) -> RecordFormat.TagLink {
        let view = try requireView(at: position, reason: "tag \(tag) links to it")
        guard let link = view.tagLink(for: tag) else {
            throw .corruptedRecord(position: view.position, reason: "it does not carry tag \(tag), which links to it")
        }
        return link
    }
}
