import Foundation
import Testing

/// The example programs in Examples/ build (they are dependencies of this
/// target) and run to the end on a new store.
@Suite("Examples")
struct ExampleTests {
    @Test(arguments: [
        ("rapport-quickstart", "Retried the same append: already stored = true"),
        ("rapport-crm-tour", "won at 22500 EUR"),
        ("rapport-lead-conversion", "Converting it again is refused"),
        ("rapport-audit-export", "Exported 2 entries by user:anna"),
    ])
    func runs(example: String, saying expected: String) throws {
        let scratch = try Scratch(example)
        defer { scratch.cleanUp() }
        let run = try scratch.run(builtExecutable(example), [scratch.store])
        #expect(run.status == 0, "\(run.output)\(run.errors)")
        #expect(run.output.contains(expected), "\(run.output)")
        #expect(!run.output.contains("error:"))
    }
}
