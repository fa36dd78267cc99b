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

    /// Standard output, buffered, for everything the commands print (one
    /// buffer, so lines and exported data keep their order).
    private nonisolated(unsafe) static let output: UnsafeMutablePointer<FILE>? = fdopen(1, "w")

    /// Writes a line to stdout. A failed write is reported when the command
    /// ends (``finishOutput()``), so that it never exits 0 with its output lost.
    static func print(_ line: String = "") {
        var line = line
        line.append("\n")
        guard let output else { return }  // reported by finishOutput()
        line.withUTF8 { bytes in _ = fwrite(bytes.baseAddress, 1, bytes.count, output) }
    }

    /// Writes `data` to stdout, or says why it cannot.
    static func write(_ data: Data) throws(CLIError) {
        guard let output else { throw outputFailed(EBADF) }
        let written = data.withUnsafeBytes { bytes in fwrite(bytes.baseAddress, 1, bytes.count, output) }
        if written != data.count || ferror(output) != 0 { throw outputFailed(errno) }
    }

    /// Flushes stdout and says if anything written to it was lost (a full
    /// disk, `/dev/full`, standard output closed). A pipe whose reader has
    /// gone ends the command by SIGPIPE, as it does any Unix tool.
    static func finishOutput() throws(CLIError) {
        guard let output else { throw outputFailed(EBADF) }
        if fflush(output) != 0 || ferror(output) != 0 { throw outputFailed(errno) }
    }

    private static func outputFailed(_ code: Int32) -> CLIError {
        CLIError("cannot write standard output: \(String(cString: strerror(code)))", status: .ioError)
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
