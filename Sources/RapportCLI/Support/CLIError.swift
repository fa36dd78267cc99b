import ArgumentParser
import Foundation
import RapportCore
import RapportEventLog
import RapportProjections
import RapportReplay

/// A failure the command explains in one line, with its exit code.
struct CLIError: Error, CustomStringConvertible {
    /// Exit codes, after BSD's sysexits where one fits.
    enum ExitStatus: Int32 {
        /// `verify` found a problem.
        case problemFound = 1
        /// No projection has the name given to `rebuild`, none is registered,
        /// or two registered ones share a name.
        case unknownProjection = 2
        /// No contact, deal or pipeline has the id (or name) given.
        case notFound = 3
        /// A wrong argument: a malformed date, an unknown backend, a page
        /// token that is not one (EX_USAGE).
        case usage = 64
        /// The store or a read model is damaged, or not a Rapport store (EX_DATAERR).
        case dataError = 65
        /// No store, or no input file (EX_NOINPUT).
        case noInput = 66
        /// The feature is not in this build (EX_UNAVAILABLE).
        case unavailable = 69
        /// Reading or writing failed (EX_IOERR).
        case ioError = 74
    }

    var message: String
    var status: ExitStatus

    init(_ message: String, status: ExitStatus) {
        self.message = message
        self.status = status
    }

    var description: String { message }

    /// The explanation and exit code for any error a command lets through.
    static func explaining(_ error: any Error) -> CLIError {
        switch error {
        case let error as CLIError:
            return error
        case let error as EventStoreError:
            return explaining(storeError: error)
        case let error as CRMError:
            if case .store(let storeError) = error { return explaining(storeError: storeError) }
            return CLIError(error.description, status: .dataError)
        case let error as ReplayError:
            switch error {
            case .store(let storeError): return explaining(storeError: storeError)
            case .unknownProjection, .duplicateProjectionNames: return CLIError(error.description, status: .unknownProjection)
            case .projectionFailed, .timedOut, .cancelled, .unregisteredTypes: return CLIError(error.description, status: .dataError)
            }
        case let error as ProjectionQueryError:
            switch error {
            case .store(let storeError): return explaining(storeError: storeError)
            case .corruptValue: return CLIError(error.description, status: .dataError)
            case .invalidToken, .invalidArgument: return CLIError(error.description, status: .usage)
            case .notCaughtUp, .notBuilt: return CLIError(error.description, status: .ioError)
            }
        default:
            return CLIError("\(error)", status: .ioError)
        }
    }

    private static func explaining(storeError error: EventStoreError) -> CLIError {
        switch error {
        case .corruptedRecord, .incompatibleStore, .typeMismatch, .undecodablePayload:
            return CLIError(error.description, status: .dataError)
        default:
            return CLIError(error.description, status: .ioError)
        }
    }
}

/// Runs a command's body; any error becomes one line on stderr and an exit code.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
        try Terminal.finishOutput()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let explained = CLIError.explaining(error)
        Terminal.error("rapport: " + explained.message.replacingOccurrences(of: "\n", with: " "))
        throw ExitCode(explained.status.rawValue)
    }
}
