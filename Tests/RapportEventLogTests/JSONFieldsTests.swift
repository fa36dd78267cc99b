import Foundation
@testable import RapportEventLog
import Testing

/// The audit trail's JSON shortcuts must agree with Foundation's JSON coders.
@Suite struct JSONFieldsTests {
    static let texts = ["", "EUR", "a/b", "quote \" inside", "back\\slash", "tab\there", "new\nline", "ümlaut ✓ 🎉",
                        "control \u{01}", "del \u{7F}", "line sep \u{2028}", "{\"json\":1}"]

    @Test func literalsAreWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        for text in Self.texts {
            #expect(JSONFields.literal(text) == String(decoding: try encoder.encode(text), as: UTF8.self), "\(text)")
        }
    }

    @Test func stringsAreWhatJSONDecoderReads() throws {
        let encoder = JSONEncoder()
        for text in Self.texts {
            let literal = String(decoding: try encoder.encode(text), as: UTF8.self)
            #expect(JSONFields.string(literal) == text, "\(literal)")
        }
        for notAString in ["12", "\"open", "open\"", "\"", "null", "\"a\"b\"", "[\"a\"]"] {
            #expect(JSONFields.string(notAString) == nil, "\(notAString)")
        }
        #expect(JSONFields.unquoted([0x22, 0xFF, 0x22][...]) == nil, "invalid UTF-8 is not a string")
    }

    @Test func membersKeepEveryValueExactlyAndDecodeEscapedKeys() throws {
        let json = #"{ "amount" : 12000.50, "cur\u0072ency":"EUR", "tags":["a","b"], "nested":{"x":[1,{"y":"}"}]}, "note":"say \"hi\"" }"#
        let members = try #require(JSONFields.members(of: Data(json.utf8)))
        #expect(members.map(\.key) == ["amount", "currency", "tags", "nested", "note"])
        #expect(members.map(\.value) == ["12000.50", "\"EUR\"", "[\"a\",\"b\"]", "{\"x\":[1,{\"y\":\"}\"}]}", #""say \"hi\"""#])
        #expect(JSONFields.members(of: Data("[1]".utf8)) == nil)
        #expect(JSONFields.members(of: Data("{\"a\":".utf8)) == nil)
    }

    @Test func elementsKeepEveryValueExactly() throws {
        func elements(_ json: String, strict: Bool = false) -> [String]? {
            let text = JSONText(Data(json.utf8))
            return text.elements(in: text.whole, strict: strict)?.map { String(decoding: text.bytes[$0], as: UTF8.self) }
        }
        #expect(elements(#" [ 1 , "a,b" , {"x":[2,"]"]} , [ ] , null ] "#) == ["1", "\"a,b\"", "{\"x\":[2,\"]\"]}", "[ ]", "null"])
        #expect(elements("[]") == [])
        #expect(elements("{}") == nil)
        #expect(elements("[1,") == nil)
        #expect(elements("[\"a]") == nil)
        // Strict: exactly one comma between two elements, nothing after the array.
        #expect(elements("[1,2]", strict: true) == ["1", "2"])
        for bad in ["[1 2]", "[1,,2]", "[,1]", "[1,]", "[1] x"] {
            #expect(elements(bad, strict: true) == nil, "\(bad)")
        }
        #expect(elements("[1 2]") == ["1", "2"], "lenient: commas are not counted")
    }
}
