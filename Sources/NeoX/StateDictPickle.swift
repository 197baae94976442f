/// A reader for the pickle that `torch.save` writes for a state dict (`data.pkl`), and nothing else.
///
/// It understands exactly the opcodes a protocol-2 torch state dict uses (plus the protocol-4
/// framing ones), and builds values from an allow-list of globals; every other opcode or global is
/// refused with `CheckpointError.pickleForbidden`. Nothing is ever imported or executed: the
/// allow-listed callables are interpreted here. Opcode meanings: CPython `Lib/pickletools.py`;
/// state-dict shape: torch `torch/serialization.py` (`_save`, `persistent_id`) and
/// `torch/_utils.py` (`_rebuild_tensor_v2`, `_rebuild_parameter`).
struct StateDictPickle {
    /// A storage referenced through BINPERSID `('storage', torch.XStorage, key, location, numel)`.
    struct StorageRef: Equatable {
        var key: String
        var type: ElementType
        var elementCount: Int
    }

    /// A tensor from `_rebuild_tensor_v2`, already checked to be contiguous and inside its storage.
    struct TensorRef: Equatable {
        var storage: StorageRef
        /// Offset into the storage, in elements.
        var storageOffset: Int
        var shape: [Int]

        var elementCount: Int { shape.reduce(1, *) }
    }

    /// Allow-listed globals; nothing else can be named.
    enum Global: Equatable {
        case orderedDict
        case rebuildTensorV2
        case rebuildParameter
        case storageType(ElementType)

        static func named(module: String, name: String) -> Global? {
            switch (module, name) {
            case ("collections", "OrderedDict"): .orderedDict
            case ("torch._utils", "_rebuild_tensor_v2"): .rebuildTensorV2
            case ("torch._utils", "_rebuild_parameter"): .rebuildParameter
            case ("torch", _): storageTypes[name].map(Global.storageType)
            default: nil
            }
        }

        /// torch legacy typed storages → element type (`torch/storage.py`).
        static let storageTypes: [String: ElementType] = [
            "DoubleStorage": .f64, "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16,
            "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
            "ByteStorage": .u8, "BoolStorage": .bool,
        ]
    }

    /// Mutable containers are shared by reference, as in Python, so memoized dicts see SETITEMS.
    final class Dict {
        var items: [(key: Value, value: Value)] = []
    }

    final class List {
        var items: [Value] = []
    }

    indirect enum Value {
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case tuple([Value])
        case list(List)
        case dict(Dict)
        case global(Global)
        case storage(StorageRef)
        case tensor(TensorRef)
        case mark

        var kind: String {
            switch self {
            case .none: "None"
            case .bool: "bool"
            case .int: "int"
            case .float: "float"
            case .string: "str"
            case .tuple: "tuple"
            case .list: "list"
            case .dict: "dict"
            case .global: "global"
            case .storage: "storage"
            case .tensor: "tensor"
            case .mark: "mark"
            }
        }
    }

    let file: String
    private let bytes: [UInt8]
    private var position = 0
    private var opcodeStart = 0
    private var stack: [Value] = []
    private var memo: [Int: Value] = [:]

    private init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    /// Parses `bytes` and returns the state dict: tensor name → tensor reference, in pickle order.
    /// - Throws: `.pickleInvalid` for malformed input, `.pickleForbidden` outside the allow-list.
    static func stateDict(from bytes: [UInt8], file: String) throws -> [(name: String, tensor: TensorRef)] {
        var reader = StateDictPickle(bytes: bytes, file: file)
        let root = try reader.run()
        guard case let .dict(dict) = root else {
            throw CheckpointError.pickleInvalid(file: file, offset: 0, reason: "top-level object is a \(root.kind), not a state dict")
        }
        return try dict.items.map { item in
            guard case let .string(name) = item.key else {
                throw CheckpointError.pickleInvalid(file: file, offset: 0, reason: "state-dict key is a \(item.key.kind), not a str")
            }
            guard case let .tensor(tensor) = item.value else {
                throw CheckpointError.pickleInvalid(file: file, offset: 0, reason: "state-dict entry '\(name)' is a \(item.value.kind), not a tensor")
            }
            return (name, tensor)
        }
    }

    // MARK: Machine

    private mutating func run() throws -> Value {
        while true {
            opcodeStart = position
            let opcode = try byte()
            switch opcode {
            case 0x80: // PROTO
                let version = try byte()
                guard (2...4).contains(version) else { throw invalid("pickle protocol \(version); torch state dicts use 2") }
            case 0x95: // FRAME (protocol 4): an 8-byte length, the frame itself is ordinary opcodes
                _ = try integer(byteCount: 8, signed: false)
            case 0x2E: // STOP
                guard stack.count == 1, let result = stack.last else {
                    throw invalid("STOP with \(stack.count) values on the stack")
                }
                if case .mark = result { throw invalid("STOP on a MARK") }
                return result
            case 0x28: stack.append(.mark) // MARK
            case 0x29: stack.append(.tuple([])) // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark())) // TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                stack.append(.tuple(try pop(Int(opcode - 0x84))))
            case 0x5D: stack.append(.list(List())) // EMPTY_LIST
            case 0x61: // APPEND
                let item = try pop()
                try targetList().items.append(item)
            case 0x65: // APPENDS
                let items = try popToMark()
                try targetList().items.append(contentsOf: items)
            case 0x7D: stack.append(.dict(Dict())) // EMPTY_DICT
            case 0x73: // SETITEM
                let pair = try pop(2)
                try targetDict().items.append((pair[0], pair[1]))
            case 0x75: // SETITEMS
                let flat = try popToMark()
                guard flat.count.isMultiple(of: 2) else { throw invalid("SETITEMS with an odd number of values") }
                let dict = try targetDict()
                for i in stride(from: 0, to: flat.count, by: 2) { dict.items.append((flat[i], flat[i + 1])) }
            case 0x4E: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4B: stack.append(.int(try integer(byteCount: 1, signed: false))) // BININT1
            case 0x4D: stack.append(.int(try integer(byteCount: 2, signed: false))) // BININT2
            case 0x4A: stack.append(.int(try integer(byteCount: 4, signed: true))) // BININT
            case 0x8A: // LONG1
                let count = try integer(byteCount: 1, signed: false)
                guard count <= 8 else { throw invalid("LONG1 of \(count) bytes does not fit a 64-bit integer") }
                stack.append(.int(count == 0 ? 0 : try integer(byteCount: count, signed: true)))
            case 0x47: // BINFLOAT, big-endian
                stack.append(.float(Double(bitPattern: UInt64(truncatingIfNeeded: try bigEndian64()))))
            case 0x58: // BINUNICODE
                stack.append(.string(try utf8(count: try integer(byteCount: 4, signed: false))))
            case 0x8C: // SHORT_BINUNICODE
                stack.append(.string(try utf8(count: try integer(byteCount: 1, signed: false))))
            case 0x71: try memoize(at: try integer(byteCount: 1, signed: false)) // BINPUT
            case 0x72: try memoize(at: try integer(byteCount: 4, signed: false)) // LONG_BINPUT
            case 0x94: try memoize(at: memo.count) // MEMOIZE
            case 0x68: try recall(try integer(byteCount: 1, signed: false)) // BINGET
            case 0x6A: try recall(try integer(byteCount: 4, signed: false)) // LONG_BINGET
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popToMark() // POP_MARK
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(.global(try allowed(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                let pair = try pop(2)
                guard case let .string(module) = pair[0], case let .string(name) = pair[1] else {
                    throw invalid("STACK_GLOBAL needs two strings")
                }
                stack.append(.global(try allowed(module: module, name: name)))
            case 0x51: // BINPERSID
                stack.append(.storage(try storage(persistentID: try pop())))
            case 0x52: // REDUCE
                let arguments = try pop()
                let callable = try pop()
                stack.append(try reduce(callable, arguments))
            case 0x62: // BUILD: only the attribute state of an OrderedDict (`_metadata`), dropped
                let state = try pop()
                guard case .dict = try peek() else {
                    throw forbidden("BUILD on a \(try peek().kind); only OrderedDict state is accepted")
                }
                switch state {
                case .dict, .none, .tuple: break
                default: throw forbidden("BUILD with a \(state.kind) state")
                }
            default:
                throw forbidden("opcode 0x\(String(opcode, radix: 16)) (\(Self.opcodeName(opcode))) is not used by torch state dicts")
            }
        }
    }

    private mutating func reduce(_ callable: Value, _ arguments: Value) throws -> Value {
        guard case let .global(global) = callable else {
            throw forbidden("REDUCE on a \(callable.kind), not an allow-listed function")
        }
        guard case let .tuple(args) = arguments else { throw invalid("REDUCE arguments are a \(arguments.kind), not a tuple") }
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw forbidden("OrderedDict called with arguments") }
            return .dict(Dict())
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(args))
        case .rebuildParameter:
            // _rebuild_parameter(data, requires_grad, backward_hooks): the parameter is its data.
            guard args.count == 3, case .tensor = args[0] else { throw invalid("_rebuild_parameter expects (tensor, bool, OrderedDict)") }
            return args[0]
        case let .storageType(type):
            throw forbidden("REDUCE on torch.\(Global.storageTypes.first { $0.value == type }?.key ?? "Storage"), which is not callable here")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ args: [Value]) throws -> TensorRef {
        guard args.count == 6 || args.count == 7,
              case let .storage(storage) = args[0], case let .int(offset) = args[1],
              case let .tuple(sizeValues) = args[2], case let .tuple(strideValues) = args[3],
              case .bool = args[4]
        else {
            throw invalid("_rebuild_tensor_v2 expects (storage, int, tuple, tuple, bool, OrderedDict)")
        }
        func ints(_ values: [Value], _ what: String) throws -> [Int] {
            try values.map { value in
                guard case let .int(v) = value, v >= 0 else { throw invalid("tensor \(what) holds a \(value.kind) or a negative value") }
                return v
            }
        }
        let shape = try ints(sizeValues, "size"), strides = try ints(strideValues, "stride")
        guard shape.count == strides.count else { throw invalid("tensor size \(shape) and stride \(strides) differ in rank") }
        // Row-major contiguity; axes of extent 1 may carry any stride (torch does that).
        var expected = 1
        for axis in shape.indices.reversed() {
            if shape[axis] != 1, strides[axis] != expected {
                throw invalid("tensor of size \(shape) has stride \(strides), not contiguous; re-save the checkpoint with contiguous tensors")
            }
            let (next, overflow) = expected.multipliedReportingOverflow(by: shape[axis])
            guard !overflow else { throw invalid("tensor size \(shape) overflows") }
            expected = next
        }
        let (end, overflow) = offset.addingReportingOverflow(expected)
        guard offset >= 0, !overflow, expected == 0 || end <= storage.elementCount else {
            throw invalid("tensor of size \(shape) at storage offset \(offset) runs past storage '\(storage.key)' of \(storage.elementCount) elements")
        }
        return TensorRef(storage: storage, storageOffset: offset, shape: shape)
    }

    /// `('storage', torch.XStorage, key, location, numel)` from `torch.serialization._save.persistent_id`.
    private func storage(persistentID: Value) throws -> StorageRef {
        guard case let .tuple(fields) = persistentID, fields.count == 5,
              case let .string(tag) = fields[0], tag == "storage",
              case let .global(.storageType(type)) = fields[1],
              case let .string(key) = fields[2], case .string = fields[3],
              case let .int(count) = fields[4], count >= 0
        else {
            throw forbidden("persistent id is not ('storage', torch.<Type>Storage, key, location, numel)")
        }
        guard !key.isEmpty, !key.contains("/"), key != ".", key != ".." else {
            throw invalid("storage key '\(key)' is not a plain entry name")
        }
        return StorageRef(key: key, type: type, elementCount: count)
    }

    private func allowed(module: String, name: String) throws -> Global {
        guard let global = Global.named(module: module, name: name) else {
            throw forbidden("global \(module).\(name) is not on the allow-list (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, torch storages)")
        }
        return global
    }

    // MARK: Stack and memo

    private mutating func pop() throws -> Value {
        guard let value = stack.popLast() else { throw invalid("stack underflow") }
        if case .mark = value { throw invalid("unexpected MARK") }
        return value
    }

    private mutating func pop(_ count: Int) throws -> [Value] {
        var values: [Value] = []
        for _ in 0..<count { values.append(try pop()) }
        return values.reversed()
    }

    private mutating func popToMark() throws -> [Value] {
        guard let markIndex = stack.lastIndex(where: { if case .mark = $0 { true } else { false } }) else {
            throw invalid("no MARK on the stack")
        }
        let values = Array(stack[(markIndex + 1)...])
        stack.removeSubrange(markIndex...)
        return values
    }

    private func peek() throws -> Value {
        guard let value = stack.last else { throw invalid("stack underflow") }
        return value
    }

    private func targetDict() throws -> Dict {
        guard case let .dict(dict) = try peek() else { throw invalid("SETITEM(S) target is a \(try peek().kind), not a dict") }
        return dict
    }

    private func targetList() throws -> List {
        guard case let .list(list) = try peek() else { throw invalid("APPEND(S) target is a \(try peek().kind), not a list") }
        return list
    }

    private mutating func memoize(at index: Int) throws {
        let value = try peek()
        if case .mark = value { throw invalid("memoizing a MARK") }
        memo[index] = value
    }

    private mutating func recall(_ index: Int) throws {
        guard let value = memo[index] else { throw invalid("memo slot \(index) is empty") }
        stack.append(value)
    }

    // MARK: Bytes

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw invalid("needs \(count) more bytes, \(bytes.count - position) left (truncated?)")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    private mutating func byte() throws -> UInt8 {
        try take(1).first ?? 0
    }

    /// A little-endian integer of `byteCount` ≤ 8 bytes.
    private mutating func integer(byteCount: Int, signed: Bool) throws -> Int {
        let raw = try take(byteCount)
        var value: UInt64 = 0
        for (shift, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        if signed, byteCount < 8, byteCount > 0, raw.last.map({ $0 & 0x80 != 0 }) == true {
            value |= ~0 << (8 * UInt64(byteCount))
        }
        let result = Int(truncatingIfNeeded: value)
        guard signed || result >= 0 else { throw invalid("unsigned length \(value) is too large") }
        return result
    }

    private mutating func bigEndian64() throws -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func utf8(count: Int) throws -> String {
        let raw = try take(count)
        guard let text = String(validating: raw, as: UTF8.self) else { throw invalid("string is not UTF-8") }
        return text
    }

    /// A GLOBAL operand line; bounded to 256 bytes.
    private mutating func line() throws -> String {
        let limit = min(bytes.count, position + 256)
        guard let end = bytes[position..<limit].firstIndex(of: 0x0A) else { throw invalid("GLOBAL name without newline") }
        let text = try utf8(count: end - position)
        position += 1
        return text
    }

    private func invalid(_ reason: String) -> CheckpointError {
        .pickleInvalid(file: file, offset: opcodeStart, reason: reason)
    }

    private func forbidden(_ reason: String) -> CheckpointError {
        .pickleForbidden(file: file, offset: opcodeStart, reason: reason)
    }

    /// Names for the error message of refused opcodes (CPython `pickletools.opcodes`).
    static func opcodeName(_ opcode: UInt8) -> String {
        let names: [UInt8: String] = [
            0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x49: "INT",
            0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
            0x56: "UNICODE", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8E: "BINBYTES8", 0x8D: "BINUNICODE8",
            0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x8F: "EMPTY_SET",
            0x90: "ADDITEMS", 0x91: "FROZENSET", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x67: "GET",
            0x70: "PUT", 0x6C: "LIST", 0x64: "DICT", 0x32: "DUP", 0x8B: "LONG4",
        ]
        return names[opcode] ?? "unknown"
    }
}
