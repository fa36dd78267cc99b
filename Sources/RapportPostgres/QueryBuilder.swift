import PostgresNIO
import RapportEventLog

/// Builds a statement whose every value is a bound parameter: ``bind(_:)``
/// records the value and returns its placeholder (`$1`, `$2`, …).
///
/// ```swift
/// var query = QueryBuilder()
/// query.append("SELECT record FROM \(schema.events) WHERE position = \(query.bind(Int64(7)))")
/// ```
struct QueryBuilder {
    private(set) var sql = ""
    private(set) var bindings = PostgresBindings()

    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        bindings.append(value)
        return "$\(bindings.count)"
    }

    mutating func append(_ text: String) {
        sql += text
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: bindings) }
}

extension PostgresQuery {
    /// A statement with values bound in order: `$1` is `values[0]`, and so on.
    static func bound(_ sql: String, _ values: any PostgresDynamicTypeEncodable...) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { bindings.appendExistential(value) }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}

extension PostgresBindings {
    /// Appends a value whose type is only known at run time (opens the existential).
    fileprivate mutating func appendExistential(_ value: any PostgresDynamicTypeEncodable) {
        func typed<Value: PostgresDynamicTypeEncodable>(_ value: Value, to bindings: inout PostgresBindings) {
            bindings.append(value)
        }
        typed(value, to: &self)
    }
}

/// Reads a stored record out of its bytes, checking its checksum, structure and position.
func materializeRecord(_ bytes: ByteBuffer, position: Int64) throws(EventStoreError) -> RecordedEvent {
    let result = bytes.withUnsafeReadableBytes { raw in
        Result { () throws(EventStoreError) -> RecordedEvent in
            try RecordView(validating: raw, at: LogPosition(UInt64(position))).materialize()
        }
    }
    return try result.get()
}

extension Int64 {
    /// A UInt64 version or position as a bigint, saturating above Int64.max
    /// (no stored value comes near it).
    init(saturating value: UInt64) { self = value > UInt64(Int64.max) ? .max : Int64(value) }
}
