import CHDF5

/// The single owner of one `hid_t`: closes it exactly once, in `close()` or in `deinit`.
///
/// `@unchecked Sendable`: the id is only used with the process-wide HDF5 lock held, and
/// `isOpen` is only read or written with that lock held.
final class HDF5Handle: @unchecked Sendable {
    enum Kind { case file, group, dataset, attribute, datatype, dataspace, propertyList, object }

    let id: hid_t
    let kind: Kind
    private var isOpen = true

    /// Takes ownership of `id`, which MUST be valid (checked by `HDF5Call.id`).
    init(_ id: hid_t, _ kind: Kind) {
        self.id = id
        self.kind = kind
    }

    /// Closes the id; throws with the error stack if HDF5 refuses (e.g. a file with objects
    /// still open). Closing twice is a no-op.
    func close(_ context: HDF5Context) throws {
        try HDF5Library.withLock {
            guard isOpen else { return }
            let status = Self.closeFunction(kind)(id)
            if status < 0 {
                throw context.error(.library(function: Self.closeName(kind)), messages: HDF5Call.takeErrorStack())
            }
            isOpen = false
        }
    }

    deinit {
        HDF5Library.withLock {
            if isOpen {
                if Self.closeFunction(kind)(id) < 0 { _ = HDF5Call.takeErrorStack() }
            }
        }
    }

    private static func closeFunction(_ kind: Kind) -> (hid_t) -> herr_t {
        switch kind {
        case .file: return H5Fclose
        case .group: return H5Gclose
        case .dataset: return H5Dclose
        case .attribute: return H5Aclose
        case .datatype: return H5Tclose
        case .dataspace: return H5Sclose
        case .propertyList: return H5Pclose
        case .object: return H5Oclose
        }
    }

    private static func closeName(_ kind: Kind) -> String {
        switch kind {
        case .file: return "H5Fclose"
        case .group: return "H5Gclose"
        case .dataset: return "H5Dclose"
        case .attribute: return "H5Aclose"
        case .datatype: return "H5Tclose"
        case .dataspace: return "H5Sclose"
        case .propertyList: return "H5Pclose"
        case .object: return "H5Oclose"
        }
    }
}

extension HDF5Handle {
    /// Wraps the result of a creating call, throwing (with the error stack) if it failed.
    static func make(_ result: hid_t, _ kind: Kind, _ function: String, _ context: HDF5Context,
                     object: String? = nil) throws -> HDF5Handle {
        HDF5Handle(try HDF5Call.id(result, function, context, object: object), kind)
    }
}
