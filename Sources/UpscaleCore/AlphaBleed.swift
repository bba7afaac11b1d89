public import Imaging

/// Gives fully transparent pixels the colour of the nearest visible ones before the image goes to the model.
///
/// Under alpha 0 an image may hold any colour, very often black. The model would smear that colour across the edge
/// of the shape, and once alpha is put back the edge shows a dark fringe. Filling the invisible pixels outward from
/// the visible ones, layer by layer, makes every edge continue its own colour. Pixels with any opacity keep theirs.
public enum AlphaBleed {
    public static func bleed(_ image: inout RGBImage) {
        guard let alpha = image.alpha else { return }
        let width = image.width, height = image.height, plane = width * height
        var known = alpha.map { $0 > 0.5 / 255 }
        guard known.contains(true), known.contains(false) else { return }
        var frontier: [Int] = []
        func unknownNeighbours(of p: Int, _ body: (Int) -> Void) {
            let x = p % width, y = p / width
            for dy in -1...1 {
                for dx in -1...1 where dx != 0 || dy != 0 {
                    let nx = x + dx, ny = y + dy
                    if nx >= 0, nx < width, ny >= 0, ny < height { body(ny * width + nx) }
                }
            }
        }
        var queued = [Bool](repeating: false, count: plane)
        for p in 0..<plane where known[p] {
            unknownNeighbours(of: p) { n in
                if !known[n] && !queued[n] { queued[n] = true; frontier.append(n) }
            }
        }
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            while !frontier.isEmpty {
                // Colour this whole layer from the layer before it, then mark it known.
                var colours: [(Float, Float, Float)] = []
                colours.reserveCapacity(frontier.count)
                for p in frontier {
                    var sum: (Float, Float, Float) = (0, 0, 0)
                    var count: Float = 0
                    unknownNeighbours(of: p) { n in
                        guard known[n] else { return }
                        sum.0 += pixels[n]; sum.1 += pixels[plane + n]; sum.2 += pixels[2 * plane + n]
                        count += 1
                    }
                    colours.append((sum.0 / count, sum.1 / count, sum.2 / count))
                }
                var next: [Int] = []
                for (p, colour) in zip(frontier, colours) {
                    pixels[p] = colour.0; pixels[plane + p] = colour.1; pixels[2 * plane + p] = colour.2
                    known[p] = true
                }
                for p in frontier {
                    unknownNeighbours(of: p) { n in
                        if !known[n] && !queued[n] { queued[n] = true; next.append(n) }
                    }
                }
                frontier = next
            }
        }
    }
}
