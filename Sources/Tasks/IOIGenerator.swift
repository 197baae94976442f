import Foundation

/// Indirect object identification (spec/paper-pipeline.md §2.1): Wang et al.'s `IOIDataset` with
/// `prompt_type="mixed"` (15 BABA templates and their ABBA twins) and the corruption
/// "ABB->ABA, BAB->BAA" (the second subject mention S2 becomes the IO name).
///
/// Clean: "Then, Mary and John went to the store. John gave a drink to" → " Mary" (IO) over " John" (S).
/// Corrupted: "… Mary gave a drink to". Names are drawn without repetition inside an example and
/// must be single tokens with a leading space.
struct IOIGenerator {
    let context: TaskGenerator

    /// Wang et al. `BABA_TEMPLATES` (ioi_dataset.py). [B] is the subject S, [A] the indirect object.
    static let babaTemplates = [
        "Then, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
        "Then, [B] and [A] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to [A]",
        "Then, [B] and [A] were working at the [PLACE]. [B] decided to give a [OBJECT] to [A]",
        "Then, [B] and [A] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to [A]",
        "Then, [B] and [A] had a long argument, and afterwards [B] said to [A]",
        "After [B] and [A] went to the [PLACE], [B] gave a [OBJECT] to [A]",
        "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give it to [A]",
        "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give the [OBJECT] to [A]",
        "While [B] and [A] were working at the [PLACE], [B] gave a [OBJECT] to [A]",
        "While [B] and [A] were commuting to the [PLACE], [B] gave a [OBJECT] to [A]",
        "After the lunch, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
        "Afterwards, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
        "Then, [B] and [A] had a long argument. Afterwards [B] said to [A]",
        "The [PLACE] [B] and [A] went to had a [OBJECT]. [B] gave it to [A]",
        "Friends [B] and [A] found a [OBJECT] at the [PLACE]. [B] gave it to [A]",
    ]

    /// ABBA twins: the first clause names [A] first.
    static let abbaTemplates = babaTemplates.map { template in
        guard let b = template.range(of: "[B]"), let a = template.range(of: "[A]") else { return template }
        var swapped = template
        swapped.replaceSubrange(a, with: "[B]")
        swapped.replaceSubrange(b, with: "[A]")
        return swapped
    }

    static let places = ["store", "garden", "restaurant", "school", "hospital", "office", "house", "station"]
    static let objects = ["ring", "kiss", "bone", "basketball", "computer", "necklace", "drink", "snack"]

    /// 100 common first names in the style of ARENA's / Wang et al.'s `NAMES` (Aaron…). The exact list
    /// of the authors' `path_patching_cm/ioi_dataset.py` is not readable (spec §9.8); names that are
    /// not single tokens with a leading space are dropped.
    static let names = [
        "Aaron", "Adam", "Alan", "Alex", "Alice", "Amy", "Anderson", "Andre", "Andrew", "Andy",
        "Anna", "Anthony", "Arthur", "Austin", "Blake", "Brandon", "Brian", "Carter", "Charles", "Charlie",
        "Christian", "Christopher", "Clark", "Cole", "Collins", "Connor", "Crew", "Crystal", "Daniel", "David",
        "Dean", "Edward", "Elizabeth", "Emily", "Eric", "Eva", "Ford", "Frank", "George", "Georgia",
        "Graham", "Grant", "Henry", "Ian", "Jack", "Jacob", "Jake", "James", "Jamie", "Jane",
        "Jason", "Jay", "Jennifer", "Jeremy", "Jessica", "John", "Jonathan", "Jordan", "Joseph", "Joshua",
        "Justin", "Kate", "Kelly", "Kevin", "Kyle", "Laura", "Leon", "Lewis", "Lisa", "Louis",
        "Luke", "Madison", "Marco", "Marcus", "Maria", "Mark", "Martin", "Mary", "Matthew", "Max",
        "Michael", "Michelle", "Morgan", "Patrick", "Paul", "Peter", "Prince", "Rachel", "Richard", "River",
        "Robert", "Roman", "Rose", "Ruby", "Russell", "Ryan", "Sarah", "Scott", "Sean", "Simon",
    ]

    func generate(size: Int, random: inout SeededRandom) throws -> [TaskDataset.Example] {
        let names = try context.singleTokenWords(Self.names, task: .ioi, what: "IOI names", needed: 10)
        let templates = Self.babaTemplates + Self.abbaTemplates
        var examples: [TaskDataset.Example] = []
        examples.reserveCapacity(size)
        for _ in 0..<size {
            let template = random.element(of: templates)
            let io = random.element(of: names)
            var subject = random.element(of: names)
            while subject.word == io.word { subject = random.element(of: names) }
            let place = random.element(of: Self.places)
            let object = random.element(of: Self.objects)
            // The last [A] (the answer) is dropped: the prompt ends at the metric position.
            guard let answer = template.range(of: " [A]", options: .backwards) else { continue }
            let prompt = String(template[..<answer.lowerBound])
                .replacingOccurrences(of: "[PLACE]", with: place)
                .replacingOccurrences(of: "[OBJECT]", with: object)
            let clean = Self.fill(prompt, a: io.word, b: subject.word, secondB: subject.word)
            let corrupted = Self.fill(prompt, a: io.word, b: subject.word, secondB: io.word)
            examples.append(try context.example(task: .ioi, clean: clean, corrupted: corrupted,
                                                correct: [io.id], incorrect: [subject.id]))
        }
        return examples
    }

    /// Fills [A] and [B]; the second [B] (S2) takes `secondB`.
    static func fill(_ prompt: String, a: String, b: String, secondB: String) -> String {
        var text = prompt
        if let last = text.range(of: "[B]", options: .backwards) {
            text.replaceSubrange(last, with: secondB)
        }
        return text.replacingOccurrences(of: "[B]", with: b).replacingOccurrences(of: "[A]", with: a)
    }
}
