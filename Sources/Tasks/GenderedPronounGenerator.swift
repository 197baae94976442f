import Foundation

/// Gendered pronoun (Mathwin et al. 2023; spec/paper-pipeline.md §2.3):
/// "So {name} is such a good cook, isn't" → " she"/" he" by the name's gender.
///
/// The authors' CSV holds the 100 prompts of 5 templates × 20 names; this generator builds the same
/// 100 and shuffles them with the seed. The corruption replaces the name with a random name of the
/// other gender. Logit difference: correct pronoun − other pronoun.
struct GenderedPronounGenerator {
    let context: TaskGenerator

    static let templates = [
        "So {name} is a really great friend, isn't",
        "So {name} is such a good cook, isn't",
        "So {name} is a very good athlete, isn't",
        "So {name} is such a funny person, isn't",
        "So {name} is a really nice person, isn't",
    ]
    static let femaleNames = ["Judy", "Julie", "Amy", "Lisa", "Sarah", "Anna", "Mary", "Susan", "Carol", "Karen"]
    static let maleNames = ["Jack", "Mark", "John", "Joe", "Sean", "Paul", "Ryan", "David", "Gary", "Carl"]

    func generate(size: Int, random: inout SeededRandom) throws -> [TaskDataset.Example] {
        let female = try context.singleTokenWords(Self.femaleNames, task: .genderedPronoun, what: "female names", needed: 1)
        let male = try context.singleTokenWords(Self.maleNames, task: .genderedPronoun, what: "male names", needed: 1)
        let she = try context.singleToken(" she", task: .genderedPronoun)
        let he = try context.singleToken(" he", task: .genderedPronoun)

        var prompts: [(template: String, name: String, isFemale: Bool)] = []
        for template in Self.templates {
            for name in female { prompts.append((template, name.word, true)) }
            for name in male { prompts.append((template, name.word, false)) }
        }
        guard size <= prompts.count else {
            throw TaskError.badSize(task: .genderedPronoun, size: size, reason: "only \(prompts.count) distinct template × name prompts exist")
        }
        random.shuffle(&prompts)
        return try prompts.prefix(size).map { prompt in
            let other = random.element(of: prompt.isFemale ? male : female).word
            return try context.example(
                task: .genderedPronoun,
                clean: prompt.template.replacingOccurrences(of: "{name}", with: prompt.name),
                corrupted: prompt.template.replacingOccurrences(of: "{name}", with: other),
                correct: [prompt.isFemale ? she : he], incorrect: [prompt.isFemale ? he : she])
        }
    }
}
