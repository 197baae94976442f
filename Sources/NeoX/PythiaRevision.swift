/// The training-checkpoint revisions of the Pythia suite on the Hugging Face Hub.
///
/// Every Pythia repository has 154 branches `step{n}`: step0, the log-spaced steps 1, 2, 4, …, 512,
/// then every 1000 steps from 1000 to 143000 (EleutherAI/pythia README, "Checkpoints"). `main` is
/// the final checkpoint, step 143000.
public enum PythiaRevision {
    /// The final training step; `main` serves this checkpoint.
    public static let finalStep = 143_000

    /// All 154 checkpoint steps, ascending.
    public static let steps: [Int] = [0] + (0...9).map { 1 << $0 } + Array(stride(from: 1000, through: finalStep, by: 1000))

    /// All 154 branch names, ascending by step.
    public static var all: [String] { steps.map(name(step:)) }

    /// The branch name of a step: `step{n}`.
    public static func name(step: Int) -> String { "step\(step)" }

    /// The step of a `step{n}` branch name (decimal digits only, no sign or leading zeros), or nil.
    public static func step(of revision: String) -> Int? {
        guard revision.hasPrefix("step") else { return nil }
        let digits = revision.dropFirst(4)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              digits == "0" || !digits.hasPrefix("0")
        else { return nil }
        return Int(digits)
    }

    /// Whether the Pythia suite published a checkpoint at `step`.
    public static func isCheckpoint(step: Int) -> Bool {
        stepSet.contains(step)
    }

    private static let stepSet = Set(steps)

    /// The published checkpoint steps in `range` (for sweep plans such as "every 10k from 1000").
    public static func steps(in range: ClosedRange<Int>) -> [Int] {
        steps.filter(range.contains)
    }
}
