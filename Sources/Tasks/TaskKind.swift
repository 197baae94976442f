import Circuits

/// The four tasks of Tigges et al. (spec/paper-pipeline.md §2).
public enum TaskKind: String, Sendable, Codable, CaseIterable {
    case ioi
    case greaterThan = "greater-than"
    case genderedPronoun = "gendered-pronoun"
    case sva

    /// The metric the paper reports for the task (§2): logit difference for IOI and
    /// Gendered-Pronoun, probability difference for Greater-Than and SVA.
    public var metric: TaskMetric {
        switch self {
        case .ioi, .genderedPronoun: return .logitDiff
        case .greaterThan, .sva: return .probDiff
        }
    }

    /// The dataset size used for EAP-IG (§3.2): IOI 70, Greater-Than 200, Gendered-Pronoun 100
    /// (all distinct template × name prompts). SVA's size is not known (§9.2); 200 is our choice.
    public var defaultSize: Int {
        switch self {
        case .ioi: return 70
        case .greaterThan: return 200
        case .genderedPronoun: return 100
        case .sva: return 200
        }
    }

    /// The seed used when none is given: 42 for IOI (the paper's), 1234 for the others (the
    /// paper's were unseeded, §8.7).
    public var defaultSeed: UInt64 {
        self == .ioi ? 42 : 1234
    }
}
