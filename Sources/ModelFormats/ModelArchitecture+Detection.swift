extension ModelArchitecture {
    /// Recognises the network `dict` holds from its names and shapes, as spandrel does, and returns it with its
    /// tensors under Real-ESRGAN's names. Every tensor must belong to the network and have the shape it needs there.
    static func detect(_ dict: StateDict, file: String) throws -> (ModelArchitecture, [String: WeightTensor]) {
        let reader = ShapeReader(tensors: dict.tensors, file: file)
        if dict["conv_first.weight"] != nil {
            return try rrdbNet(reader)
        }
        if dict["model.0.weight"] != nil, dict.names.contains(where: { $0.hasPrefix("model.1.sub.") }) {
            return try rrdbNet(ShapeReader(tensors: esrganNames(dict), file: file))
        }
        if dict["body.0.weight"] != nil {
            return try srvggNetCompact(reader)
        }
        let sample = dict.names.prefix(3).joined(separator: ", ")
        throw ModelFileError(
            .unknownArchitecture,
            "\(file) is not a network this engine knows (its tensors start \(sample)); recognised: \(recognised)")
    }

    private static func rrdbNet(_ t: ShapeReader) throws -> (ModelArchitecture, [String: WeightTensor]) {
        let first = try t.shape("conv_first.weight", rank: 4)
        let features = first[0]
        let scales = [3: 4, 12: 2, 48: 1]
        guard let scale = scales[first[1]] else {
            throw t.wrong("conv_first.weight takes \(first[1]) channels; RRDBNet takes 3 (4x), 12 (2x) or 48 (1x)")
        }
        guard t.tensors["conv_up3.weight"] == nil else {
            throw ModelFileError(.unsupported, "\(t.file) is an 8x RRDBNet, which is not supported")
        }
        var blocks = 0
        while t.tensors["body.\(blocks).rdb1.conv1.weight"] != nil { blocks += 1 }
        guard blocks > 0 else { throw t.wrong("it has conv_first but no body.0.rdb1.conv1") }
        let growth = try t.shape("body.0.rdb1.conv1.weight", rank: 4)[0]
        for block in 0..<blocks {
            for rdb in 1...3 {
                for conv in 1...5 {
                    try t.convolution(
                        "body.\(block).rdb\(rdb).conv\(conv)", out: conv < 5 ? growth : features,
                        in: features + (conv - 1) * growth)
                }
            }
        }
        for name in ["conv_body", "conv_up1", "conv_up2", "conv_hr"] {
            try t.convolution(name, out: features, in: features)
        }
        try t.convolution("conv_last", out: 3, in: features)
        try t.expectCount(2 * (1 + 15 * blocks + 5))
        return (.rrdbNet(blocks: blocks, features: features, growth: growth, scale: scale), t.tensors)
    }

    /// ESRGAN's original names (`model.0`, `model.1.sub.N.RDBk.convj.0`, `model.1.sub.<blocks>`, `model.3`, `model.6`,
    /// `model.8`, `model.10`) as Real-ESRGAN's. A name with no counterpart stays, and the count check finds it.
    private static func esrganNames(_ dict: StateDict) -> [String: WeightTensor] {
        var blocks = 0
        while dict["model.1.sub.\(blocks).RDB1.conv1.0.weight"] != nil { blocks += 1 }
        let fixed = [
            "model.0": "conv_first", "model.1.sub.\(blocks)": "conv_body", "model.3": "conv_up1",
            "model.6": "conv_up2", "model.8": "conv_hr", "model.10": "conv_last",
        ]
        var renamed: [String: WeightTensor] = [:]
        for name in dict.names {
            let parts = name.split(separator: ".").map(String.init)
            let stem = parts.dropLast().joined(separator: "."), leaf = parts.last ?? ""
            var new = name
            if let short = fixed[stem] {
                new = "\(short).\(leaf)"
            } else if parts.count == 8, parts[0...2] == ["model", "1", "sub"], parts[4].hasPrefix("RDB"),
                parts[6] == "0"
            {
                new = "body.\(parts[3]).rdb\(parts[4].dropFirst(3)).\(parts[5]).\(leaf)"
            }
            renamed[new] = dict[name]
        }
        return renamed
    }

    private static func srvggNetCompact(_ t: ShapeReader) throws -> (ModelArchitecture, [String: WeightTensor]) {
        var convs: [Int] = [], activations: [Int] = []
        for name in t.tensors.keys where name.hasPrefix("body.") && name.hasSuffix(".weight") {
            guard let index = Int(name.dropFirst(5).dropLast(7)) else { continue }
            if t.tensors[name]!.shape.count == 4 { convs.append(index) } else { activations.append(index) }
        }
        convs.sort()
        activations.sort()
        guard convs.count >= 2, convs == Array(stride(from: 0, to: 2 * convs.count, by: 2)) else {
            throw t.wrong("its body.N convolutions are not at body.0, body.2, body.4, ...")
        }
        let activation: Activation = activations.isEmpty ? .leakyReLU : .prelu
        guard activations.isEmpty || activations == convs.dropLast().map({ $0 + 1 }) else {
            throw t.wrong("its PReLU slopes are not at body.1, body.3, ... between the convolutions")
        }
        let first = try t.shape("body.0.weight", rank: 4)
        let features = first[0]
        guard first[1] == 3 else { throw t.wrong("body.0 takes \(first[1]) channels, not 3") }
        let last = try t.shape("body.\(convs.last!).weight", rank: 4)[0]
        let scale = Int(Double(last / 3).squareRoot().rounded())
        guard scale >= 1, scale <= 8, 3 * scale * scale == last else {
            throw t.wrong("its last convolution makes \(last) channels, not 3 x scale²")
        }
        for (i, index) in convs.enumerated() {
            try t.convolution(
                "body.\(index)", out: i == convs.count - 1 ? last : features, in: i == 0 ? 3 : features)
            if activation == .prelu && i < convs.count - 1 {
                guard try t.shape("body.\(index + 1).weight", rank: 1) == [features] else {
                    throw t.wrong("body.\(index + 1).weight does not hold \(features) PReLU slopes")
                }
            }
        }
        try t.expectCount(2 * convs.count + activations.count)
        let architecture = ModelArchitecture.srvggNetCompact(
            convolutions: convs.count - 2, features: features, scale: scale, activation: activation)
        return (architecture, t.tensors)
    }
}
