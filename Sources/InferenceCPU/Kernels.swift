import Inference

/// The memory-bound ops the engine runs itself, over blocked views.
///
/// When every view involved is blocked and of one shape, an op is a flat loop over `paddedChannels * H * W` floats
/// (padding lanes hold zeros, which every op here maps to zero), vectorised 16 lanes at a time and split across
/// threads; so is an element-wise op whose views are all plain whole storages of one shape (`Planner.plainBlobs`),
/// over `channels * H * W` floats when that is a multiple of 16. Anything else (odd shapes, mixed layouts) takes the
/// element-by-element path.
enum Kernels {
    typealias Vector = SIMD16<Float>

    @inline(__always)
    static func flat(_ views: [ViewPointer], elementWise: Bool = false) -> Bool {
        let first = views[0].view
        if elementWise, views.allSatisfy(\.plain) {
            return (first.channels * first.plane) % 16 == 0
                && views.allSatisfy {
                    $0.view.channelOffset == 0 && $0.view.channels == first.channels
                        && $0.view.height == first.height && $0.view.width == first.width
                }
        }
        // A concat slot that does not start on a block boundary shares its first block with a neighbour, so it is not
        // a contiguous run of its own: only block-aligned views may be treated as flat memory.
        return views.allSatisfy {
            !$0.plain && $0.view.channelOffset % 16 == 0 && $0.view.channels == first.channels
                && $0.view.height == first.height && $0.view.width == first.width
        }
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> Vector {
        UnsafeRawPointer(p + i).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Vector.self)
    }

    /// Runs `body(start, end)` over the vectors of a flat range, in parallel.
    @inline(__always)
    static func forEachVector(_ view: ViewPointer, threads: Int, _ body: (Int, Int) -> Void) {
        let vectors = (view.plain ? view.view.channels : view.view.paddedChannels) * view.view.plane / 16
        parallelChunks(vectors, threads: threads) { range in body(range.lowerBound * 16, range.upperBound * 16) }
    }

    static func copy(_ from: ViewPointer, _ to: ViewPointer, threads: Int) {
        if flat([from, to], elementWise: true) {
            let src = from.start, dst = to.start
            forEachVector(to, threads: threads) { lo, hi in (dst + lo).update(from: src + lo, count: hi - lo) }
            return
        }
        let v = to.view
        for c in 0..<v.channels {
            for y in 0..<v.height { for x in 0..<v.width { to.store(from.load(c, y, x), c, y, x) } }
        }
        to.zeroPaddingLanes()
    }

    /// fp32 to bf16 with round-to-nearest-even, 16 values at a time (inputs are finite activations).
    static func convertToBF16(
        _ source: UnsafeMutablePointer<Float>, _ target: UnsafeMutablePointer<UInt16>, count: Int,
        threads: Int
    ) {
        parallelChunks(count / 16, threads: threads) { range in
            for v in range {
                let bits = UnsafeRawPointer(source + v * 16).loadUnaligned(as: SIMD16<UInt32>.self)
                let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
                UnsafeMutableRawPointer(target + v * 16).storeBytes(
                    of: SIMD16<UInt16>(truncatingIfNeeded: rounded),
                    as: SIMD16<UInt16>.self)
            }
        }
    }

    static func leakyReLU(_ view: ViewPointer, slope: Float, threads: Int) {
        let p = view.start
        forEachVector(view, threads: threads) { lo, hi in
            var i = lo
            while i < hi {
                let v = load(p, i)
                store(v.replacing(with: v * slope, where: v .< 0), p, i)
                i += 16
            }
        }
    }

    static func eltwise(_ inputs: [ViewPointer], _ output: ViewPointer, _ op: Eltwise, threads: Int) {
        if flat(inputs + [output], elementWise: true) {
            let sources = inputs.map(\.start), dst = output.start
            let coefficients = (0..<inputs.count).map { op.coefficient($0) }
            forEachVector(output, threads: threads) { lo, hi in
                var i = lo
                while i < hi {
                    var acc = load(sources[0], i)
                    if op.kind == .sum { acc *= coefficients[0] }
                    for k in 1..<sources.count {
                        let v = load(sources[k], i)
                        switch op.kind {
                        case .sum: acc += v * coefficients[k]
                        case .product: acc *= v
                        case .maximum: acc = pointwiseMax(acc, v)
                        }
                    }
                    store(acc, dst, i)
                    i += 16
                }
            }
            return
        }
        let v = output.view
        for c in 0..<v.channels {
            for y in 0..<v.height {
                for x in 0..<v.width {
                    var acc = inputs[0].load(c, y, x) * (op.kind == .sum ? op.coefficient(0) : 1)
                    for k in 1..<inputs.count {
                        let value = inputs[k].load(c, y, x)
                        switch op.kind {
                        case .sum: acc += value * op.coefficient(k)
                        case .product: acc *= value
                        case .maximum: acc = max(acc, value)
                        }
                    }
                    output.store(acc, c, y, x)
                }
            }
        }
        output.zeroPaddingLanes()
    }

    static func binary(_ a: ViewPointer, _ b: ViewPointer?, _ output: ViewPointer, _ op: BinaryOperation, threads: Int)
    {
        if flat([a, output] + (b.map { [$0] } ?? []), elementWise: true) {
            let pa = a.start, pb = b?.start, dst = output.start
            forEachVector(output, threads: threads) { lo, hi in
                var i = lo
                while i < hi {
                    let x = load(pa, i)
                    let y = pb.map { load($0, i) } ?? Vector(repeating: op.scalar ?? 0)
                    switch op.kind {
                    case .add: store(x + y, dst, i)
                    case .subtract: store(x - y, dst, i)
                    case .multiply: store(x * y, dst, i)
                    }
                    i += 16
                }
            }
            // A scalar add would turn zero padding lanes into the scalar; put them back.
            if op.scalar != nil { output.zeroPaddingLanes() }
            return
        }
        let v = output.view
        for c in 0..<v.channels {
            for y in 0..<v.height {
                for x in 0..<v.width {
                    output.store(op.apply(a.load(c, y, x), op.scalar ?? b!.load(c, y, x)), c, y, x)
                }
            }
        }
        output.zeroPaddingLanes()
    }

    static func prelu(_ input: ViewPointer, _ output: ViewPointer, _ op: PReLU, threads: Int) {
        if flat([input, output]) {
            let src = input.start, dst = output.start, plane = input.view.plane
            let blocks = input.view.paddedChannels / 16
            let slopes: [Vector] = (0..<blocks).map { b in
                Vector(
                    (0..<16).map { lane in b * 16 + lane < input.view.channels ? op.slope(channel: b * 16 + lane) : 0 })
            }
            forEachVector(output, threads: threads) { lo, hi in
                var i = lo
                while i < hi {
                    let v = load(src, i)
                    store(v.replacing(with: v * slopes[i / (plane * 16)], where: v .< 0), dst, i)
                    i += 16
                }
            }
            return
        }
        let v = output.view
        for c in 0..<v.channels {
            let slope = op.slope(channel: c)
            for y in 0..<v.height {
                for x in 0..<v.width {
                    let value = input.load(c, y, x)
                    output.store(value < 0 ? value * slope : value, c, y, x)
                }
            }
        }
        output.zeroPaddingLanes()
    }

    static func pixelShuffle(_ input: ViewPointer, _ output: ViewPointer, _ op: PixelShuffle, threads: Int) {
        let r = op.factor, v = output.view
        if op.inverse {
            // Pixel unshuffle: a gather, once per RRDBNet 2x/1x tile on a 3-channel input, so kept plain.
            let inView = input.view
            parallelChunks(inView.channels, threads: threads) { channels in
                for c in channels {
                    for y in 0..<inView.height {
                        for x in 0..<inView.width {
                            output.store(input.load(c, y, x), c * r * r + (y % r) * r + x % r, y / r, x / r)
                        }
                    }
                }
            }
            output.zeroPaddingLanes()
            return
        }
        if !input.plain && output.plain && r == 4 && input.view.channelOffset % 16 == 0 {
            // To a plain output (animevideov3's 48 -> 3 channels): with a factor of 4, input block c at a pixel is
            // output channel c's 4x4 patch there, lane i * 4 + j holding row i, column j.
            let inView = input.view, src = input.start, dst = output.start
            parallelChunks(v.channels * inView.height, threads: threads) { range in
                for item in range {
                    let c = item / inView.height, iy = item % inView.height
                    let blocks = src + (c * inView.plane + iy * inView.width) * 16
                    let rows = UnsafeMutableRawPointer(dst + (c * v.height + iy * 4) * v.width)
                    let pitch = v.width * MemoryLayout<Float>.stride, quad = 4 * MemoryLayout<Float>.stride
                    for ix in 0..<inView.width {
                        let patch = load(blocks, ix * 16)
                        rows.storeBytes(of: patch.lowHalf.lowHalf, toByteOffset: ix * quad, as: SIMD4<Float>.self)
                        rows.storeBytes(
                            of: patch.lowHalf.highHalf, toByteOffset: pitch + ix * quad, as: SIMD4<Float>.self)
                        rows.storeBytes(
                            of: patch.highHalf.lowHalf, toByteOffset: 2 * pitch + ix * quad, as: SIMD4<Float>.self)
                        rows.storeBytes(
                            of: patch.highHalf.highHalf, toByteOffset: 3 * pitch + ix * quad, as: SIMD4<Float>.self)
                    }
                }
            }
            return
        }
        if !input.plain && !output.plain && v.paddedChannels == 16 {
            // One output block (animevideov3's 48 -> 3 channels): each input pixel fills an r x r patch of output
            // pixels, each written as a whole 16-lane vector with zeros past the real channels.
            let inView = input.view, src = input.start, dst = output.start
            parallelChunks(inView.height, threads: threads) { rows in
                var lanes = [Float](repeating: 0, count: 16)
                for iy in rows {
                    for ix in 0..<inView.width {
                        for i in 0..<r {
                            for j in 0..<r {
                                for c in 0..<v.channels {
                                    let channel = c * r * r + i * r + j
                                    lanes[c] =
                                        src[
                                            ((channel >> 4) * inView.plane + iy * inView.width + ix) * 16
                                                + (channel & 15)]
                                }
                                let o = ((iy * r + i) * v.width + ix * r + j) * 16
                                lanes.withUnsafeBufferPointer {
                                    store(load(UnsafeMutablePointer(mutating: $0.baseAddress!), 0), dst, o)
                                }
                            }
                        }
                    }
                }
            }
            return
        }
        parallelChunks(v.channels, threads: threads) { channels in
            for c in channels {
                for y in 0..<v.height {
                    for x in 0..<v.width {
                        output.store(input.load(c * r * r + (y % r) * r + x % r, y / r, x / r), c, y, x)
                    }
                }
            }
        }
        output.zeroPaddingLanes()
    }

    static func interpolation(
        _ input: ViewPointer, _ output: ViewPointer, rows: InterpolationTaps,
        columns: InterpolationTaps, threads: Int
    ) {
        let v = output.view
        if flat([input]) && !output.plain {
            // Whole 16-channel blocks at a time.
            let blocks = v.paddedChannels / 16, inPlane = input.view.plane
            let src = input.start, dst = output.start, inWidth = input.view.width
            parallelChunks(blocks * v.height, threads: threads) { range in
                for item in range {
                    let block = item / v.height, y = item % v.height
                    let inBlock = src + block * inPlane * 16
                    let outRow = dst + (block * v.plane + y * v.width) * 16
                    if rows.tapsPerOutput == 1 && columns.tapsPerOutput == 1 {
                        // Nearest: a gather of whole 16-lane vectors, no arithmetic.
                        let inRow = inBlock + rows.indices[y] * inWidth * 16
                        columns.indices.withUnsafeBufferPointer { sourceColumns in
                            for x in 0..<v.width { store(load(inRow, sourceColumns[x] * 16), outRow, x * 16) }
                        }
                        continue
                    }
                    for x in 0..<v.width {
                        var acc = Vector(repeating: 0)
                        for (iy, wy) in rows.taps(y) {
                            for (ix, wx) in columns.taps(x) {
                                acc += load(inBlock, (iy * inWidth + ix) * 16) * (wy * wx)
                            }
                        }
                        store(acc, outRow, x * 16)
                    }
                }
            }
            return
        }
        if input.plain && output.plain && rows.tapsPerOutput == 1 && columns.tapsPerOutput == 1 {
            // Nearest between plain tensors (animevideov3's upsampled input, to its plain sum): a gather per row.
            let inView = input.view, src = input.start, dst = output.start
            parallelChunks(v.channels * v.height, threads: threads) { range in
                for item in range {
                    let c = item / v.height, y = item % v.height
                    let inRow = src + (c * inView.height + rows.indices[y]) * inView.width
                    let outRow = dst + (c * v.height + y) * v.width
                    columns.indices.withUnsafeBufferPointer { sourceColumns in
                        for x in 0..<v.width { outRow[x] = inRow[sourceColumns[x]] }
                    }
                }
            }
            return
        }
        if input.plain && !output.plain && rows.tapsPerOutput == 1 && columns.tapsPerOutput == 1 {
            // Nearest from the caller's plain input (animevideov3's skip connection): gather each input row into
            // 16-lane vectors once, then copy vectors. Element by element this was 10 % of a 512 px run.
            let blocks = v.paddedChannels / 16, inWidth = input.view.width, inPlane = input.view.plane
            let channels = input.view.channels, src = input.start, dst = output.start
            parallelChunks(blocks * v.height, threads: threads) { range in
                var row = [Vector](repeating: Vector(repeating: 0), count: inWidth)
                var cached = -1  // the (block, input row) `row` holds
                for item in range {
                    let block = item / v.height, y = item % v.height
                    let key = block * input.view.height + rows.indices[y]
                    if key != cached {
                        let first = block * 16, lanes = min(16, channels - first)
                        let inRow = src + rows.indices[y] * inWidth
                        for x in 0..<inWidth {
                            var vector = Vector(repeating: 0)
                            for lane in 0..<lanes { vector[lane] = inRow[(first + lane) * inPlane + x] }
                            row[x] = vector
                        }
                        cached = key
                    }
                    let outRow = dst + (block * v.plane + y * v.width) * 16
                    columns.indices.withUnsafeBufferPointer { sourceColumns in
                        for x in 0..<v.width { store(row[sourceColumns[x]], outRow, x * 16) }
                    }
                }
            }
            return
        }
        // Any other layout: element by element, taps read from flat arrays.
        let kr = rows.tapsPerOutput, kc = columns.tapsPerOutput
        rows.indices.withUnsafeBufferPointer { rowIndex in
            rows.weights.withUnsafeBufferPointer { rowWeight in
                columns.indices.withUnsafeBufferPointer { columnIndex in
                    columns.weights.withUnsafeBufferPointer { columnWeight in
                        parallelChunks(v.channels * v.height, threads: threads) { range in
                            for item in range {
                                let c = item / v.height, y = item % v.height
                                for x in 0..<v.width {
                                    var acc: Float = 0
                                    for ty in 0..<kr {
                                        let iy = rowIndex[y * kr + ty], wy = rowWeight[y * kr + ty]
                                        for tx in 0..<kc {
                                            acc +=
                                                input.load(c, iy, columnIndex[x * kc + tx]) * wy
                                                * columnWeight[x * kc + tx]
                                        }
                                    }
                                    output.store(acc, c, y, x)
                                }
                            }
                        }
                    }
                }
            }
        }
        output.zeroPaddingLanes()
    }
}
