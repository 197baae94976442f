/// The coordinator↔worker protocol (schemas/protocol.md). Each message is one ZeroMQ
/// multipart message: `[version, type, JSON header, payload?]`. The version frame is one
/// byte (``WireMessage/version``); the type frame is an ASCII tag (``WireMessage/Kind``);
/// the header is UTF-8 JSON; a payload frame follows only for `dataset` and `result-chunk`.
public enum WireMessage: Sendable, Equatable {
    public static let version: UInt8 = 1

    // Worker → coordinator
    case hello(Hello)
    case ready(Ready)
    case heartbeat(Heartbeat)
    case datasetRequest(DatasetRequest)
    case resultChunk(ResultChunk, payload: [UInt8])
    case resultCommit(ResultCommit)
    case failure(Failure)
    case release(Release)
    case bye(Bye)
    // Coordinator → worker
    case welcome(Welcome)
    case assign(Assign)
    case dataset(DatasetHeader, payload: [UInt8])
    case ack(Ack)
    case cancel(Cancel)
    case shutdown(Shutdown)

    /// Type tags, written once.
    public enum Kind: String, Sendable, CaseIterable {
        case hello, ready, heartbeat, datasetRequest = "dataset-request", resultChunk = "result-chunk"
        case resultCommit = "result-commit", failure, release, bye
        case welcome, assign, dataset, ack, cancel, shutdown

        /// Whether the message carries a payload frame.
        var hasPayload: Bool { self == .resultChunk || self == .dataset }
    }

    public var kind: Kind {
        switch self {
        case .hello: .hello
        case .ready: .ready
        case .heartbeat: .heartbeat
        case .datasetRequest: .datasetRequest
        case .resultChunk: .resultChunk
        case .resultCommit: .resultCommit
        case .failure: .failure
        case .release: .release
        case .bye: .bye
        case .welcome: .welcome
        case .assign: .assign
        case .dataset: .dataset
        case .ack: .ack
        case .cancel: .cancel
        case .shutdown: .shutdown
        }
    }

    /// The sending worker, for worker → coordinator messages.
    public var worker: WorkerID? {
        switch self {
        case .hello(let m): m.worker
        case .ready(let m): m.worker
        case .heartbeat(let m): m.worker
        case .datasetRequest(let m): m.worker
        case .resultChunk(let m, _): m.worker
        case .resultCommit(let m): m.worker
        case .failure(let m): m.worker
        case .release(let m): m.worker
        case .bye(let m): m.worker
        default: nil
        }
    }
}

extension WireMessage {
    public struct Hello: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var host: String
        public var pid: Int
        public var capacity: Int
        public var checkpoint: CheckpointKey?
        /// The worker writes results into a results folder shared with the coordinator.
        public var sharedResults: Bool
        public var software: String

        public init(worker: WorkerID, host: String, pid: Int, capacity: Int, checkpoint: CheckpointKey?,
                    sharedResults: Bool, software: String) {
            self.worker = worker
            self.host = host
            self.pid = pid
            self.capacity = capacity
            self.checkpoint = checkpoint
            self.sharedResults = sharedResults
            self.software = software
        }
    }

    public struct Ready: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var capacity: Int
        public var checkpoint: CheckpointKey?

        public init(worker: WorkerID, capacity: Int, checkpoint: CheckpointKey?) {
            self.worker = worker
            self.capacity = capacity
            self.checkpoint = checkpoint
        }
    }

    public struct Heartbeat: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var capacity: Int
        public var checkpoint: CheckpointKey?
        /// Leases the worker is computing or holding a finished, unacknowledged result for.
        public var leases: [LeaseID]

        public init(worker: WorkerID, capacity: Int, checkpoint: CheckpointKey?, leases: [LeaseID]) {
            self.worker = worker
            self.capacity = capacity
            self.checkpoint = checkpoint
            self.leases = leases
        }
    }

    public struct DatasetRequest: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var hash: String

        public init(worker: WorkerID, hash: String) {
            self.worker = worker
            self.hash = hash
        }
    }

    public struct ResultChunk: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var unit: UnitID
        public var lease: LeaseID
        public var index: Int
        public var count: Int

        public init(worker: WorkerID, unit: UnitID, lease: LeaseID, index: Int, count: Int) {
            self.worker = worker
            self.unit = unit
            self.lease = lease
            self.index = index
            self.count = count
        }
    }

    public struct ResultCommit: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var unit: UnitID
        public var lease: LeaseID
        /// SHA-256 of the whole result file.
        public var sha256: String
        public var size: Int
        /// Number of result-chunk messages sent before this one (0 with shared results).
        public var chunks: Int
        /// The file is already in the shared results folder at the assigned path.
        public var shared: Bool

        public init(worker: WorkerID, unit: UnitID, lease: LeaseID, sha256: String, size: Int, chunks: Int, shared: Bool) {
            self.worker = worker
            self.unit = unit
            self.lease = lease
            self.sha256 = sha256
            self.size = size
            self.chunks = chunks
            self.shared = shared
        }
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var unit: UnitID
        public var lease: LeaseID
        public var error: String

        public init(worker: WorkerID, unit: UnitID, lease: LeaseID, error: String) {
            self.worker = worker
            self.unit = unit
            self.lease = lease
            self.error = error
        }
    }

    public struct Release: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var unit: UnitID
        public var lease: LeaseID
        /// The worker is shutting down and takes no new work.
        public var draining: Bool

        public init(worker: WorkerID, unit: UnitID, lease: LeaseID, draining: Bool) {
            self.worker = worker
            self.unit = unit
            self.lease = lease
            self.draining = draining
        }
    }

    public struct Bye: Codable, Sendable, Equatable {
        public var worker: WorkerID
        public var reason: String

        public init(worker: WorkerID, reason: String) {
            self.worker = worker
            self.reason = reason
        }
    }

    public struct Welcome: Codable, Sendable, Equatable {
        public var leaseSeconds: Double
        public var heartbeatSeconds: Double
        /// Largest result-chunk payload the coordinator accepts.
        public var maxChunkBytes: Int

        public init(leaseSeconds: Double, heartbeatSeconds: Double, maxChunkBytes: Int) {
            self.leaseSeconds = leaseSeconds
            self.heartbeatSeconds = heartbeatSeconds
            self.maxChunkBytes = maxChunkBytes
        }
    }

    public struct Assign: Codable, Sendable, Equatable {
        public var lease: LeaseID
        public var unit: UnitID
        public var attempt: Int
        public var speculative: Bool
        public var model: ModelSpec
        public var revision: Revision
        public var task: TaskSpec
        /// SHA-256 of the dataset bytes; fetch with `dataset-request` when not cached.
        public var datasetHash: String
        public var analysis: AnalysisSpec
        /// Relative to the results folder (used as-is with shared results).
        public var resultPath: String
        public var resultSchemaVersion: Int

        public init(lease: LeaseID, unit: UnitID, attempt: Int, speculative: Bool, model: ModelSpec, revision: Revision,
                    task: TaskSpec, datasetHash: String, analysis: AnalysisSpec, resultPath: String, resultSchemaVersion: Int) {
            self.lease = lease
            self.unit = unit
            self.attempt = attempt
            self.speculative = speculative
            self.model = model
            self.revision = revision
            self.task = task
            self.datasetHash = datasetHash
            self.analysis = analysis
            self.resultPath = resultPath
            self.resultSchemaVersion = resultSchemaVersion
        }

        public var checkpoint: CheckpointKey { CheckpointKey(model: model.name, revision: revision) }
    }

    public struct DatasetHeader: Codable, Sendable, Equatable {
        public var hash: String
        /// Empty when the coordinator does not know the hash (payload empty then).
        public var found: Bool

        public init(hash: String, found: Bool) {
            self.hash = hash
            self.found = found
        }
    }

    /// The coordinator's answer to a result-commit.
    public enum AckStatus: String, Codable, Sendable, Equatable {
        /// Durable: the worker may delete its copy.
        case committed
        /// Another copy was committed first: delete yours.
        case duplicate
        /// Not part of this sweep: delete yours.
        case unknown
        /// Chunks were missing or the checksum failed: send the result again.
        case resend
        /// The coordinator could not store it; the unit was requeued: delete yours.
        case rejected
    }

    public struct Ack: Codable, Sendable, Equatable {
        public var unit: UnitID
        public var lease: LeaseID
        public var status: AckStatus
        public var detail: String?

        public init(unit: UnitID, lease: LeaseID, status: AckStatus, detail: String? = nil) {
            self.unit = unit
            self.lease = lease
            self.status = status
            self.detail = detail
        }
    }

    public struct Cancel: Codable, Sendable, Equatable {
        public var unit: UnitID
        public var lease: LeaseID

        public init(unit: UnitID, lease: LeaseID) {
            self.unit = unit
            self.lease = lease
        }
    }

    public struct Shutdown: Codable, Sendable, Equatable {
        public var reason: String

        public init(reason: String) { self.reason = reason }
    }
}
