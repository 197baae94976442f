extension PatchedEvaluator: CircuitEvaluating {
    public func fullModelValues() -> [Double] { fullModelMetrics.map(Double.init) }
    public func emptyCircuitValues() -> [Double] { emptyCircuitMetrics.map(Double.init) }
    public func values(of circuit: Circuit) throws -> [Double] {
        try metrics(edgeMask: circuit.edges).map(Double.init)
    }
}
