/// A seeded xoshiro256** generator, seeded through SplitMix64 (Vigna's reference seeding).
///
/// Every random choice of this module goes through `nextInt(below:)` and `shuffle(_:)`, which are
/// defined here rather than taken from the standard library, so a dataset depends only on
/// (task, size, seed, tokenizer) and not on the Swift version's shuffling algorithm.
public struct SeededRandom: Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    /// A uniform integer in 0..<bound by rejection sampling (no modulo bias). `bound` must be > 0.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// A uniform integer in `range`.
    public mutating func nextInt(in range: Range<Int>) -> Int {
        range.lowerBound + nextInt(below: range.count)
    }

    /// A uniform element of a non-empty array.
    public mutating func element<T>(of array: [T]) -> T {
        array[nextInt(below: array.count)]
    }

    /// Fisher–Yates shuffle from the last index down.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
