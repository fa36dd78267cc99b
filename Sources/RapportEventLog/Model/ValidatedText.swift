/// A value that is a string checked when it is made, such as ``StreamID``,
/// ``Tag``, an email address or a phone number. It encodes as its text and
/// decodes by checking the text again, so an invalid value cannot be read
/// in through a payload either.
///
/// ```swift
/// struct Sku: ValidatedText {
///     let text: String
///     init(validating text: String) throws(EventStoreError) { … }
/// }
/// ```
public protocol ValidatedText: Codable {
    associatedtype ValidationError: Error & CustomStringConvertible
    /// The checked text.
    var text: String { get }
    /// Checks `text` and makes the value.
    init(validating text: String) throws(ValidationError)
}

extension ValidatedText {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(validating: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
