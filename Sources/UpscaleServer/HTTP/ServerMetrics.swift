import InferenceVulkan
import NIOConcurrencyHelpers
import Prometheus
import UpscaleCore

/// The Prometheus series this server exposes at `/metrics`. The registry is owned here rather than installed as the
/// process-wide MetricsSystem, so several servers in one test process never fight over a global.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let queueDepth: Gauge
    private let jobSeconds: ValueHistogram
    /// Where this process's worker runs the model, once it is ready (`nil` in an api-only process).
    private let device = NIOLockedValueBox<ComputeTarget?>(nil)
    private static let jobBuckets: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
    private static let requestBuckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 300]

    public init() {
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", "depth", "Jobs waiting for a worker."))
        jobSeconds = registry.makeValueHistogram(
            descriptor: Self.name("job_duration", "seconds", "Wall time of finished jobs, from claim to result."),
            buckets: Self.jobBuckets)
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "upscaler", metricName: metric, unitName: unit, helpText: help)
    }

    /// One finished HTTP request; `route` is the matched path template, so ids do not explode the label set.
    func request(route: String, method: String, status: Int, seconds: Double) {
        registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP requests by route, method and status."),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeValueHistogram(
            descriptor: Self.name("http_request_duration", "seconds", "HTTP request durations by route."),
            labels: [("route", route)], buckets: Self.requestBuckets
        ).record(seconds)
    }

    func setQueueDepth(_ depth: Int) {
        queueDepth.set(to: Double(depth))
    }

    /// A job that finished: its status, its duration, and the model's share of it.
    func job(status: String, model: String, seconds: Double, modelSeconds: Double?) {
        registry.makeCounter(
            descriptor: Self.name("jobs", "total", "Finished jobs by final status, model and device."),
            labels: [
                ("status", status), ("model", model),
                ("device", workerDevice?.label ?? "none"),
            ]
        ).increment()
        jobSeconds.record(seconds)
        if let modelSeconds {
            registry.makeValueHistogram(
                descriptor: Self.name("model", "seconds", "Seconds spent in the model (the infer step) per job."),
                labels: [("model", model), ("device", workerDevice?.label ?? "none")],
                buckets: Self.jobBuckets
            ).record(modelSeconds)
        }
    }

    /// Records where this process's worker runs, as `upscaler_worker_info{device="gpu:0",name="..."} 1`.
    func setWorkerDevice(_ target: ComputeTarget) {
        device.withLockedValue { $0 = target }
        let name: String
        switch target {
        case .cpu: name = "cpu"
        case .gpu(let gpu): name = gpu.name
        }
        registry.makeGauge(
            descriptor: Self.name("worker", "info", "Where this process's worker runs the model."),
            labels: [("device", target.label), ("name", name)]
        ).set(to: 1)
    }

    /// Where this process's worker runs the model, for `/health/ready`.
    var workerDevice: ComputeTarget? { device.withLockedValue { $0 } }

    func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
