/// Reads the pickle inside a PyTorch checkpoint without executing anything.
///
/// It understands only the opcodes `torch.save` uses for a state dict (protocol 2, with the framing of 4) and
/// resolves only the globals ``PickleGlobal`` lists: `collections.OrderedDict`, the tensor rebuilders and the storage
/// types. A call is one of those, done here by hand; any other global (`os.system`, `builtins.eval`, `pickle.loads`)
/// is refused with its name before anything runs. Every length is checked against the bytes left, so a truncated or
/// lying pickle is an error, never a crash or a huge allocation; containers nest at most ``maxDepth`` deep, so
/// releasing what a hostile pickle built cannot run out of stack.
struct RestrictedUnpickler {
    private let bytes: [UInt8]
    private let file: String
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// A state dict nests three or four containers deep (`_metadata` entries inside a dict inside the state dict).
    static let maxDepth = 32

    init(_ bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    private func malformed(_ why: String) -> ModelFileError {
        ModelFileError(.malformed, "\(file): the pickle is malformed: \(why)")
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else { throw malformed("it ends early") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    private mutating func unsigned(_ count: Int) throws -> Int {
        let slice = try take(count)
        var value: UInt64 = 0
        for (i, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * i) }
        guard value <= UInt64(Int.max) else { throw malformed("a length is impossibly large") }
        return Int(value)
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw malformed("stack underflow") }
        return value
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw malformed("no mark") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func string(_ count: Int) throws -> String {
        guard let text = String(validating: try take(count), as: UTF8.self) else { throw malformed("bad UTF-8") }
        return text
    }

    /// Runs the pickle to its STOP and returns the value it built.
    mutating func load() throws -> PickleValue {
        while true {
            let opcode = try take(1).first!
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME: a length hint only
            case UInt8(ascii: "."):  // STOP
                guard stack.count == 1, marks.isEmpty else { throw malformed("it stops with \(stack.count) values") }
                return stack[0]
            case UInt8(ascii: "("): marks.append(stack.count)
            case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))
            case UInt8(ascii: "]"): stack.append(.list(PickleList()))
            case UInt8(ascii: ")"): stack.append(.tuple(PickleTuple([])))
            case UInt8(ascii: "t"): stack.append(try tuple(try popToMark()))
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let count = Int(opcode - 0x84)
                guard stack.count - count >= (marks.last ?? 0) else { throw malformed("stack underflow") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                stack.append(try tuple(items))
            case UInt8(ascii: "J"): stack.append(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))
            case UInt8(ascii: "K"): stack.append(.int(try unsigned(1)))
            case UInt8(ascii: "M"): stack.append(.int(try unsigned(2)))
            case 0x8a:  // LONG1: little-endian two's complement of n bytes
                let count = try unsigned(1)
                guard count <= 8 else { throw malformed("an integer wider than 64 bits") }
                let slice = try take(count)
                var value: UInt64 = 0
                for (i, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * i) }
                if count > 0 && count < 8 && slice.last! & 0x80 != 0 { value |= ~0 << (8 * UInt64(count)) }
                stack.append(.int(Int(Int64(bitPattern: value))))
            case UInt8(ascii: "G"):
                let slice = try take(8)
                stack.append(.float(Double(bitPattern: slice.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case UInt8(ascii: "X"): stack.append(.string(try string(try unsigned(4))))
            case 0x8c: stack.append(.string(try string(try unsigned(1))))
            case 0x8d: stack.append(.string(try string(try unsigned(8))))
            case UInt8(ascii: "B"): stack.append(.bytes(Array(try take(try unsigned(4)))))
            case UInt8(ascii: "C"): stack.append(.bytes(Array(try take(try unsigned(1)))))
            case UInt8(ascii: "c"):  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(.global(try resolve(module, name)))
            case 0x93:  // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw malformed("STACK_GLOBAL without two names")
                }
                stack.append(.global(try resolve(module, name)))
            case UInt8(ascii: "Q"): stack.append(try persistent(try pop()))
            case UInt8(ascii: "R"):
                let arguments = try pop(), callable = try pop()
                guard case .tuple(let args) = arguments, case .global(let global) = callable else {
                    throw malformed("REDUCE on \(callable.typeName)")
                }
                stack.append(try call(global, args.items))
            case UInt8(ascii: "b"):  // BUILD: only the attributes torch sets on a state dict (`_metadata`), ignored
                _ = try pop()
                guard case .dict(let dict) = stack.last, !dict.sealed else {
                    throw malformed("BUILD on \(stack.last?.typeName ?? "nothing")")
                }
            case UInt8(ascii: "s"):
                let value = try pop(), key = try pop()
                try setItems([key, value])
            case UInt8(ascii: "u"): try setItems(try popToMark())
            case UInt8(ascii: "a"):
                let value = try pop()
                guard case .list(let list) = stack.last else { throw malformed("APPEND to a non-list") }
                try nest([value], in: list)
                list.items.append(value)
            case UInt8(ascii: "e"):
                let values = try popToMark()
                guard case .list(let list) = stack.last else { throw malformed("APPENDS to a non-list") }
                try nest(values, in: list)
                list.items += values
            case UInt8(ascii: "q"): try put(try unsigned(1))
            case UInt8(ascii: "r"): try put(try unsigned(4))
            case 0x94: try put(memo.count)
            case UInt8(ascii: "h"): try get(try unsigned(1))
            case UInt8(ascii: "j"): try get(try unsigned(4))
            default:
                throw malformed("opcode 0x\(String(opcode, radix: 16)) is not one a state dict uses")
            }
        }
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")), end - position <= 256 else {
            throw malformed("a GLOBAL name does not end")
        }
        let text = try string(end - position)
        position += 1
        return text
    }

    private func resolve(_ module: String, _ name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw ModelFileError(
                .forbidden,
                "\(file) asks for \(module).\(name), which a weights file has no need of; refusing it "
                    + "(only collections.OrderedDict, torch's tensor rebuilders and storage types are read)")
        }
        return global
    }

    private mutating func put(_ index: Int) throws {
        guard let top = stack.last else { throw malformed("PUT on an empty stack") }
        memo[index] = top
    }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw malformed("GET of memo \(index), never put") }
        stack.append(value)
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0, case .dict(let dict) = stack.last else { throw malformed("SETITEMS on a non-dict") }
        try nest(items, in: dict)
        for pair in stride(from: 0, to: items.count, by: 2) {
            guard case .string(let key) = items[pair] else {
                throw malformed("a dictionary key is \(items[pair].typeName), not a name")
            }
            guard dict.values[key] == nil else { throw ModelFileError(.malformed, "\(file) holds \(key) twice") }
            dict.keys.append(key)
            dict.values[key] = items[pair + 1]
        }
    }

    private func tuple(_ items: [PickleValue]) throws -> PickleValue {
        let tuple = PickleTuple(items)
        guard tuple.depth <= Self.maxDepth else { throw malformed("containers nest deeper than \(Self.maxDepth)") }
        return .tuple(tuple)
    }

    /// Checks that `children` may go into `container` (the list or dict on top of the stack), seals the containers
    /// among them and records the depth the container reaches.
    private func nest(_ children: [PickleValue], in container: some PickleContainer) throws {
        guard !container.sealed else { throw malformed("a container is changed after it was put inside another") }
        var deepest = container.depth
        for child in children {
            let nested: (any PickleContainer)? =
                switch child {
                case .list(let list): list
                case .dict(let dict): dict
                default: nil
                }
            if let nested {
                guard nested !== container else { throw malformed("a container is put inside itself") }
                nested.sealed = true
            }
            deepest = max(deepest, child.depth + 1)
        }
        guard deepest <= Self.maxDepth else { throw malformed("containers nest deeper than \(Self.maxDepth)") }
        container.depth = deepest
    }

    /// `("storage", <storage type>, key, location, element count)`, as torch.save writes a storage reference.
    private func persistent(_ id: PickleValue) throws -> PickleValue {
        guard case .tuple(let tuple) = id, case let parts = tuple.items, parts.count == 5,
            case .string("storage") = parts[0],
            case .global(.storageType(let type)) = parts[1], case .string(let key) = parts[2],
            case .int(let count) = parts[4], count >= 0
        else { throw malformed("a persistent id is not a storage reference") }
        return .storage(key: key, type: type, count: count)
    }

    private func call(_ global: PickleGlobal, _ args: [PickleValue]) throws -> PickleValue {
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw malformed("OrderedDict called with arguments") }
            return .dict(PickleDict())
        case .rebuildParameter:
            guard let first = args.first, case .tensor = first else {
                throw malformed("_rebuild_parameter without a tensor")
            }
            return first
        case .rebuildTensorV2:
            guard args.count >= 4, case .storage(let key, let type, let count) = args[0],
                case .int(let offset) = args[1],
                case .tuple(let sizeTuple) = args[2], case .tuple(let strideTuple) = args[3]
            else { throw malformed("_rebuild_tensor_v2 with unexpected arguments") }
            let shape = try sizeTuple.items.map { value -> Int in
                guard case .int(let size) = value, size >= 0 else { throw malformed("a tensor size is not a count") }
                return size
            }
            let stride = try strideTuple.items.map { value -> Int in
                guard case .int(let step) = value else { throw malformed("a tensor stride is not a number") }
                return step
            }
            return .tensor(
                PickledTensor(
                    storageKey: key, type: type, storageCount: count, offset: offset, shape: shape, stride: stride))
        case .storageType:
            throw malformed("a storage type is called")
        }
    }
}
