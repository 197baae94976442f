import Foundation

/// Subject–verb agreement (spec/paper-pipeline.md §2.4), regenerated from Marvin & Linzen (2018)
/// style templates because the authors' CSVs are not available (§9.8).
///
/// Each prompt ends just before the main verb; the clean and corrupted prompts differ only in the
/// number of the head noun (and of verbs that agree with it inside a subject relative clause):
/// "The author that the guards like" (singular) vs "The authors that the guards like" (plural).
/// Halves of the dataset start singular and plural. Answers (probability difference, group_sum):
/// verbs agreeing with the clean subject are correct, their other-number forms incorrect
/// (`get_singular_and_plural(strict=False)`, every verb that is one token with a leading space).
struct SVAGenerator {
    let context: TaskGenerator

    /// Marvin & Linzen's animate nouns (singular, plural).
    static let nouns: [(String, String)] = [
        ("author", "authors"), ("pilot", "pilots"), ("surgeon", "surgeons"), ("farmer", "farmers"),
        ("manager", "managers"), ("customer", "customers"), ("officer", "officers"), ("teacher", "teachers"),
        ("senator", "senators"), ("skater", "skaters"), ("dancer", "dancers"), ("guard", "guards"),
        ("minister", "ministers"), ("doctor", "doctors"), ("lawyer", "lawyers"), ("student", "students"),
    ]
    /// Transitive verbs used inside relative clauses (singular, plural).
    static let clauseVerbs: [(String, String)] = [
        ("likes", "like"), ("hates", "hate"), ("admires", "admire"), ("loves", "love"),
    ]
    static let prepositions = ["next to", "behind", "near", "in front of"]
    /// Main verbs: the answer set (singular, plural).
    static let answerVerbs: [(String, String)] = [
        ("is", "are"), ("was", "were"), ("has", "have"), ("does", "do"), ("laughs", "laugh"),
        ("smiles", "smile"), ("swims", "swim"), ("runs", "run"), ("says", "say"), ("knows", "know"),
        ("thinks", "think"), ("wants", "want"), ("likes", "like"), ("seems", "seem"), ("goes", "go"),
        ("makes", "make"), ("takes", "take"), ("gets", "get"), ("comes", "come"), ("looks", "look"),
        ("works", "work"), ("writes", "write"), ("reads", "read"), ("lives", "live"), ("plays", "play"),
    ]

    enum Family: CaseIterable {
        case simple, prepositional, subjectRelative, objectRelative, sentenceComplement
    }

    func generate(size: Int, random: inout SeededRandom) throws -> [TaskDataset.Example] {
        let tokenizer = context.tokenizer
        let verbs = Self.answerVerbs.compactMap { pair -> (Int, Int)? in
            guard let s = tokenizer.singleTokenID(" " + pair.0), let p = tokenizer.singleTokenID(" " + pair.1) else { return nil }
            return (s, p)
        }
        guard verbs.count >= 5 else {
            throw TaskError.notEnoughSingleTokens(task: .sva, what: "singular/plural verb pairs", found: verbs.count, needed: 5)
        }
        let singular = Self.unique(verbs.map(\.0)), plural = Self.unique(verbs.map(\.1))
        // Nouns whose singular and plural forms tokenize to the same length.
        let nouns = Self.nouns.filter { tokenizer.encode(" " + $0.0).count == tokenizer.encode(" " + $0.1).count }
        guard nouns.count >= 4 else {
            throw TaskError.notEnoughSingleTokens(task: .sva, what: "nouns with equal-length singular and plural", found: nouns.count, needed: 4)
        }

        let clauseVerbs = Self.clauseVerbs.filter { tokenizer.encode(" " + $0.0).count == tokenizer.encode(" " + $0.1).count }
        guard !clauseVerbs.isEmpty else {
            throw TaskError.notEnoughSingleTokens(task: .sva, what: "clause verbs with equal-length singular and plural", found: 0, needed: 1)
        }

        var examples: [TaskDataset.Example] = []
        examples.reserveCapacity(size)
        for i in 0..<size {
            let family = Family.allCases[random.nextInt(below: Family.allCases.count)]
            let subject = random.element(of: nouns)
            var other = random.element(of: nouns)
            while other.0 == subject.0 { other = random.element(of: nouns) }
            let otherPlural = random.nextInt(below: 2) == 1
            let attractor = otherPlural ? other.1 : other.0
            let clauseVerb = random.element(of: clauseVerbs)
            let preposition = random.element(of: Self.prepositions)
            let cleanPlural = i % 2 == 1

            func prompt(plural: Bool) -> String {
                let noun = plural ? subject.1 : subject.0
                switch family {
                case .simple:
                    return "The \(noun)"
                case .prepositional:
                    return "The \(noun) \(preposition) the \(attractor)"
                case .subjectRelative:
                    return "The \(noun) that \(plural ? clauseVerb.1 : clauseVerb.0) the \(attractor)"
                case .objectRelative:
                    return "The \(noun) that the \(attractor) \(otherPlural ? clauseVerb.1 : clauseVerb.0)"
                case .sentenceComplement:
                    return "The \(attractor) said the \(noun)"
                }
            }
            examples.append(try context.example(
                task: .sva, clean: prompt(plural: cleanPlural), corrupted: prompt(plural: !cleanPlural),
                correct: cleanPlural ? plural : singular, incorrect: cleanPlural ? singular : plural))
        }
        return examples
    }

    /// Ids in first-seen order without repeats (" like" may be both an answer and a clause verb).
    static func unique(_ ids: [Int]) -> [Int] {
        var seen = Set<Int>()
        return ids.filter { seen.insert($0).inserted }
    }
}
