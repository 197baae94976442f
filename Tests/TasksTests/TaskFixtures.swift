import Foundation
import Testing
import Tokenizer

/// The fixture Pythia (GPT-NeoX-20B) tokenizer, loaded once.
enum TaskFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let tokenizerURL = root.appendingPathComponent("tokenizer/tokenizer.json")
    static let tokenizer: Result<BPETokenizer, any Error> = Result { try BPETokenizer(contentsOf: tokenizerURL) }
    static func loadTokenizer() throws -> BPETokenizer { try tokenizer.get() }
}
