/// One step of a planned network, in terms of views (no buffers or primitives yet).
package enum PlannedStep: Sendable {
    /// `output = scale * activation(conv(input))`, plus `sumScale * output` when the output was pre-filled.
    case convolution(
        layer: String, conv: Convolution, input: BlobView, output: BlobView, scale: Float, sumScale: Float?)
    /// `output = input` (a concat input that could not be placed in its slice, or a pre-fill for a fused sum).
    case copy(from: BlobView, to: BlobView)
    case eltwise(inputs: [BlobView], output: BlobView, op: Eltwise)
    case binary(a: BlobView, b: BlobView?, output: BlobView, op: BinaryOperation)
    case prelu(input: BlobView, output: BlobView, op: PReLU)
    case pixelShuffle(input: BlobView, output: BlobView, op: PixelShuffle)
    case interpolation(input: BlobView, output: BlobView, op: Interpolation)

    package var reads: [BlobView] {
        switch self {
        case .convolution(_, _, let input, let output, _, let sum): return sum == nil ? [input] : [input, output]
        case .copy(let from, _): return [from]
        case .eltwise(let inputs, _, _): return inputs
        case .binary(let a, let b, _, _): return [a] + (b.map { [$0] } ?? [])
        case .prelu(let input, _, _), .pixelShuffle(let input, _, _), .interpolation(let input, _, _): return [input]
        }
    }

    package var output: BlobView {
        switch self {
        case .convolution(_, _, _, let output, _, _), .copy(_, let output), .eltwise(_, let output, _),
            .binary(_, _, let output, _), .prelu(_, let output, _), .pixelShuffle(_, let output, _),
            .interpolation(_, let output, _):
            return output
        }
    }
}

/// A residual sum folded into the convolution that produces one of its operands.
struct SumFusion: Sendable {
    var convScale: Float
    var other: String
    var otherScale: Float
    var result: String
}

/// The network lowered for one input shape: storages, where each blob lives, and the ordered steps.
package struct LogicalPlan: Sendable {
    package var storages: [StorageSpec]
    package var steps: [PlannedStep]
    package var inputView: BlobView
    package var outputView: BlobView
}

/// Lowers a network for one input shape.
///
/// The decisions, in order:
/// 1. `Split` outputs are aliases of their input.
/// 2. A two-input sum (`Eltwise` sum or `BinaryOp` add/sub) whose operand is a convolution with no activation and no
///    other consumer is fused into that convolution: its weights are scaled by the operand's coefficient, the output
///    is pre-filled with the other operand, and oneDNN's `sum` post-op adds it.
/// 3. Concats are placed from the last to the first, so a concat's inputs are written straight into their channel
///    slice of the concat's storage, and nested concats (Real-ESRGAN's dense blocks) share one storage.
/// 4. Everything else gets a storage of its own; buffers are shared later by liveness. Storages are blocked but for
///    the input and small tensors only element-wise ops touch (`plainBlobs`).
package enum Planner {
    package static func plan(_ network: Network, input: Shape) throws -> LogicalPlan {
        let shapes = try network.shapes(for: input)
        var alias: [String: String] = [:]
        func canonical(_ blob: String) -> String { alias[blob] ?? blob }

        var producerIndex: [String: Int] = [:]
        for (index, layer) in network.layers.enumerated() {
            if case .split = layer.operation {
                for out in layer.outputs { alias[out] = canonical(layer.inputs[0]) }
            } else {
                for out in layer.outputs { producerIndex[out] = index }
            }
        }
        var consumers: [String: Int] = [canonical(network.outputBlob): 1]
        for layer in network.layers {
            if case .split = layer.operation { continue }
            for blob in layer.inputs { consumers[canonical(blob), default: 0] += 1 }
        }

        // 2. Fusion of residual sums into the producing convolution.
        var fusedInto: [Int: SumFusion] = [:]  // conv layer index -> fusion
        var fusedAway = Set<Int>()  // eltwise/binary layer indices now done by a conv
        for (index, layer) in network.layers.enumerated() where layer.inputs.count == 2 {
            var coefficients: [Float]
            switch layer.operation {
            case .eltwise(let op) where op.kind == .sum: coefficients = [op.coefficient(0), op.coefficient(1)]
            case .binary(let op) where op.scalar == nil && op.kind == .add: coefficients = [1, 1]
            case .binary(let op) where op.scalar == nil && op.kind == .subtract: coefficients = [1, -1]
            default: continue
            }
            let operands = layer.inputs.map(canonical)
            guard operands[0] != operands[1] else { continue }
            for k in [1, 0] {
                let blob = operands[k], other = operands[1 - k]
                guard let p = producerIndex[blob], fusedInto[p] == nil, consumers[blob] == 1,
                    case .convolution(let conv) = network.layers[p].operation, conv.activation == .none,
                    (producerIndex[other] ?? -1) < p
                else { continue }
                fusedInto[p] = SumFusion(
                    convScale: coefficients[k], other: other, otherScale: coefficients[1 - k],
                    result: layer.outputs[0])
                fusedAway.insert(index)
                break
            }
        }
        func produced(by layer: Layer, at index: Int) -> String {
            fusedInto[index]?.result ?? layer.outputs[0]
        }

        // 3. Placement.
        var storages: [StorageSpec] = []
        var views: [String: BlobView] = [:]
        func newStorage(_ shape: Shape, plain: Bool = false) -> BlobView {
            storages.append(
                StorageSpec(channels: shape.channels, height: shape.height, width: shape.width, plain: plain))
            return BlobView(
                storage: storages.count - 1, channelOffset: 0, channels: shape.channels,
                height: shape.height, width: shape.width)
        }
        let inputName = canonical(network.inputBlob)
        views[inputName] = newStorage(input, plain: true)
        var concatCopies: [Int: [(String, BlobView)]] = [:]
        for (index, layer) in network.layers.enumerated().reversed() {
            guard case .concat = layer.operation else { continue }
            let out = canonical(layer.outputs[0])
            let inputs = layer.inputs.map(canonical)
            let shape = shapes[out]!
            if views[out] == nil, let first = views[inputs[0]] {
                // Already laid out contiguously by a later concat? Then this one is just a view over that span.
                var expected = first.channelOffset
                let contiguous = inputs.allSatisfy { blob in
                    guard let v = views[blob], v.storage == first.storage, v.channelOffset == expected else {
                        return false
                    }
                    expected += v.channels
                    return true
                }
                if contiguous && !storages[first.storage].plain {
                    views[out] = BlobView(
                        storage: first.storage, channelOffset: first.channelOffset,
                        channels: shape.channels, height: shape.height, width: shape.width)
                    continue
                }
            }
            let target = views[out] ?? newStorage(shape)
            views[out] = target
            var offset = target.channelOffset
            for blob in inputs {
                let s = shapes[blob]!
                let slot = BlobView(
                    storage: target.storage, channelOffset: offset, channels: s.channels,
                    height: s.height, width: s.width)
                if views[blob] == nil, blob != inputName, offset % 16 == 0 {
                    views[blob] = slot
                } else if views[blob] != slot {
                    concatCopies[index, default: []].append((blob, slot))
                }
                offset += s.channels
            }
        }

        // 4. Steps, in layer order.
        var steps: [PlannedStep] = []
        let plain = plainBlobs(network, shapes: shapes, canonical: canonical, fusedAway: fusedAway)
        func view(_ blob: String) -> BlobView {
            let name = canonical(blob)
            if let v = views[name] { return v }
            let v = newStorage(shapes[name]!, plain: plain.contains(name))
            views[name] = v
            return v
        }
        for (index, layer) in network.layers.enumerated() where !fusedAway.contains(index) {
            switch layer.operation {
            case .input, .split:
                continue
            case .concat:
                for (blob, slot) in concatCopies[index] ?? [] { steps.append(.copy(from: view(blob), to: slot)) }
            case .convolution(let conv):
                let input = view(layer.inputs[0])
                var output = view(produced(by: layer, at: index))
                if output.overlaps(input) {
                    // Writing over our own input would corrupt it mid-convolution: go through a temporary.
                    let final = output
                    output = newStorage(shapes[canonical(layer.outputs[0])]!)
                    appendConvolution(&steps, layer, conv, input, output, fusedInto[index], view)
                    steps.append(.copy(from: output, to: final))
                } else {
                    appendConvolution(&steps, layer, conv, input, output, fusedInto[index], view)
                }
            case .eltwise(let op):
                let inputs = layer.inputs.map(view)
                appendGuarded(&steps, inputs, view(layer.outputs[0]), spatial: false, newStorage) {
                    .eltwise(inputs: inputs, output: $0, op: op)
                }
            case .binary(let op):
                let inputs = layer.inputs.map(view)
                appendGuarded(&steps, inputs, view(layer.outputs[0]), spatial: false, newStorage) {
                    .binary(a: inputs[0], b: inputs.count > 1 ? inputs[1] : nil, output: $0, op: op)
                }
            case .prelu(let op):
                let input = view(layer.inputs[0])
                appendGuarded(&steps, [input], view(layer.outputs[0]), spatial: false, newStorage) {
                    .prelu(input: input, output: $0, op: op)
                }
            case .pixelShuffle(let op):
                let input = view(layer.inputs[0])
                appendGuarded(&steps, [input], view(layer.outputs[0]), spatial: true, newStorage) {
                    .pixelShuffle(input: input, output: $0, op: op)
                }
            case .interpolation(let op):
                let input = view(layer.inputs[0])
                appendGuarded(&steps, [input], view(layer.outputs[0]), spatial: true, newStorage) {
                    .interpolation(input: input, output: $0, op: op)
                }
            }
        }
        return LogicalPlan(
            storages: storages, steps: steps, inputView: views[inputName]!,
            outputView: view(network.outputBlob))
    }

    /// Appends a step, routing it through a temporary when its output would overwrite an input it still reads.
    /// Element-wise ops may run exactly in place; spatial ops never can.
    private static func appendGuarded(
        _ steps: inout [PlannedStep], _ inputs: [BlobView], _ output: BlobView,
        spatial: Bool, _ newStorage: (Shape, Bool) -> BlobView,
        _ make: (BlobView) -> PlannedStep
    ) {
        let hazard = inputs.contains { $0.overlaps(output) && (spatial || $0 != output) }
        guard hazard else { return steps.append(make(output)) }
        let temporary = newStorage(Shape(channels: output.channels, height: output.height, width: output.width), false)
        steps.append(make(temporary))
        steps.append(.copy(from: temporary, to: output))
    }

    private static func appendConvolution(
        _ steps: inout [PlannedStep], _ layer: Layer, _ conv: Convolution,
        _ input: BlobView, _ output: BlobView, _ fusion: SumFusion?,
        _ view: (String) -> BlobView
    ) {
        if let fusion {
            let other = view(fusion.other)
            if other != output { steps.append(.copy(from: other, to: output)) }
            steps.append(
                .convolution(
                    layer: layer.name, conv: conv, input: input, output: output,
                    scale: fusion.convScale, sumScale: fusion.otherScale))
        } else {
            steps.append(
                .convolution(layer: layer.name, conv: conv, input: input, output: output, scale: 1, sumScale: nil))
        }
    }
}
