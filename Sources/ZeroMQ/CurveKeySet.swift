import Foundation

/// The files written by ``CurveKeySet/generate(in:coordinatorName:workerCount:overwrite:)``,
/// the library side of `circuitsweep keys generate`.
public struct CurveKeySet: Sendable {
    /// `<coordinatorName>.key` (mode 0600): the coordinator's key pair.
    public var coordinatorKeyFile: URL
    /// `<coordinatorName>.pub`: the public key every worker needs.
    public var coordinatorPublicKeyFile: URL
    /// `worker-NNN.key` (mode 0600), one per worker, in order.
    public var workerKeyFiles: [URL]
    /// `worker-NNN.pub`, one per worker, in order.
    public var workerPublicKeyFiles: [URL]
    /// `workers.allow`: the allow-list of all worker public keys, for the coordinator.
    public var allowListFile: URL
    /// The coordinator's public key.
    public var coordinatorPublicKey: CurvePublicKey
    /// The workers' public keys, in order.
    public var workerPublicKeys: [CurvePublicKey]

    /// File name of the allow-list inside the output directory.
    public static let allowListFileName = "workers.allow"

    /// Whether `name` is usable as a key file stem: 1–64 characters of `A–Z a–z 0–9 . _ -`,
    /// not starting with `.` or `-`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.count), let first = name.first, first != ".", first != "-" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The stem used for worker `index` (0-based): `worker-001`, `worker-002`, …
    public static func workerName(_ index: Int) -> String {
        let number = String(index + 1)
        return "worker-" + String(repeating: "0", count: max(0, 3 - number.count)) + number
    }

    /// Generates a coordinator key pair and `workerCount` worker key pairs in `directory`
    /// (created if missing, mode 0700), plus the allow-list of the worker public keys.
    ///
    /// Files holding secrets are created with mode 0600. Nothing is overwritten unless
    /// `overwrite` is set; the check happens before any file is written.
    /// - Throws: ``KeyFileError`` naming the offending file, or ``ZMQError`` if key
    ///   generation fails (libzmq without CURVE).
    public static func generate(
        in directory: URL, coordinatorName: String = "coordinator", workerCount: Int, overwrite: Bool = false
    ) throws -> CurveKeySet {
        guard isValidName(coordinatorName) else {
            throw KeyFileError.unwritable(path: directory.appendingPathComponent(coordinatorName).path,
                                          reason: "invalid key name; use letters, digits, '.', '_' or '-'")
        }
        guard workerCount >= 0 else {
            throw KeyFileError.unwritable(path: directory.path, reason: "worker count must not be negative")
        }
        let workerNames = (0..<workerCount).map(workerName)
        if workerNames.contains(coordinatorName) {
            throw KeyFileError.unwritable(path: directory.appendingPathComponent(coordinatorName + ".key").path,
                                          reason: "the coordinator name collides with a worker key name")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw KeyFileError.unwritable(path: directory.path, reason: (error as NSError).localizedDescription)
        }
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        let allFiles = ([coordinatorName] + workerNames).flatMap { [file($0 + ".key"), file($0 + ".pub")] }
            + [file(allowListFileName)]
        if !overwrite, let existing = allFiles.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw KeyFileError.alreadyExists(path: existing.path)
        }

        let coordinator = try CurveKeyPair.generate()
        try CurveKeyFile.write(coordinator, to: file(coordinatorName + ".key"), overwrite: overwrite)
        try CurveKeyFile.write(coordinator.publicKey, to: file(coordinatorName + ".pub"), overwrite: overwrite)
        var workerKeys: [CurvePublicKey] = []
        for name in workerNames {
            let worker = try CurveKeyPair.generate()
            try CurveKeyFile.write(worker, to: file(name + ".key"), overwrite: overwrite)
            try CurveKeyFile.write(worker.publicKey, to: file(name + ".pub"), overwrite: overwrite)
            workerKeys.append(worker.publicKey)
        }
        try CurveAllowList.write(
            header: "CURVE public keys of the workers admitted by coordinator '\(coordinatorName)'.\nOne Z85 key per line; edit and reload to change.",
            entries: zip(workerKeys, workerNames).map { (key: $0.0, comment: Optional($0.1)) },
            to: file(allowListFileName), overwrite: overwrite)

        return CurveKeySet(
            coordinatorKeyFile: file(coordinatorName + ".key"),
            coordinatorPublicKeyFile: file(coordinatorName + ".pub"),
            workerKeyFiles: workerNames.map { file($0 + ".key") },
            workerPublicKeyFiles: workerNames.map { file($0 + ".pub") },
            allowListFile: file(allowListFileName),
            coordinatorPublicKey: coordinator.publicKey,
            workerPublicKeys: workerKeys)
    }
}
