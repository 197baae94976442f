import Foundation
import Tensor

/// One tensor's entry in a safetensors header, validated against the file.
public struct SafetensorsEntry: Sendable, Equatable {
    public var name: String
    public var type: ElementType
    public var shape: [Int]
    /// Byte range inside the file (absolute, already offset past the header).
    public var byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file with a fully validated header.
///
/// Format (huggingface/safetensors `safetensors/src/tensor.rs`): 8-byte little-endian header length
/// N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`,
/// then the data buffer; offsets are relative to the buffer. Validation here: N within the file
/// and ≤ 100 MB, JSON parses, known dtype, every offset in range, byte length = elements × dtype
/// size, no two tensors overlap. The mapping is released when the object is.
public final class SafetensorsFile {
    public let url: URL
    /// Entries in data-offset order.
    public let entries: [SafetensorsEntry]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]
    private let index: [String: Int]
    private let mapping: MappedFile

    /// Safetensors' own limit on the header size.
    static let maximumHeaderLength = 100_000_000

    /// Maps and validates `url`.
    /// - Throws: `CheckpointError.unreadable`, `.safetensorsInvalid`, `.tensorInvalid`, `.unknownDType`.
    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(url: url)
        let (entries, metadata) = try mapping.withBytes { try Self.parseHeader($0, file: url.path) }
        self.entries = entries
        self.metadata = metadata
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in data-offset order.
    public var names: [String] { entries.map(\.name) }

    public func entry(named name: String) -> SafetensorsEntry? {
        index[name].map { entries[$0] }
    }

    /// The named tensor up-cast to Float32 (from F32, F16 or BF16; exact).
    /// - Throws: `.tensorInvalid` if absent, `.unsupportedDType` for other dtypes.
    public func floatTensor(_ name: String) throws -> Tensor {
        let entry = try requireEntry(name)
        guard entry.type.isWeightType else {
            throw CheckpointError.unsupportedDType(file: url.path, tensor: name, dtype: entry.type.rawValue)
        }
        // Up-cast in 4 Mi-element chunks, dropping each chunk's mapped pages right after, so the
        // process holds about one copy of the weights (the Float32 one) at any time.
        let count = entry.elementCount, size = entry.type.byteSize, chunk = 1 << 22
        let values = ContiguousArray<Float>(unsafeUninitializedCapacity: count) { out, initialized in
            if let target = out.baseAddress {
                for first in stride(from: 0, to: count, by: chunk) {
                    let n = min(chunk, count - first)
                    let range = (entry.byteRange.lowerBound + first * size)..<(entry.byteRange.lowerBound + (first + n) * size)
                    mapping.withBytes { bytes in
                        ElementDecoding.decode(UnsafeRawBufferPointer(rebasing: bytes[range]), type: entry.type, count: n, into: target + first)
                    }
                    mapping.releasePages(in: range)
                }
            }
            initialized = count
        }
        return try Tensor(shape: entry.shape, elements: values)
    }

    /// The named tensor as Float64 values (F64, F32, F16 or BF16), row-major; for fixtures.
    public func doubles(_ name: String) throws -> [Double] {
        let entry = try requireEntry(name)
        if entry.type == .f64 {
            return mapping.withBytes { bytes in
                (0..<entry.elementCount).map { i in
                    Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(
                        fromByteOffset: entry.byteRange.lowerBound + 8 * i, as: UInt64.self)))
                }
            }
        }
        return try floatTensor(name).storage.map(Double.init)
    }

    /// The named integer or boolean tensor (I64, I32, I16, I8, U32, U16, U8, BOOL), row-major.
    public func integers(_ name: String) throws -> [Int] {
        let entry = try requireEntry(name)
        return try mapping.withBytes { bytes in
            let start = entry.byteRange.lowerBound
            func load<T: FixedWidthInteger>(_: T.Type) -> [Int] {
                (0..<entry.elementCount).map { i in
                    Int(T(littleEndian: bytes.loadUnaligned(fromByteOffset: start + MemoryLayout<T>.size * i, as: T.self)))
                }
            }
            switch entry.type {
            case .i64: return load(Int64.self)
            case .i32: return load(Int32.self)
            case .i16: return load(Int16.self)
            case .i8: return load(Int8.self)
            case .u32: return load(UInt32.self)
            case .u16: return load(UInt16.self)
            case .u8, .bool: return load(UInt8.self)
            default:
                throw CheckpointError.unsupportedDType(file: url.path, tensor: name, dtype: entry.type.rawValue)
            }
        }
    }

    private func requireEntry(_ name: String) throws -> SafetensorsEntry {
        guard let entry = entry(named: name) else {
            throw CheckpointError.tensorInvalid(file: url.path, tensor: name, reason: "not in this file")
        }
        return entry
    }

    // MARK: Header

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct RawEntry: Decodable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]
        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    private struct RawHeader: Decodable {
        var entries: [(String, RawEntry)] = []
        var metadata: [String: String] = [:]

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
                }
            }
        }
    }

    static func parseHeader(
        _ bytes: UnsafeRawBufferPointer, file: String
    ) throws -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        func invalid(_ reason: String) -> CheckpointError { .safetensorsInvalid(file: file, reason: reason) }
        guard bytes.count >= 8 else {
            throw invalid("file is \(bytes.count) bytes, shorter than the 8-byte header length (truncated?)")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maximumHeaderLength) else {
            throw invalid("header length \(declared) exceeds the \(maximumHeaderLength)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw invalid("header length \(headerLength) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        let json = Data(bytes[8..<(8 + headerLength)])
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch let error as DecodingError {
            throw invalid("header JSON: \(error.readableDescription)")
        } catch {
            throw invalid("header JSON: \(error)")
        }

        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        var entries: [SafetensorsEntry] = []
        entries.reserveCapacity(raw.entries.count)
        for (name, rawEntry) in raw.entries {
            func bad(_ reason: String) -> CheckpointError { .tensorInvalid(file: file, tensor: name, reason: reason) }
            guard let type = ElementType(rawValue: rawEntry.dtype) else {
                throw CheckpointError.unknownDType(file: file, tensor: name, dtype: rawEntry.dtype)
            }
            guard rawEntry.shape.allSatisfy({ $0 >= 0 }) else { throw bad("negative extent in shape \(rawEntry.shape)") }
            guard rawEntry.dataOffsets.count == 2 else {
                throw bad("data_offsets must be [begin, end], got \(rawEntry.dataOffsets)")
            }
            let begin = rawEntry.dataOffsets[0], end = rawEntry.dataOffsets[1]
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw bad("data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data buffer (truncated?)")
            }
            guard let byteCount = checkedByteCount(shape: rawEntry.shape, elementSize: type.byteSize) else {
                throw bad("shape \(rawEntry.shape) is too large")
            }
            guard byteCount == end - begin else {
                throw bad("shape \(rawEntry.shape) of \(type.rawValue) needs \(byteCount) bytes, data_offsets span \(end - begin)")
            }
            entries.append(SafetensorsEntry(
                name: name, type: type, shape: rawEntry.shape,
                byteRange: (dataStart + begin)..<(dataStart + end)))
        }
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var coveredEnd = dataStart
        var coveringTensor = ""
        for entry in entries where !entry.byteRange.isEmpty {
            if entry.byteRange.lowerBound < coveredEnd {
                throw CheckpointError.tensorInvalid(
                    file: file, tensor: entry.name,
                    reason: "bytes \(entry.byteRange.lowerBound - dataStart)..<\(entry.byteRange.upperBound - dataStart) overlap tensor '\(coveringTensor)'")
            }
            coveredEnd = entry.byteRange.upperBound
            coveringTensor = entry.name
        }
        return (entries, raw.metadata)
    }

    /// Product of `shape` times `elementSize`, or nil on overflow.
    static func checkedByteCount(shape: [Int], elementSize: Int) -> Int? {
        var total = elementSize
        for extent in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            total = product
        }
        return total
    }
}
