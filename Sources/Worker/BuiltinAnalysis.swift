import Foundation
import Results
import Sweep

/// The built-in `noop` and `sleep` analyses, for testing the sweep machinery end to end.
/// Both write a valid minimal HDF5 unit result (`schemas/unit-result.md`): the identity and
/// provenance root attributes, no scientific content.
public final class BuiltinAnalysis: UnitAnalysis {
    public init() {}

    public func handles(_ method: Sweep.AttributionMethod) -> Bool { method == .noop || method == .sleep }
    public func needsCheckpoint(_ method: Sweep.AttributionMethod) -> Bool { false }

    public func run(_ work: UnitWork) throws {
        let started = ContinuousClock.now
        if work.assignment.analysis.method == .sleep {
            let end = started + .seconds(work.assignment.analysis.seconds)
            while ContinuousClock.now < end {
                if work.cancellation.isCancelled { throw UnitCancelled() }
                Thread.sleep(forTimeInterval: min(0.05, max(0, (end - ContinuousClock.now).inSeconds)))
            }
        }
        let a = work.assignment
        let step = a.revision.step
        let result = UnitResult(
            identity: UnitIdentity(unitID: a.unit.hex, model: a.model.name, revision: a.revision.name, task: a.task.name,
                                   trainingStep: step, tokensSeen: step.map { $0 * 2_097_152 }, datasetHash: a.datasetHash),
            provenance: Provenance(softwareVersion: work.software, host: work.host,
                                   timings: [a.analysis.method.rawValue: (ContinuousClock.now - started).inSeconds]))
        try UnitResultFile.write(result, to: work.output)
    }
}
