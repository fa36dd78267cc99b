import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file a command writes whole or not at all (`audit --output`): the
/// output goes to a hidden file beside it, which replaces the file only
/// when everything was written (with the replaced file's permissions). A
/// command that fails leaves the file as it was (or absent), never empty or
/// cut short where a complete one is expected. A symbolic link stays: the
/// file it points to is replaced. A path that is not a regular file (a
/// device such as `/dev/stdout`, a named pipe) is written in place.
final class OutputFile {
    /// The path the user gave.
    let path: String
    /// The hidden file, when the output is staged, and the file it replaces.
    private let partial: String?
    private let target: String
    private let handle: FileHandle
    private var finished = false

    /// Checks that `path` can be written and opens the hidden file beside it
    /// (or, for a path that is not a regular file, the path itself).
    init(_ path: String) throws(CLIError) {
        // Through symbolic links: the file they point to is the one replaced. A link to what
        // has no path (/dev/stdout to a pipe) is written in place.
        var resolved = path
        var linkStatus = stat()
        var inPlace = false
        if lstat(path, &linkStatus) == 0, linkStatus.st_mode & S_IFMT == S_IFLNK {
            if let real = realpath(path, nil) {
                resolved = String(cString: real)
                free(real)
            } else {
                inPlace = true
            }
        }
        let url = URL(fileURLWithPath: resolved)
        var status = stat()
        let exists = stat(resolved, &status) == 0
        let kind = status.st_mode & S_IFMT
        if exists && kind == S_IFDIR { throw CLIError("--output: \(path) is a directory", status: .ioError) }
        let folder = url.deletingLastPathComponent().path
        func cannotWrite() -> CLIError {
            let reason = FileManager.default.fileExists(atPath: folder) ? "permission denied, or the disk is full" : "no directory \(folder)"
            return CLIError("--output: cannot write \(path) (\(reason))", status: .ioError)
        }
        self.path = path
        target = resolved
        if inPlace || (exists && kind != S_IFREG) {
            guard let handle = FileHandle(forWritingAtPath: path) else { throw cannotWrite() }
            self.handle = handle
            partial = nil
            return
        }
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            throw cannotWrite()
        }
        // The replaced file keeps its permissions.
        if exists { _ = fchmod(handle.fileDescriptor, status.st_mode & 0o7777) }
        self.partial = partial
        self.handle = handle
    }

    /// Removes the hidden file unless ``finish()`` put it in place.
    deinit {
        guard !finished else { return }
        try? handle.close()
        if let partial { try? FileManager.default.removeItem(atPath: partial) }
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
            if partial != nil { try handle.synchronize() }
            try handle.close()
        } catch {
            throw CLIError("--output: cannot write \(path): \(error.localizedDescription)", status: .ioError)
        }
        finished = true
        guard let partial else { return }
        guard rename(partial, target) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            throw CLIError("--output: cannot replace \(path): \(reason)", status: .ioError)
        }
    }
}
