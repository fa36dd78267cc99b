import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

/// Given-when-then for one aggregate, without a store: fold the given events,
/// run the command's decision, compare the events it decides (by type and
/// encoded payload) or the error it throws.
///
/// ```swift
/// try Given<Contact>([created]).when(.addEmail("x@y.z")).then([ContactEmailAdded(email: try EmailAddress("x@y.z"))])
/// try Given<Contact>([created]).when(.addEmail("nope")).thenFails(.invalidEmail("nope"))
/// ```
struct Given<A: Aggregate> {
    let id: Identifier<A>
    let events: [any Event]
    var context = CommandContext(actor: Principal(id: "user:anna", role: .salesRep), channel: .ui, now: Date(timeIntervalSince1970: 1_700_000_000))

    init(_ events: [any Event], id: Identifier<A> = Identifier<A>()) {
        self.id = id
        self.events = events
    }

    var state: A {
        var state = A(id: id)
        for event in events { state.apply(event) }
        return state
    }

    struct When {
        let outcome: Result<[any Event], CRMError>
        let sourceLocation: SourceLocation

        func then(_ expected: [any Event]) {
            switch outcome {
            case .failure(let error):
                Issue.record("expected events, got the error \(error)", sourceLocation: sourceLocation)
            case .success(let actual):
                #expect(actual.map(signature) == expected.map(signature), sourceLocation: sourceLocation)
            }
        }

        func thenNothing() { then([]) }

        func thenFails(_ expected: CRMError) {
            switch outcome {
            case .failure(let error): #expect(error == expected, sourceLocation: sourceLocation)
            case .success(let events): Issue.record("expected \(expected), got \(events.map(signature))", sourceLocation: sourceLocation)
            }
        }

        func thenFails(where matches: (CRMError) -> Bool) {
            switch outcome {
            case .failure(let error): #expect(matches(error), "unexpected \(error)", sourceLocation: sourceLocation)
            case .success(let events): Issue.record("expected an error, got \(events.map(signature))", sourceLocation: sourceLocation)
            }
        }
    }

    func when(_ command: Command<A>, _ sourceLocation: SourceLocation = #_sourceLocation) -> When {
        let outcome: Result<[any Event], CRMError>
        do throws(CRMError) { outcome = .success(try command.decide(state, context)) } catch { outcome = .failure(error) }
        return When(outcome: outcome, sourceLocation: sourceLocation)
    }
}

/// An event as "TypeName {json}", comparable across types.
func signature(_ event: any Event) -> String {
    let payload = (try? JSONEventCodec().encode(event)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    return "\(type(of: event).typeName) \(payload)"
}

let anna = Principal(id: "user:anna", role: .salesRep)
let boris = Principal(id: "user:boris", role: .salesRep)
let admin = Principal(id: "user:root", role: .admin)

func context(_ actor: Principal = anna, _ channel: Channel = .ui) -> CommandContext {
    CommandContext(actor: actor, channel: channel)
}
