/// A network loaded on one backend, ready to run on tiles: the CPU engine or the GPU engine.
///
/// The tiler and the pipeline only see this protocol, so neither knows which backend runs the model.
public protocol NetworkRunner: AnyObject {
    /// The network this runner executes.
    var network: Network { get }
    /// Runs the network on one input tensor (planar CHW) and returns its output.
    func run(_ input: Tensor) throws -> Tensor
    /// Input extents this runner is fastest at are multiples of this; the tiler pads tiles up to one.
    var preferredAlignment: Int { get }
    /// Frees what runs of the last input shape keep (the plan and its buffers); the next run plans again.
    func releaseBuffers()
}

extension NetworkRunner {
    /// Input extents this runner is fastest at are multiples of this; the tiler pads tiles up to one (default 1).
    public var preferredAlignment: Int { 1 }

    /// Nothing is kept between runs (default).
    public func releaseBuffers() {}
}
