import Foundation

/// The built `rapport` binary, next to the test bundle.
let rapportURL = builtExecutable("rapport")

/// A built executable of the package (`rapport`, the examples), next to the test bundle.
func builtExecutable(_ name: String) -> URL {
    let candidates = [
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent(),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug"),
    ]
    for directory in candidates {
        let url = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return candidates[0].appendingPathComponent(name)
}

/// What a run of `rapport` printed and how it ended.
struct Run {
    let status: Int32
    let output: String
    let errors: String

    var outputLines: [Substring] { output.split(separator: "\n") }
    var errorLines: [Substring] { errors.split(separator: "\n") }
}

/// A scratch directory for one test, removed by `cleanUp()`.
struct Scratch {
    let directory: URL

    init(_ label: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-cli-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// The default store of runs in this directory.
    var store: String { directory.appendingPathComponent("store").path }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a file in the directory and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `rapport` with `arguments` in this directory, with stdout and
    /// stderr sent to files (neither is a terminal) and times in UTC.
    func rapport(_ arguments: String..., environment: [String: String] = [:]) throws -> Run {
        try rapport(arguments, environment: environment)
    }

    /// Runs `rapport` as above; with `standardOutput`, its stdout goes to that
    /// file (such as `/dev/full`) instead, and `output` is empty.
    func rapport(_ arguments: [String], environment: [String: String] = [:], standardOutput: String? = nil) throws -> Run {
        try run(rapportURL, arguments, environment: environment, standardOutput: standardOutput)
    }

    /// Runs `executable` with `arguments` in this directory, as ``rapport(_:environment:)`` runs `rapport`.
    func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], standardOutput: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var variables = ProcessInfo.processInfo.environment
        variables["RAPPORT_STORE"] = nil
        variables["TZ"] = "UTC"
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        let outputURL = directory.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errorURL = directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        let errors = try FileHandle(forWritingTo: errorURL)
        let redirected = try standardOutput.map { path in try FileHandle(forWritingTo: URL(fileURLWithPath: path)) }
        defer { try? redirected?.close() }
        process.standardOutput = redirected ?? output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try output.close()
        try errors.close()
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }
        return Run(
            status: process.terminationStatus,
            output: String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
            errors: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Flips one byte inside every copy of `marker` in the store's data file
/// (LMDB copies pages on write, so stale copies may lie in free pages too).
/// Returns how many copies were damaged.
@discardableResult
func damage(store: String, marker: String) throws -> Int {
    let file = URL(fileURLWithPath: store).appendingPathComponent("data.mdb")
    var bytes = try Data(contentsOf: file)
    let needle = Data(marker.utf8)
    var searchFrom = bytes.startIndex
    var copies = 0
    while let range = bytes.range(of: needle, in: searchFrom..<bytes.endIndex) {
        bytes[range.lowerBound + 2] ^= 0x01  // still valid UTF-8: only the checksum tells
        searchFrom = range.upperBound
        copies += 1
    }
    try bytes.write(to: file)
    return copies
}
