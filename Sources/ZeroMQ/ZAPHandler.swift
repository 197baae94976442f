import CZeroMQ
import Dispatch
import Foundation
import Logging
import Synchronization

/// One connection attempt the ``ZAPHandler`` refused.
public struct ZAPRefusal: Sendable, Equatable {
    /// The client's CURVE public key, or `nil` when the client did not use CURVE.
    public var publicKey: CurvePublicKey?
    /// The security mechanism the client used (`CURVE`, `NULL`, `PLAIN`).
    public var mechanism: String
    /// The client's address as libzmq reports it (the IP for TCP).
    public var peerAddress: String
    /// The ZAP domain of the server socket (empty when none is set).
    public var domain: String
    /// Why the client was refused (also the ZAP status text).
    public var reason: String
}

/// A ZAP (RFC 27) handler that admits only CURVE clients whose public key is on an
/// allow-list, serving `inproc://zeromq.zap.01` of one context on its own thread.
///
/// libzmq asks the handler about every CURVE handshake on the context's CURVE server
/// sockets; the handler answers `200` with the client's Z85 public key as `User-Id` (read it
/// back with ``ZMQSocket/receiveMessage(timeout:)``) or `400`, logging each refusal at
/// `info` with `zap.key`, `peer.address`, `zap.mechanism`, `zap.domain`, `zap.reason`.
///
/// Shell obligations:
/// - The handler MUST be running before a CURVE server socket binds, and MUST be stopped
///   only after that socket is closed: without a handler libzmq admits every client that
///   knows the server key. (``CurveRole/server(secretKey:)`` also sets
///   `ZMQ_ZAP_ENFORCE_DOMAIN` and a ZAP domain, under which libzmq 4.3 refuses everyone
///   while no handler is bound; the test `noHandlerAdmitsNobody` checks this.)
/// - One handler per context (the endpoint can be bound once).
/// - ``stop()`` (or releasing the handler) joins the thread; call it at shutdown.
///
/// The allow-list can be replaced at any time from any thread (``replaceAllowList(_:)``,
/// ``reloadAllowList(from:)``); new handshakes see the new list, existing connections stay.
public final class ZAPHandler: Sendable {
    /// The ZAP endpoint fixed by RFC 27.
    public static let endpoint = "inproc://zeromq.zap.01"
    /// The ZAP domain ``ZMQSocket/setCurve(_:)`` gives CURVE servers that set none.
    public static let defaultDomain = "circuitsweep"

    private let shared: Shared

    /// Binds the ZAP endpoint on a new thread and starts answering requests.
    /// - Parameters:
    ///   - context: the context whose CURVE servers this handler guards.
    ///   - allowList: the admitted client keys.
    ///   - logger: receives refusals (`info`) and admissions (`debug`).
    ///   - onRefusal: called on the handler thread for every refusal; keep it short.
    /// - Throws: ``ZMQError`` if the endpoint cannot be bound (e.g. another handler already
    ///   serves this context: ``ZMQError/isAddressInUse``) or the wake-up pipe cannot be made.
    public init(
        context: ZMQContext, allowList: CurveAllowList, logger: Logger,
        onRefusal: (@Sendable (ZAPRefusal) -> Void)? = nil
    ) throws(ZMQError) {
        shared = try Shared(allowList: allowList, logger: logger, onRefusal: onRefusal)
        let shared = self.shared
        let thread = Thread { shared.serve(context: context) }
        thread.name = "zeromq.zap"
        thread.start()
        shared.started.wait()
        if let failure = shared.state.withLock({ $0.startFailure }) {
            throw failure
        }
    }

    deinit {
        stop()
    }

    /// The list currently in force.
    public var allowList: CurveAllowList { shared.state.withLock { $0.allowList } }

    /// Replaces the allow-list; handshakes after this call use `newList`.
    public func replaceAllowList(_ newList: CurveAllowList) {
        shared.state.withLock { $0.allowList = newList }
    }

    /// Re-reads an allow-list file and installs it. On error the old list stays in force.
    /// - Returns: the list now in force.
    /// - Throws: ``KeyFileError`` naming the file and line.
    @discardableResult
    public func reloadAllowList(from url: URL) throws(KeyFileError) -> CurveAllowList {
        let list = try CurveAllowList(contentsOf: url)
        replaceAllowList(list)
        shared.logger.info("ZAP allow-list reloaded", metadata: [
            "zap.allowlist.path": "\(url.path)", "zap.allowlist.count": "\(list.count)",
        ])
        return list
    }

    /// How many handshakes were refused so far.
    public var refusalCount: Int { shared.state.withLock { $0.refusals } }
    /// How many handshakes were admitted so far.
    public var admissionCount: Int { shared.state.withLock { $0.admissions } }

    /// Whether the handler thread is still answering requests.
    public var isRunning: Bool { shared.state.withLock { $0.running } }

    /// Stops the handler and waits for its thread to finish (its socket closed). Idempotent
    /// and safe from any thread; every caller returns only after the thread has ended.
    @available(*, noasync, message: "stop() joins a thread; call it from a dedicated thread or deinit")
    public func stop() {
        let first = shared.state.withLock { state in
            defer { state.stopRequested = true }
            return !state.stopRequested
        }
        if first { shared.wake() }
        shared.finished.wait()
        shared.finished.signal()
    }
}

extension ZAPHandler {
    /// State shared by the handler object and its thread. The thread holds this, not the
    /// handler, so releasing the handler can stop the thread.
    final class Shared: Sendable {
        struct State {
            var allowList: CurveAllowList
            var refusals = 0
            var admissions = 0
            var running = false
            var stopRequested = false
            var startFailure: ZMQError?
        }

        let state: Mutex<State>
        let logger: Logger
        let onRefusal: (@Sendable (ZAPRefusal) -> Void)?
        /// Signalled once the endpoint is bound (or binding failed).
        let started = DispatchSemaphore(value: 0)
        /// Signalled when the thread has closed its socket and is about to return.
        let finished = DispatchSemaphore(value: 0)
        /// A pipe the handler thread polls next to its socket, so `stop()` wakes it at once.
        private let wakeRead: Int32
        private let wakeWrite: Int32

        init(allowList: CurveAllowList, logger: Logger, onRefusal: (@Sendable (ZAPRefusal) -> Void)?) throws(ZMQError) {
            state = Mutex(State(allowList: allowList))
            self.logger = logger
            self.onRefusal = onRefusal
            var descriptors: [Int32] = [-1, -1]
            // zmq_errno() is the thread's errno, so the funnel handles pipe(2) too.
            try Funnel.call("pipe (ZAP handler wake-up)") { pipe(&descriptors) }
            wakeRead = descriptors[0]
            wakeWrite = descriptors[1]
        }

        deinit {
            close(wakeRead)
            close(wakeWrite)
        }

        func wake() {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }

        /// The thread body: bind, answer requests until woken, close.
        func serve(context: ZMQContext) {
            defer { finished.signal() }
            let socket: ZMQSocket
            do {
                socket = try ZMQSocket(context: context, type: .reply)
                try socket.bind(ZAPHandler.endpoint)
            } catch {
                state.withLock { $0.startFailure = error }
                started.signal()
                return
            }
            state.withLock { $0.running = true }
            started.signal()
            defer {
                // Unbinding inproc is synchronous (closing alone releases the endpoint later,
                // on libzmq's reaper thread), so a new handler can bind as soon as stop() returns.
                try? socket.unbind(ZAPHandler.endpoint)
                try? socket.close()
                state.withLock { $0.running = false }
            }

            var poller = Poller()
            let requests = poller.register(socket)
            let wakeUp = poller.register(fileDescriptor: wakeRead)
            do {
                while true {
                    let ready = try poller.poll(timeout: nil)
                    if ready.contains(wakeUp) { return }
                    guard ready.contains(requests), let request = try socket.receive(timeout: .zero) else { continue }
                    let reply = answer(request)
                    if try !socket.send(reply, timeout: .seconds(1)) {
                        logger.info("ZAP reply could not be queued", metadata: ["zap.reason": "send timeout"])
                    }
                }
            } catch {
                // ETERM after ZMQContext.shutdown(), or a libzmq failure: stop serving.
                logger.info("ZAP handler stopped on error", metadata: ["error": "\(error)"])
            }
        }

        /// Decides one ZAP request (RFC 27 §"Request"):
        /// `[version, request id, domain, address, identity, mechanism, credentials…]`.
        /// - Returns: the reply `[version, request id, status, status text, user id, metadata]`.
        func answer(_ request: [Data]) -> [Data] {
            let text = { (index: Int) in index < request.count ? String(decoding: request[index], as: UTF8.self) : "" }
            let requestID = request.count > 1 ? request[1] : Data()
            func reply(_ status: String, _ statusText: String, userID: String = "") -> [Data] {
                [Data("1.0".utf8), requestID, Data(status.utf8), Data(statusText.utf8), Data(userID.utf8), Data()]
            }
            guard request.count >= 6, text(0) == "1.0" else {
                logger.info("ZAP request malformed", metadata: ["zap.frames": "\(request.count)", "zap.version": "\(text(0))"])
                return reply("500", "malformed ZAP request")
            }
            let domain = text(2)
            let address = text(3)
            let mechanism = text(5)
            var key: CurvePublicKey?
            if mechanism == "CURVE", request.count >= 7 {
                key = try? CurvePublicKey(bytes: Array(request[6]))
            }
            let reason: String
            if let key {
                let admitted = state.withLock { state in
                    let admitted = state.allowList.contains(key)
                    if admitted { state.admissions += 1 } else { state.refusals += 1 }
                    return admitted
                }
                if admitted {
                    logger.debug("ZAP admitted a client", metadata: ["zap.key": "\(key.z85)", "peer.address": "\(address)"])
                    return reply("200", "OK", userID: key.z85)
                }
                reason = "public key not on the allow-list"
            } else {
                state.withLock { $0.refusals += 1 }
                reason = mechanism == "CURVE" ? "malformed CURVE credentials" : "only CURVE clients are admitted"
            }
            logger.info("ZAP refused a client", metadata: [
                "zap.key": "\(key?.z85 ?? "none")",
                "peer.address": "\(address)",
                "zap.mechanism": "\(mechanism)",
                "zap.domain": "\(domain)",
                "zap.reason": "\(reason)",
            ])
            onRefusal?(ZAPRefusal(publicKey: key, mechanism: mechanism, peerAddress: address, domain: domain, reason: reason))
            return reply("400", reason)
        }
    }
}
