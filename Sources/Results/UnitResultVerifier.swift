import Foundation

/// Verification of many unit-result files: what `circuitsweep verify` runs.
public enum UnitResultVerifier {
    /// The verdict on one path.
    public struct Outcome: Sendable {
        public var path: String
        /// `nil` when the file is good; otherwise why not.
        public var problem: String?
        public var isGood: Bool { problem == nil }
    }

    /// The `*.h5` files named by `paths`: files as given, folders searched recursively (sorted).
    /// Paths that do not exist come back as outcomes with a problem.
    public static func collect(_ paths: [String]) -> (files: [URL], missing: [Outcome]) {
        var files: [URL] = []
        var missing: [Outcome] = []
        let manager = FileManager.default
        for path in paths {
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isFolder) else {
                missing.append(Outcome(path: path, problem: "no such file or folder"))
                continue
            }
            guard isFolder.boolValue else {
                files.append(URL(fileURLWithPath: path))
                continue
            }
            let root = URL(fileURLWithPath: path, isDirectory: true)
            guard let walker = manager.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
                missing.append(Outcome(path: path, problem: "cannot list folder"))
                continue
            }
            var found: [URL] = []
            for case let url as URL in walker where url.pathExtension == "h5" {
                if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { found.append(url) }
            }
            files += found.sorted { $0.path < $1.path }
        }
        return (files, missing)
    }

    /// Verifies one file (SHA-256 first when expected, then a validating read).
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func verify(_ url: URL, expectedSHA256: String? = nil) -> Outcome {
        do {
            try UnitResultFile.verify(url, expectedSHA256: expectedSHA256)
            return Outcome(path: url.path, problem: nil)
        } catch let error as UnitResultError {
            return Outcome(path: url.path, problem: reason(error, file: url.path))
        } catch {
            return Outcome(path: url.path, problem: "\(error)")
        }
    }

    /// The error's description without the leading file path (the outcome already names it).
    private static func reason(_ error: UnitResultError, file: String) -> String {
        let text = error.description
        if text.hasPrefix(file) {
            return String(text.dropFirst(file.count)).trimmingCharacters(in: CharacterSet(charactersIn: ": "))
        }
        return text
    }
}
