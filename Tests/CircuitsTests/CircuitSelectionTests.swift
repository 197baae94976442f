import Foundation
import FixtureSupport
import Testing
@testable import Circuits

@Suite struct CircuitSelectionTests {
    static let models: [(String, CircuitGraph)] = [
        ("neox-tiny", CircuitGraph(layers: 2, heads: 4, parallelResidual: true)),
        ("neox-small-seq", CircuitGraph(layers: 3, heads: 4, parallelResidual: false)),
    ]

    @Test(arguments: 0..<2)
    func greedyAndTopNMatchReferenceMasksAndCounts(model: Int) throws {
        let (name, graph) = Self.models[model]
        let scores = NumericFixtures.floats(try #require(try NumericFixtures.safetensors("eap/\(name)/scores.safetensors")["eap_ig_inputs_30"]))
        let expected = try NumericFixtures.safetensors("eap/\(name)/circuits.safetensors")
        let json = try #require(try NumericFixtures.json("eap/\(name)/circuits.json") as? [String: Any])
        let cases = try #require(json["cases"] as? [[String: Any]])
        #expect(cases.count == 6)
        for testCase in cases {
            let key = try #require(testCase["key"] as? String)
            let selection: CircuitSelection = key.hasPrefix("greedy") ? .greedy : .topN
            let n = try #require(testCase["n_requested"] as? Int)
            let circuit = graph.selectCircuit(selection, edgeCount: n, scores: scores)
            #expect(circuit.edges == expected["\(key)_edges"].map(NumericFixtures.bools), "\(name) \(key) edges")
            #expect(circuit.nodes == expected["\(key)_nodes"].map(NumericFixtures.bools), "\(name) \(key) nodes")
            #expect(circuit.edgeCount == testCase["n_edges_after_prune"] as? Int, "\(name) \(key)")
            #expect(circuit.nodeCount == testCase["n_nodes_after_prune"] as? Int, "\(name) \(key)")
            #expect(circuit.edgeNames == testCase["edges_in_circuit"] as? [String], "\(name) \(key)")
        }
    }

    @Test(arguments: 0..<2)
    func probDiffGreedyMatchesReference(model: Int) throws {
        let (name, graph) = Self.models[model]
        let scores = NumericFixtures.floats(try #require(try NumericFixtures.safetensors("eap/\(name)/scores.safetensors")["probdiff_eap_ig_inputs_5"]))
        let expected = try NumericFixtures.safetensors("eap/\(name)/circuits.safetensors")
        let circuit = graph.selectCircuit(.greedy, edgeCount: 20, scores: scores)
        #expect(circuit.edges == expected["probdiff_greedy_20_edges"].map(NumericFixtures.bools))
        #expect(circuit.nodes == expected["probdiff_greedy_20_nodes"].map(NumericFixtures.bools))
    }

    @Test func fullAndEmptyCircuitsSurvivePruningAsExpected() {
        let graph = CircuitGraph(layers: 2, heads: 4, parallelResidual: true)
        let full = Circuit.full(graph).pruned()
        #expect(full.edgeCount == graph.edgeCount)
        #expect(full.nodeCount == graph.senderCount)
        #expect(Circuit.empty(graph).pruned().edgeCount == 0)
    }

    @Test func pruningRemovesNodesThatDoNotReachLogits() {
        let graph = CircuitGraph(layers: 2, heads: 4, parallelResidual: true)
        // input -> a0.h0<q> only: a0.h0 has no outgoing edge, so the edge dies.
        var mask = [Bool](repeating: false, count: graph.edgeCount)
        mask[graph.edges.firstIndex(of: Edge(sender: 0, receiver: graph.receiverIndex(ofHead: 0, layer: 0, slot: .q)))!] = true
        #expect(Circuit(graph: graph, edges: mask).pruned().edgeCount == 0)
        // input -> a0.h0<q>, a0.h0 -> logits: a connected path survives.
        mask[graph.edges.firstIndex(of: Edge(sender: graph.senderIndex(ofHead: 0, layer: 0), receiver: graph.logitsReceiverIndex))!] = true
        let kept = Circuit(graph: graph, edges: mask).pruned()
        #expect(kept.edgeNames == ["input->a0.h0<q>", "a0.h0->logits"])
        #expect(kept.nodeCount == 2)
    }

    @Test func greedyRequestLargerThanGraphTakesEverythingReachable() {
        let graph = CircuitGraph(layers: 2, heads: 2, parallelResidual: true)
        let scores = (0..<graph.edgeCount).map { Float($0 % 7) - 3 }
        let circuit = graph.selectCircuit(.greedy, edgeCount: graph.edgeCount + 10, scores: scores)
        #expect(circuit.edgeCount == graph.edgeCount)
    }
}
