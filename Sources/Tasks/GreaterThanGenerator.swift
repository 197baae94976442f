import Foundation

/// Greater-Than (Hanna et al. 2023; spec/paper-pipeline.md §2.2):
/// "The {noun} lasted from the year {XX}{YY} to the year {XX}" → a two-digit token > YY.
///
/// Years 1100–1799 are kept when " XXYY" tokenizes as [" XX", "YY"]; the first and last valid year
/// of each century are dropped (`get_valid_years`). Sampling is balanced: YY cycles through the
/// usable end digits 02…98 and XX is drawn among the centuries valid for it. The corruption puts
/// YY = 01. Correct answers are the tokens "YY'" with YY' > YY, incorrect those with YY' ≤ YY
/// (`prepare_indices_for_prob_diff`).
struct GreaterThanGenerator {
    let context: TaskGenerator

    /// Hanna et al.'s event nouns (greater_than_dataset.py).
    static let nouns = [
        "abduction", "accord", "affair", "agreement", "appraisal", "assaults", "assessment", "attack", "attempts", "campaign",
        "captivity", "case", "challenge", "chaos", "clash", "collaboration", "coma", "competition", "confrontation", "consequence",
        "conspiracy", "construction", "consultation", "contact", "contract", "convention", "cooperation", "custody", "deal", "decline",
        "decrease", "demonstrations", "development", "disagreement", "disorder", "dispute", "domination", "dynasty", "effect", "effort",
        "employment", "endeavor", "engagement", "epidemic", "evaluation", "exchange", "existence", "expansion", "expedition", "experiments",
        "fall", "fame", "flights", "friendship", "growth", "hardship", "hostility", "illness", "impact", "imprisonment",
        "improvement", "incarceration", "increase", "insurgency", "invasion", "investigation", "journey", "kingdom", "marriage", "modernization",
        "negotiation", "notoriety", "obstruction", "operation", "order", "outbreak", "outcome", "overhaul", "patrols", "pilgrimage",
        "plague", "plan", "practice", "process", "program", "progress", "project", "pursuit", "quest", "raids",
        "reforms", "reign", "relationship", "retaliation", "riot", "rise", "rivalry", "romance", "rule", "sanctions",
        "shift", "siege", "slump", "stature", "stint", "strikes", "study", "test", "testing", "tests",
        "therapy", "tour", "tradition", "treaty", "trial", "trip", "unemployment", "voyage", "warfare", "work",
    ]

    func generate(size: Int, random: inout SeededRandom) throws -> [TaskDataset.Example] {
        let tokenizer = context.tokenizer
        // The 100 two-digit answer tokens, no leading space.
        let yearTokens = try (0..<100).map { try context.singleToken(Self.twoDigits($0), task: .greaterThan) }

        // Valid years per end digits YY, as centuries XX (11…17).
        var centuriesByYY = [[Int]](repeating: [], count: 100)
        for century in 11...17 {
            guard let centuryID = tokenizer.singleTokenID(" \(century)") else { continue }
            let valid = (0..<100).filter { yy in
                tokenizer.encode(" \(century)\(Self.twoDigits(yy))") == [centuryID, yearTokens[yy]]
            }
            // Drop the first and last valid year of the century; YY = 01 must be valid for the corruption.
            guard valid.count > 2, valid.contains(1) else { continue }
            for yy in valid.dropFirst().dropLast() where yy >= 2 && yy <= 98 {
                centuriesByYY[yy].append(century)
            }
        }
        let usableYY = (2...98).filter { !centuriesByYY[$0].isEmpty }
        guard usableYY.count >= 10 else {
            throw TaskError.notEnoughSingleTokens(task: .greaterThan, what: "years of the form [\" XX\", \"YY\"]", found: usableYY.count, needed: 10)
        }

        var examples: [TaskDataset.Example] = []
        examples.reserveCapacity(size)
        for i in 0..<size {
            let yy = usableYY[i % usableYY.count]
            let century = random.element(of: centuriesByYY[yy])
            let noun = random.element(of: Self.nouns)
            let clean = "The \(noun) lasted from the year \(century)\(Self.twoDigits(yy)) to the year \(century)"
            let corrupted = "The \(noun) lasted from the year \(century)01 to the year \(century)"
            examples.append(try context.example(
                task: .greaterThan, clean: clean, corrupted: corrupted,
                correct: Array(yearTokens[(yy + 1)...]), incorrect: Array(yearTokens[...yy])))
        }
        return examples
    }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
