/// The `k=v` parameters of one ncnn layer line.
///
/// ncnn writes scalars as `id=value` and arrays as `-(23300+id)=count,v1,v2,...`. Whether a value is an
/// integer or a float is decided by its spelling (a `.` or exponent makes it a float), as ncnn does.
public struct ParamDictionary: Sendable {
    enum Value: Sendable {
        case int(Int)
        case float(Float)
        case array([Float])
    }

    private var values: [Int: Value] = [:]

    /// Parses the parameter tokens of one layer line.
    init(tokens: some Sequence<Substring>, layer: String) throws {
        for token in tokens {
            guard let eq = token.firstIndex(of: "="),
                let key = Int(token[token.startIndex..<eq])
            else {
                throw InferenceError(.malformedModel, "layer \(layer): parameter '\(token)' is not id=value")
            }
            let text = token[token.index(after: eq)...]
            if key <= -23300 {
                let parts = text.split(separator: ",")
                guard let count = parts.first.flatMap({ Int($0) }), count == parts.count - 1 else {
                    throw InferenceError(
                        .malformedModel, "layer \(layer): array parameter '\(token)' has a wrong count")
                }
                var array: [Float] = []
                for part in parts.dropFirst() {
                    guard let v = Float(part) else {
                        throw InferenceError(.malformedModel, "layer \(layer): '\(part)' in '\(token)' is not a number")
                    }
                    array.append(v)
                }
                values[-key - 23300] = .array(array)
            } else if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                guard let v = Float(text) else {
                    throw InferenceError(.malformedModel, "layer \(layer): '\(token)' is not a number")
                }
                values[key] = .float(v)
            } else {
                guard let v = Int(text) else {
                    throw InferenceError(.malformedModel, "layer \(layer): '\(token)' is not an integer")
                }
                values[key] = .int(v)
            }
        }
    }

    func int(_ id: Int, default value: Int) -> Int {
        switch values[id] {
        case .int(let v): return v
        case .float(let v): return Int(exactly: v.rounded(.towardZero)) ?? value
        default: return value
        }
    }

    func float(_ id: Int, default value: Float) -> Float {
        switch values[id] {
        case .int(let v): return Float(v)
        case .float(let v): return v
        default: return value
        }
    }

    func array(_ id: Int) -> [Float] {
        if case .array(let v) = values[id] { return v }
        return []
    }
}
