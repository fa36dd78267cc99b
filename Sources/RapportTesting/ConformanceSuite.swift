public import RapportEventLog

/// A store handed to the conformance suite, with what the suite needs to
/// reopen it and to clean up.
///
/// ```swift
/// StoreUnderTest(
///     store: try LMDBEventStore(path: dir),
///     reopen: { try LMDBEventStore(path: dir) },
///     destroy: { try? FileManager.default.removeItem(atPath: dir) }
/// )
/// ```
public struct StoreUnderTest: Sendable {
    /// A new, empty store.
    public var store: any EventStore
    /// Opens the same storage again after the suite closed ``store``; nil for
    /// a backend that keeps nothing once closed (in memory).
    public var reopen: (@Sendable () async throws -> any EventStore)?
    /// Removes what the store left behind. Called once the check is over.
    public var destroy: @Sendable () async -> Void

    public init(
        store: any EventStore, reopen: (@Sendable () async throws -> any EventStore)? = nil,
        destroy: @escaping @Sendable () async -> Void = {}
    ) {
        self.store = store
        self.reopen = reopen
        self.destroy = destroy
    }
}

/// A check of the conformance suite that did not hold.
public struct ConformanceFailure: Error, CustomStringConvertible {
    /// The check that failed.
    public var check: String
    /// What was expected and what happened.
    public var message: String

    public var description: String { "[\(check)] \(message)" }
}

/// The behaviour every ``EventStore`` promises, written once and run against
/// each backend (in memory, LMDB, PostgreSQL, or yours).
///
/// Each check gets a new store from your factory. Run all of them, or one by
/// name so your test framework reports each separately:
///
/// ```swift
/// import Testing
/// import RapportTesting
///
/// let suite = ConformanceSuite { StoreUnderTest(store: MyStore()) }
///
/// @Test(arguments: ConformanceSuite.checkNames)
/// func conformance(_ check: String) async throws {
///     try await suite.run(check)
/// }
/// ```
public struct ConformanceSuite: Sendable {
    /// Makes a new, empty store for one check.
    public let makeStore: @Sendable () async throws -> StoreUnderTest

    /// Creates a suite over stores made by `makeStore`.
    public init(makeStore: @escaping @Sendable () async throws -> StoreUnderTest) {
        self.makeStore = makeStore
    }

    /// The names of every check, in a stable order.
    public static var checkNames: [String] { checks.map(\.name) }

    /// Runs the check called `name` on a new store.
    ///
    /// - Throws: ``ConformanceFailure`` when the store does not behave as
    ///   promised, or the error the store threw where none was expected.
    public func run(_ name: String) async throws {
        try await runCheck(name, of: Self.checks) { CheckContext(name: name, subject: try await makeStore()) }
    }

    /// Runs every check; returns the failures (empty when the store conforms).
    public func runAll() async -> [any Error] {
        var failures: [any Error] = []
        for name in Self.checkNames {
            do { try await run(name) } catch { failures.append(error) }
        }
        return failures
    }

    typealias Check = NamedCheck<CheckContext>
}

/// A check of a suite: its name and what it does with its context.
struct NamedCheck<Context>: Sendable {
    let name: String
    let body: @Sendable (Context) async throws -> Void
}

/// What a check works with; finished once the check is over, whatever happened.
protocol CheckSubject {
    func finish() async
}

/// Runs the check called `name` of `checks` on a context made by `makeContext`, and finishes the context.
func runCheck<Context: CheckSubject>(
    _ name: String, of checks: [NamedCheck<Context>], makeContext: () async throws -> Context
) async throws {
    guard let check = checks.first(where: { $0.name == name }) else {
        throw ConformanceFailure(check: name, message: "there is no check of that name")
    }
    let context = try await makeContext()
    do {
        try await check.body(context)
    } catch {
        await context.finish()
        throw error
    }
    await context.finish()
}

/// What a check works with: the store, and assertions that throw.
final class CheckContext: CheckSubject, @unchecked Sendable {
    let name: String
    private(set) var store: any EventStore
    private let subject: StoreUnderTest

    init(name: String, subject: StoreUnderTest) {
        self.name = name
        self.subject = subject
        self.store = subject.store
    }

    var canReopen: Bool { subject.reopen != nil }

    /// Closes the store and opens it again.
    func reopen() async throws {
        guard let reopen = subject.reopen else { return }
        await store.close()
        store = try await reopen()
    }

    func finish() async {
        await store.close()
        await subject.destroy()
    }

    func fail(_ message: String) -> ConformanceFailure {
        ConformanceFailure(check: name, message: message)
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw fail(message()) }
    }

    func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) throws {
        if actual != expected { throw fail("\(what()): expected \(expected), got \(actual)") }
    }

    /// Runs `body`, which must fail with an error `matches` accepts.
    func expectError<T>(
        _ what: String, _ matches: (EventStoreError) -> Bool, _ body: () async throws(EventStoreError) -> T
    ) async throws {
        let outcome: Result<T, EventStoreError>
        do throws(EventStoreError) { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        switch outcome {
        case .success:
            throw fail("\(what): expected an error, but it succeeded")
        case .failure(let error):
            if !matches(error) { throw fail("\(what): unexpected error \(error)") }
        }
    }

    /// Runs `body`, which must throw an ``EventStoreError`` that `matches` accepts.
    func expectThrows<T>(_ what: String, _ matches: (EventStoreError) -> Bool, _ body: () throws(EventStoreError) -> T) throws {
        let outcome: Result<T, EventStoreError>
        do throws(EventStoreError) { outcome = .success(try body()) } catch { outcome = .failure(error) }
        switch outcome {
        case .success:
            throw fail("\(what): expected an error, but it succeeded")
        case .failure(let error):
            if !matches(error) { throw fail("\(what): unexpected error \(error)") }
        }
    }

    /// Head position and every stream version given, unchanged since `snapshot`.
    func snapshot(_ streams: [StreamID]) async throws -> [UInt64] {
        var values = [try await store.headPosition().rawValue]
        for stream in streams { values.append(try await store.streamVersion(of: stream)) }
        return values
    }
}
