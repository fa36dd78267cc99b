/// Runs `body` with the array's bytes, keeping the typed error (the standard
/// library's `withUnsafeBytes` only rethrows untyped errors).
@inline(__always)
func withTypedBytes<R>(
    of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(EventStoreError) -> R
) throws(EventStoreError) -> R {
    let result = array.withUnsafeBytes { bytes in
        Result { () throws(EventStoreError) -> R in try body(bytes) }
    }
    return try result.get()
}
