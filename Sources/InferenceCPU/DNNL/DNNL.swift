import CDNNL
import Inference

// The Swift side of oneDNN: every C handle is owned by a final class that destroys it in deinit, and every
// status code passes through `check`. Nothing outside this folder sees a dnnl_* type.

/// Turns a oneDNN status into a thrown error that names the call.
@inline(__always)
func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) throws {
    guard status == dnnl_success else {
        throw InferenceError(
            .backendFailure, "the oneDNN backend failed in \(call())",
            detail: "dnnl_status_t \(status.rawValue)")
    }
}

/// oneDNN's `DNNL_MEMORY_ALLOCATE`, a macro Swift cannot import: ask the library to allocate the buffer.
private var libraryAllocates: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: -1) }

/// Sets the OpenMP thread count that oneDNN's parallel regions use. Must run before primitives are created,
/// because oneDNN sizes its kernels' work split by the thread count at creation time.
func setBackendThreads(_ count: Int) {
    omp_set_num_threads(Int32(max(1, count)))
}

/// A CPU engine and the stream primitives execute on.
final class DNNLEngine: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    init() throws {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        var stream: dnnl_stream_t?
        let status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
        if status != dnnl_success { dnnl_engine_destroy(engine) }
        try check(status, "dnnl_stream_create")
        self.engine = engine!
        self.stream = stream!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    func wait() throws {
        try check(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }
}

/// Describes a dense tensor; wraps `dnnl_memory_desc_t` so callers never build one by hand.
struct MemoryDescriptor: @unchecked Sendable {
    var desc: dnnl_memory_desc_t

    enum Format { case nchw, blocked16, oihw, vector, any }
    enum Precision { case f32, bf16 }

    init(dims: [Int], format: Format, precision: Precision = .f32) throws {
        let tag: dnnl_format_tag_t
        switch format {
        case .nchw: tag = dnnl_nchw
        case .blocked16: tag = dnnl_nChw16c
        case .oihw: tag = dnnl_oihw
        case .vector: tag = dnnl_x
        case .any: tag = dnnl_format_tag_any
        }
        var desc = dnnl_memory_desc_t()
        let dims64 = dims.map(Int64.init)
        try check(
            dnnl_memory_desc_init_by_tag(
                &desc, Int32(dims.count), dims64,
                precision == .f32 ? dnnl_f32 : dnnl_bf16, tag),
            "dnnl_memory_desc_init_by_tag \(dims)")
        self.desc = desc
    }

    init(_ desc: dnnl_memory_desc_t) { self.desc = desc }
}

/// A oneDNN memory object: either a view over a buffer we own, or a buffer oneDNN allocates.
final class DNNLMemory: @unchecked Sendable {
    let handle: dnnl_memory_t

    /// Wraps `pointer` (not owned), or lets oneDNN allocate when `pointer` is nil.
    init(_ layout: MemoryDescriptor, engine: DNNLEngine, pointer: UnsafeMutableRawPointer? = nil) throws {
        var desc = layout.desc
        var handle: dnnl_memory_t?
        try check(
            dnnl_memory_create(&handle, &desc, engine.engine, pointer ?? libraryAllocates),
            "dnnl_memory_create")
        self.handle = handle!
    }

    deinit { dnnl_memory_destroy(handle) }

    var pointer: UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(handle, &p)
        return p!
    }
}

/// Post-operations fused into a primitive.
struct PostOps {
    /// `dst = op(src) + scale * dst`.
    var sumScale: Float?
    /// ReLU with a negative slope (0 for plain ReLU), applied after the sum.
    var reluSlope: Float?
}

/// A created primitive plus the memories it runs on, ready to execute again and again.
final class DNNLPrimitive: @unchecked Sendable {
    private let handle: dnnl_primitive_t
    private var arguments: [dnnl_exec_arg_t]
    /// Keeps the memory objects alive for as long as the primitive may run.
    private let memories: [DNNLMemory]
    let implementation: String

    init(
        descriptor: UnsafeRawPointer, postOps: PostOps?, engine: DNNLEngine, what: String,
        bind: (dnnl_primitive_desc_t) throws -> [(Int32, DNNLMemory)]
    ) throws {
        var attr: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        if let postOps {
            var ops: dnnl_post_ops_t?
            try check(dnnl_post_ops_create(&ops), "dnnl_post_ops_create")
            defer { dnnl_post_ops_destroy(ops) }
            if let scale = postOps.sumScale {
                try check(dnnl_post_ops_append_sum(ops, scale), "dnnl_post_ops_append_sum")
            }
            if let slope = postOps.reluSlope {
                try check(
                    dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, slope, 0),
                    "dnnl_post_ops_append_eltwise")
            }
            try check(dnnl_primitive_attr_set_post_ops(attr, ops), "dnnl_primitive_attr_set_post_ops")
        }
        var pd: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&pd, descriptor, attr, engine.engine, nil), "creating \(what)")
        defer { dnnl_primitive_desc_destroy(pd) }
        var name: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name)
        implementation = name.map { String(cString: $0) } ?? "?"
        let bound = try bind(pd!)
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, pd), "dnnl_primitive_create \(what)")
        handle = primitive!
        memories = bound.map(\.1)
        arguments = bound.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
    }

    deinit { dnnl_primitive_destroy(handle) }

    func execute(on engine: DNNLEngine) throws {
        try check(
            dnnl_primitive_execute(handle, engine.stream, Int32(arguments.count), &arguments),
            "dnnl_primitive_execute \(implementation)")
    }

    /// The layout a primitive wants for one of its arguments, e.g. `dnnl_query_weights_md`.
    static func queryLayout(_ pd: dnnl_primitive_desc_t, _ what: dnnl_query_t) -> MemoryDescriptor {
        MemoryDescriptor(dnnl_primitive_desc_query_md(pd, what, 0).pointee)
    }
}

enum DNNLArgument {
    static let source = DNNL_ARG_SRC
    static let weights = DNNL_ARG_WEIGHTS
    static let bias = DNNL_ARG_BIAS
    static let destination = DNNL_ARG_DST
    static let from = DNNL_ARG_FROM
    static let to = DNNL_ARG_TO
}

extension DNNLEngine {
    /// Copies `from` into a new library-allocated memory of layout `to`, converting format and precision.
    func reorder(_ from: DNNLMemory, fromLayout: MemoryDescriptor, to: MemoryDescriptor) throws -> DNNLMemory {
        let target = try DNNLMemory(to, engine: self)
        var src = fromLayout.desc, dst = to.desc
        var pd: dnnl_primitive_desc_t?
        try check(
            dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, nil),
            "dnnl_reorder_primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, pd), "dnnl_primitive_create reorder")
        defer { dnnl_primitive_destroy(primitive) }
        var args = [
            dnnl_exec_arg_t(arg: DNNLArgument.from, memory: from.handle),
            dnnl_exec_arg_t(arg: DNNLArgument.to, memory: target.handle),
        ]
        try check(dnnl_primitive_execute(primitive, stream, 2, &args), "reorder")
        try wait()
        return target
    }
}
