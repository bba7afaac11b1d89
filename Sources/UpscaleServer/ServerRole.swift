/// Which parts of the service a process runs.
public enum ServerRole: String, Sendable {
    /// HTTP, auth, validation, queue and downloads; never loads a model.
    case api
    /// Takes jobs from the store and runs the pipeline.
    case worker
    /// Both, in one process: the default for one machine.
    case serve

    var runsAPI: Bool { self != .worker }
    var runsWorker: Bool { self != .api }
}
