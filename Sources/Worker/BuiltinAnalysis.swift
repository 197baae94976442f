import Foundation
import Sweep

/// The built-in `noop` and `sleep` analyses, for testing the sweep machinery end to end.
/// Both write a small, valid result file describing the unit (``MinimalResult``).
public final class BuiltinAnalysis: UnitAnalysis {
    public init() {}

    public func handles(_ method: AttributionMethod) -> Bool { method == .noop || method == .sleep }
    public func needsCheckpoint(_ method: AttributionMethod) -> Bool { false }

    public func run(_ work: UnitWork) throws {
        if work.assignment.analysis.method == .sleep {
            let end = ContinuousClock.now + .seconds(work.assignment.analysis.seconds)
            while ContinuousClock.now < end {
                if work.cancellation.isCancelled { throw UnitCancelled() }
                let left = end - ContinuousClock.now
                Thread.sleep(forTimeInterval: min(0.05, max(0, left.inSeconds)))
            }
        }
        try MinimalResult(work).write(to: work.output)
    }
}

/// The result file of the built-in analyses: canonical JSON describing the unit (no
/// scientific content). Replaced by the HDF5 `UnitResult` once the Results module lands.
public struct MinimalResult: Codable, Equatable, Sendable {
    public var format = "circuitsweep-minimal-result/v1"
    public var unit: String
    public var model: String
    public var revision: String
    public var task: String
    public var datasetHash: String
    public var method: String
    public var resultSchemaVersion: Int
    public var software: String

    public init(_ work: UnitWork) {
        let a = work.assignment
        unit = a.unit.hex
        model = a.model.name
        revision = a.revision.name
        task = a.task.name
        datasetHash = a.datasetHash
        method = a.analysis.method.rawValue
        resultSchemaVersion = a.resultSchemaVersion
        software = work.software
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}
