import Foundation
import RapportEventLog
import RapportLMDB
import Synchronization

/// A fresh directory under the system's temporary folder.
func temporaryStorePath(_ label: String = "store") -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-tests-\(label)-\(UUID().uuidString)")
    return url.path
}

func removeStore(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

let testActor = Principal(id: "user:test", role: .admin)

func testEvent(_ type: String = "TestEvent", payload: String = "{}", tags: [Tag] = []) -> NewEvent {
    NewEvent(type: type, metadata: EventMetadata(actor: testActor, channel: .api), tags: tags, payload: Data(payload.utf8))
}

/// The store probe executable, built alongside the tests.
let probeURL: URL = {
    let candidates = [
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent(),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug"),
    ]
    for directory in candidates {
        let url = directory.appendingPathComponent("RapportStoreProbe")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return candidates[0].appendingPathComponent("RapportStoreProbe")
}()

/// One acknowledged event, as the probe printed it.
struct Acknowledgement: Hashable {
    let position: UInt64
    let id: String
    let stream: String
    let sequence: Int

    init?(line: Substring) {
        let parts = line.split(separator: " ")
        guard parts.count == 5, parts[0] == "ack", let position = UInt64(parts[1]), let sequence = Int(parts[4]) else { return nil }
        self.position = position
        self.id = String(parts[2])
        self.stream = String(parts[3])
        self.sequence = sequence
    }
}

/// A running probe process whose standard output is collected.
final class ProbeProcess: @unchecked Sendable {
    let process = Process()
    private let pipe = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private let finished = DispatchSemaphore(value: 0)

    init(_ arguments: [String]) throws {
        process.executableURL = probeURL
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let handle = pipe.fileHandleForReading
        let finished = self.finished
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); collected.append(chunk); lock.unlock()
            }
            finished.signal()
        }
        try process.run()
    }

    /// Waits until the process has written a complete line starting with
    /// `prefix` (true), or has ended or `timeout` has passed without one (false).
    func waitForLine(startingWith prefix: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = lock.withLock { String(decoding: collected, as: UTF8.self) }
            if text.split(separator: "\n").dropLast(text.hasSuffix("\n") ? 0 : 1).contains(where: { $0.hasPrefix(prefix) }) { return true }
            if !process.isRunning { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// Kills the process with SIGKILL and waits for it.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the process to end and returns its complete output lines.
    func waitForOutput() -> [Substring] {
        process.waitUntilExit()
        finished.wait()
        lock.lock(); defer { lock.unlock() }
        let text = String(decoding: collected, as: UTF8.self)
        // A line cut by SIGKILL has no newline; it was never complete, so drop it.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }
        return lines
    }
}

/// The payload the probe wrote for `sequence` of `writer` (mirrors the probe).
func probePayload(writer: String, sequence: Int) -> Data {
    Data("{\"writer\":\"\(writer)\",\"sequence\":\(sequence),\"pad\":\"\(String(repeating: "p", count: sequence % 200))\"}".utf8)
}

/// A count shared between tasks and threads.
final class SharedCounter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var current: Int { value.withLock { $0 } }

    /// Waits up to `seconds` for the count to reach `count`; true if it did.
    func wait(toReach count: Int, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if current >= count { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return current >= count
    }
}

/// Runs `body` on a thread of its own and returns what it returns: for tests
/// whose threads block (in reads, on semaphores), which must stay off Swift's
/// small cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { done in
        Thread.detachNewThread { done.resume(returning: body()) }
    }
}
