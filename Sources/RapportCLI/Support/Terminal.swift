import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain output on stdout, messages and progress on stderr.
enum Terminal {
    /// Whether stderr is a terminal: progress bars are drawn only then.
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Writes a line to stdout.
    static func print(_ line: String = "") {
        Swift.print(line)
    }

    /// Writes a line to stderr.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// A one-line progress bar redrawn on stderr, only when stderr is a terminal.
///
/// Safe to call from any thread: updates are serialised and rate-limited.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(_ label: String, enabled: Bool = Terminal.stderrIsTerminal) {
        self.label = label
        self.enabled = enabled
    }

    /// Shows `done` of `total`.
    func update(_ done: UInt64, of total: UInt64) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let text = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(Format.count(Int(done)))/\(Format.count(Int(total)))"
        FileHandle.standardError.write(Data(text.utf8))
        drawn = true
    }

    /// Clears the bar's line.
    func finish() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drawn = false
    }
}
