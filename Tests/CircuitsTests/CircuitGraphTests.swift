import Foundation
import FixtureSupport
import Testing
@testable import Circuits

@Suite struct CircuitGraphTests {
    @Test(arguments: [("neox-tiny", 2, 4, true), ("neox-small-seq", 3, 4, false)])
    func edgeNamesOrderAndIndicesMatchReference(model: String, layers: Int, heads: Int, parallel: Bool) throws {
        let reference = try #require(try NumericFixtures.json("eap/\(model)/edges.json") as? [String: Any])
        let graph = CircuitGraph(layers: layers, heads: heads, parallelResidual: parallel)
        let names = try #require(reference["edges"] as? [String])
        let matrixIndex = try #require(reference["matrix_index"] as? [[Int]])
        #expect(graph.edgeNames == names)
        #expect(graph.edgeCount == names.count)
        #expect(graph.edges.map { [$0.sender, $0.receiver] } == matrixIndex)
        #expect(reference["src_nodes"] as? [String] == (0..<graph.senderCount).map(graph.senderName))
        #expect(reference["dst_nodes"] as? [String] == (0..<graph.receiverCount).map(graph.receiverName))
        #expect(reference["n_forward"] as? Int == graph.senderCount)
        #expect(reference["n_backward"] as? Int == graph.receiverCount)
    }

    /// Spec §2.4 table, without weights.
    @Test(arguments: [
        ("70m", 6, 8, 56, 55, 151, 3_580),
        ("160m", 12, 12, 158, 157, 445, 32_347),
        ("410m", 24, 16, 410, 409, 1_177, 231_493),
        ("1b", 16, 8, 146, 145, 401, 27_545),
        ("1.4b", 24, 16, 410, 409, 1_177, 231_493),
        ("2.8b", 32, 32, 1_058, 1_057, 3_105, 1_591_857),
    ])
    func pythiaEdgeCountsFollowTheFormula(
        name: String, layers: Int, heads: Int, nodes: Int, senders: Int, receivers: Int, edges: Int
    ) {
        let graph = CircuitGraph(layers: layers, heads: heads, parallelResidual: true)
        #expect(graph.nodeCount == nodes)
        #expect(graph.senderCount == senders)
        #expect(graph.receiverCount == receivers)
        #expect(graph.edgeCount == edges, "\(name)")
        if layers <= 12 { #expect(graph.edges.count == edges) }
    }

    @Test func sequentialGraphAddsOneEdgePerHead() {
        let graph = CircuitGraph(layers: 3, heads: 4, parallelResidual: false)
        #expect(graph.edgeCount == 262)
        #expect(graph.edges.count == 262)
        #expect(CircuitGraph(layers: 3, heads: 4, parallelResidual: true).edgeCount == 250)
    }

    @Test func upstreamSetsFollowPrevIndex() {
        let graph = CircuitGraph(layers: 2, heads: 4, parallelResidual: true)
        #expect(graph.upstreamSenderCount(ofReceiver: graph.receiverIndex(ofHead: 3, layer: 1, slot: .v)) == 6)
        #expect(graph.upstreamSenderCount(ofReceiver: graph.receiverIndex(ofMLP: 1)) == 6)
        #expect(graph.upstreamSenderCount(ofReceiver: graph.logitsReceiverIndex) == 11)
        let seq = CircuitGraph(layers: 2, heads: 4, parallelResidual: false)
        #expect(seq.upstreamSenderCount(ofReceiver: seq.receiverIndex(ofMLP: 1)) == 10)
        #expect(graph.receivers(ofSender: graph.senderIndex(ofHead: 2, layer: 1)).map(graph.receiverName)
                == ["a1.h2<q>", "a1.h2<k>", "a1.h2<v>"])
    }
}
