import Circuits
import Foundation
import Testing
@testable import Tasks
import Tokenizer

@Suite struct TaskGeneratorTests {
    @Test(arguments: TaskKind.allCases)
    func defaultSizeGeneratesWithSingleTokenAnswers(_ task: TaskKind) throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let dataset = try TaskGenerator(tokenizer: tokenizer).generate(task)
        #expect(dataset.examples.count == task.defaultSize)
        #expect(dataset.metric == task.metric)
        #expect(dataset.tokenizerSHA256 == tokenizer.sha256)
        for example in dataset.examples {
            #expect(example.clean.count == example.corrupted.count)
            #expect(example.clean.first == 0, "BOS first")
            #expect(example.clean != example.corrupted)
            #expect(Array(example.clean.dropFirst()) == tokenizer.encode(example.cleanText))
            #expect(Array(example.corrupted.dropFirst()) == tokenizer.encode(example.corruptedText))
            #expect(!example.correct.isEmpty && !example.incorrect.isEmpty)
            #expect(Set(example.correct).isDisjoint(with: example.incorrect))
            // Every answer id is one token that round-trips through decode and encode.
            for id in example.correct + example.incorrect {
                #expect(tokenizer.encode(try tokenizer.decode([id])) == [id])
            }
        }
    }

    @Test(arguments: TaskKind.allCases)
    func sameInputsGiveByteIdenticalFiles(_ task: TaskKind) throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let generator = TaskGenerator(tokenizer: tokenizer)
        let a = try generator.generate(task, size: 40, seed: 7).canonicalJSON()
        let b = try generator.generate(task, size: 40, seed: 7).canonicalJSON()
        let c = try generator.generate(task, size: 40, seed: 8).canonicalJSON()
        #expect(a == b)
        #expect(a != c)
    }

    @Test func fileCarriesHashAndDecodesAsTaskExamples() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let dataset = try TaskGenerator(tokenizer: tokenizer).generate(.ioi, size: 5, seed: 1)
        let data = try dataset.canonicalJSON()
        let decoded = try TaskDataset.decode(data, path: "memory")
        #expect(decoded == dataset)
        #expect(decoded.datasetSHA256 == (try dataset.computedSHA256()))
        // The attribution model reads the same bytes.
        let examples = try JSONDecoder().decode(TaskExamples.self, from: data)
        #expect(examples == dataset.taskExamples)
        // Sorted keys, compact.
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasPrefix("{\"dataset_sha256\":"))
        #expect(!text.contains("\n"))
        // Tampering is detected.
        var tampered = dataset
        tampered.examples[0].correct = [1]
        let tamperedData = try tampered.canonicalJSON()
        #expect(throws: TaskError.self) { try TaskDataset.decode(tamperedData, path: "memory") }
    }

    @Test func ioiExampleShape() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let dataset = try TaskGenerator(tokenizer: tokenizer).generate(.ioi, size: 30, seed: 42)
        for example in dataset.examples {
            let io = try tokenizer.decode(example.correct)
            let s = try tokenizer.decode(example.incorrect)
            #expect(io.hasPrefix(" ") && s.hasPrefix(" ") && io != s)
            // Clean: IO once, S twice; corrupted: S2 became IO.
            #expect(example.clean.filter { $0 == example.correct[0] }.count == 1)
            #expect(example.clean.filter { $0 == example.incorrect[0] }.count == 2)
            #expect(example.corrupted.filter { $0 == example.correct[0] }.count == 2)
            #expect(example.corrupted.filter { $0 == example.incorrect[0] }.count == 1)
            #expect(example.cleanText.hasSuffix(" to") || example.cleanText.hasSuffix(" said to"))
        }
        #expect(try CopyScores.ioiSites(dataset.examples).count == 90)
    }

    @Test func greaterThanExampleShape() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let dataset = try TaskGenerator(tokenizer: tokenizer).generate(.greaterThan, size: 100, seed: 3)
        for example in dataset.examples {
            #expect(example.correct.count + example.incorrect.count == 100)
            #expect(example.cleanText.hasPrefix("The "))
            #expect(example.corruptedText.contains("01 to the year"))
            // The last token is the century " XX", and the clean year is " XX" + "YY".
            let yy = 100 - example.correct.count - 1
            #expect(try tokenizer.decode([example.incorrect.last ?? -1]) == GreaterThanGenerator.twoDigits(yy))
        }
        // Balanced: YY cycles from 02.
        #expect(dataset.examples[0].cleanText.contains("02 to the year"))
    }

    @Test func pythiaKnownAnswerIDs() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let gp = try TaskGenerator(tokenizer: tokenizer).generate(.genderedPronoun)
        #expect(Set(gp.examples.flatMap { $0.correct + $0.incorrect }) == [344, 703])
        #expect(Set(gp.examples.map(\.cleanText)).count == 100, "all 100 template × name prompts")
        let gt = try TaskGenerator(tokenizer: tokenizer).generate(.greaterThan, size: 1)
        #expect(gt.examples[0].clean.last == tokenizer.singleTokenID(" \(gt.examples[0].cleanText.suffix(2))"))
    }

    @Test func noBOSOption() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let dataset = try TaskGenerator(tokenizer: tokenizer, prependBOS: false).generate(.sva, size: 10, seed: 1)
        #expect(!dataset.prependBOS)
        for example in dataset.examples { #expect(example.clean == tokenizer.encode(example.cleanText)) }
    }

    @Test func tooLargeGenderedPronounIsAClearError() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        #expect(throws: TaskError.self) { try TaskGenerator(tokenizer: tokenizer).generate(.genderedPronoun, size: 101) }
    }

    @Test func tinyVocabularyCannotSupplyNames() throws {
        // A byte-level BPE with no merges: every name is several tokens.
        var vocab: [String: Int] = [:]
        for b in 0..<256 where !(b == 0xC0 || b == 0xC1 || b >= 0xF5) {
            vocab[String(Tokenizer.byteLevelCharacter(UInt8(b)))] = vocab.count
        }
        let file: [String: Any] = [
            "added_tokens": [] as [Any],
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false],
            "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "vocab": vocab, "merges": [] as [String]],
        ]
        let tokenizer = try BPETokenizer(data: try JSONSerialization.data(withJSONObject: file))
        do {
            _ = try TaskGenerator(tokenizer: tokenizer).generate(.ioi)
            Issue.record("expected an error")
        } catch let error as TaskError {
            guard case .notEnoughSingleTokens = error else { Issue.record("wrong error \(error)"); return }
            #expect(error.description.contains("IOI names"))
        }
    }

    @Test func seededRandomIsStable() {
        var random = SeededRandom(seed: 0)
        // xoshiro256** seeded by SplitMix64(0): a pinned value guards against accidental changes.
        let first = random.next()
        var again = SeededRandom(seed: 0)
        #expect(again.next() == first)
        var other = SeededRandom(seed: 1)
        #expect(other.next() != first)
        var counts = [Int](repeating: 0, count: 4)
        for _ in 0..<4000 { counts[random.nextInt(below: 4)] += 1 }
        #expect(counts.allSatisfy { $0 > 850 && $0 < 1150 })
    }
}
