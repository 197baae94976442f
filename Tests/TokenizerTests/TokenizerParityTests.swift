import Foundation
import Testing
@testable import Tokenizer

/// Golden cases from HF tokenizers 0.23.3 (Tests/Fixtures/tokenizer/cases.json, fixtures README §4).
enum TokenizerFixture {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizer")
    static let tokenizerURL = directory.appendingPathComponent("tokenizer.json")

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var ids: [Int]
        var tokens: [String]
        var decoded: String
        var testDescription: String { text.debugDescription }
    }

    struct Cases: Decodable {
        var cases: [Case]
        var tokenizerSHA256: String
        enum CodingKeys: String, CodingKey {
            case cases
            case tokenizerSHA256 = "tokenizer_sha256"
        }
    }

    static let cases: Cases = {
        do {
            let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
            return try JSONDecoder().decode(Cases.self, from: data)
        } catch {
            Issue.record("cannot load cases.json: \(error)")
            return Cases(cases: [], tokenizerSHA256: "")
        }
    }()

    static let tokenizer: BPETokenizer? = try? BPETokenizer(contentsOf: tokenizerURL)
}

@Suite struct TokenizerParityTests {
    @Test func loadsFixtureAndHashesIt() throws {
        let tokenizer = try BPETokenizer(contentsOf: TokenizerFixture.tokenizerURL)
        #expect(tokenizer.sha256 == "56ac4821e129d2c520fdaba60abd920fa852ada51b45c0dd52bbb6bd8c985ade")
        #expect(tokenizer.sha256 == TokenizerFixture.cases.tokenizerSHA256)
        #expect(tokenizer.vocabularySize == 50_277)
    }

    @Test func helloWorld() throws {
        let tokenizer = try #require(TokenizerFixture.tokenizer)
        #expect(tokenizer.encode("Hello world") == [12092, 1533])
        #expect(try tokenizer.decode([12092, 1533]) == "Hello world")
    }

    @Test func fixtureHasAllCases() {
        #expect(TokenizerFixture.cases.cases.count == 68)
    }

    @Test(arguments: TokenizerFixture.cases.cases)
    func encodeMatchesReference(_ golden: TokenizerFixture.Case) throws {
        let tokenizer = try #require(TokenizerFixture.tokenizer)
        let ids = tokenizer.encode(golden.text)
        #expect(ids == golden.ids)
        #expect(ids.map { tokenizer.token(of: $0) ?? "?" } == golden.tokens)
    }

    @Test(arguments: TokenizerFixture.cases.cases)
    func decodeMatchesReference(_ golden: TokenizerFixture.Case) throws {
        let tokenizer = try #require(TokenizerFixture.tokenizer)
        #expect(try tokenizer.decode(golden.ids) == golden.decoded)
    }

    @Test func unknownIDIsAnError() throws {
        let tokenizer = try #require(TokenizerFixture.tokenizer)
        #expect(throws: TokenizerError.unknownID(60_000)) { try tokenizer.decode([60_000]) }
    }

    @Test func missingFileNamesThePath() {
        let url = URL(fileURLWithPath: "/nonexistent/tokenizer.json")
        do {
            _ = try BPETokenizer(contentsOf: url)
            Issue.record("expected an error")
        } catch let error as TokenizerError {
            #expect(error.description.contains("/nonexistent/tokenizer.json"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func singleTokenLookup() throws {
        let tokenizer = try #require(TokenizerFixture.tokenizer)
        #expect(tokenizer.singleTokenID(" Mary") == 6393)
        #expect(tokenizer.singleTokenID(" she") == 703)
        #expect(tokenizer.singleTokenID("1732") == nil)
        #expect(tokenizer.id(ofToken: "Ġhe") == 344)
    }
}

@Suite struct TokenizerThroughputTests {
    /// Prints encode throughput on English prose; asserts only a generous floor so that debug
    /// builds and a loaded CI machine pass. The release figure is what counts.
    @Test func encodeThroughput() throws {
        let tokenizer = try #require(TokenizerFixture.tokenizer)
        let paragraph = """
        The history of the region is long and complicated. In the early years, small settlements \
        grew along the river, where farmers traded grain, wool and timber with merchants who came \
        from the coast. By the eighteenth century the town had a market, two churches, a school and \
        a mill; its population doubled between 1732 and 1790. Travellers described the streets as \
        narrow but clean, and the people as friendly, if somewhat suspicious of strangers. "We were \
        received kindly," wrote one visitor, "though nobody would tell us the way to the bridge." \
        Today the old quarter is a museum district, and the river carries more tourists than grain.

        """
        var text = ""
        var k = 0
        while text.utf8.count < 1_000_000 {
            text += paragraph.replacingOccurrences(of: "region", with: "region\(k % 97)")
            k += 1
        }
        let bytes = Double(text.utf8.count)
        let clock = ContinuousClock()
        var ids: [Int] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let rate = bytes / seconds / 1e6
        print("tokenizer.encode throughput: \(String(format: "%.2f", rate)) MB/s (\(Int(bytes)) bytes, \(ids.count) tokens, \(String(format: "%.3f", seconds)) s)")
        #expect(!ids.isEmpty)
        #if DEBUG
        let floor = 0.03
        #else
        let floor = 0.3
        #endif
        #expect(rate >= floor, "encode throughput \(rate) MB/s is below the floor \(floor) MB/s")
    }
}
