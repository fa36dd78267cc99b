import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file a command writes whole or not at all (`audit --output`): the
/// output goes to a hidden file beside it, which replaces the file only
/// when everything was written. A command that fails leaves the file as it
/// was (or absent), never empty or cut short where a complete one is
/// expected.
final class OutputFile {
    /// The path the user gave.
    let path: String
    private let partial: String
    private let handle: FileHandle
    private var finished = false

    /// Checks that `path` can be written and opens the hidden file beside it.
    init(_ path: String) throws(CLIError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("--output: \(path) is a directory", status: .ioError)
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            let reason = FileManager.default.fileExists(atPath: folder) ? "permission denied, or the disk is full" : "no directory \(folder)"
            throw CLIError("--output: cannot write \(path) (\(reason))", status: .ioError)
        }
        self.path = path
        self.partial = partial
        self.handle = handle
    }

    /// Removes the hidden file unless ``finish()`` put it in place.
    deinit {
        guard !finished else { return }
        try? handle.close()
        try? FileManager.default.removeItem(atPath: partial)
    }

    /// Appends `data`, or says why it cannot.
    func write(_ data: Data) throws(CLIError) {
        do { try handle.write(contentsOf: data) } catch {
            throw CLIError("--output: cannot write \(path): \(error.localizedDescription)", status: .ioError)
        }
    }

    /// Makes what was written durable and puts it in place of `path`.
    func finish() throws(CLIError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw CLIError("--output: cannot write \(path): \(error.localizedDescription)", status: .ioError)
        }
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw CLIError("--output: cannot replace \(path): \(reason)", status: .ioError)
        }
        finished = true
    }
}
