import CZeroMQ

/// What a ``Poller`` entry waits for / found.
public struct PollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// A message can be received without blocking (`ZMQ_POLLIN`).
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking (`ZMQ_POLLOUT`).
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits on several sockets (and plain file descriptors) at once. Mirrors `zmq_poll`.
///
/// Register sockets once, then call ``poll(timeout:)`` in the owner thread's loop. The poller
/// holds its sockets strongly and, like them, belongs to one thread.
///
/// ```swift
/// var poller = Poller()
/// let jobs = poller.register(router)
/// let control = poller.register(pair)
/// let ready = try poller.poll(timeout: .milliseconds(100))
/// if ready.contains(jobs) { … }
/// ```
public struct Poller {
    private var sockets: [ZMQSocket?] = []
    private var fileDescriptors: [Int32] = []
    private var interests: [PollEvents] = []

    public init() {}

    /// Registers `socket`.
    /// - Returns: the token identifying `socket` in poll results (its registration index).
    @discardableResult
    public mutating func register(_ socket: ZMQSocket, for events: PollEvents = .readable) -> Int {
        sockets.append(socket)
        fileDescriptors.append(-1)
        interests.append(events)
        return interests.count - 1
    }

    /// Registers a plain file descriptor (for example the read end of a wake-up pipe).
    /// - Returns: the token identifying it in poll results.
    @discardableResult
    public mutating func register(fileDescriptor: Int32, for events: PollEvents = .readable) -> Int {
        sockets.append(nil)
        fileDescriptors.append(fileDescriptor)
        interests.append(events)
        return interests.count - 1
    }

    /// The number of registered entries.
    public var count: Int { interests.count }

    /// Waits until at least one entry is ready or `timeout` passes (`nil` = forever,
    /// `.zero` = just check). `EINTR` is retried with the remaining time.
    /// - Returns: the tokens of the entries that are ready for what they registered
    ///   (empty after a timeout), in registration order.
    /// - Throws: ``ZMQError`` (e.g. a registered socket was closed: `ENOTSOCK`).
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func poll(timeout: Duration?) throws(ZMQError) -> [Int] {
        try pollEvents(timeout: timeout).enumerated().compactMap { $0.element.isEmpty ? nil : $0.offset }
    }

    /// Like ``poll(timeout:)`` but returns, for every entry in registration order, the
    /// subset of its registered events that is ready.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func pollEvents(timeout: Duration?) throws(ZMQError) -> [PollEvents] {
        var items: [zmq_pollitem_t] = []
        items.reserveCapacity(interests.count)
        for index in interests.indices {
            var item = zmq_pollitem_t()
            if let socket = sockets[index] {
                item.socket = try socket.openHandle("zmq_poll")
            } else {
                item.fd = fileDescriptors[index]
            }
            item.events = interests[index].rawValue
            items.append(item)
        }
        try Self.poll(&items, timeout: timeout)
        return items.map { PollEvents(rawValue: $0.revents) }
    }

    /// Polls one raw socket; used by the send/receive timeouts.
    /// - Returns: whether the socket became ready for `events`.
    static func wait(socket: UnsafeMutableRawPointer, events: Int32, timeout: Duration?) throws(ZMQError) -> Bool {
        var items = [zmq_pollitem_t(socket: socket, fd: -1, events: Int16(events), revents: 0)]
        try poll(&items, timeout: timeout)
        return items[0].revents != 0
    }

    /// `zmq_poll` with deadline-based `EINTR` retry.
    private static func poll(_ items: inout [zmq_pollitem_t], timeout: Duration?) throws(ZMQError) {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var remaining = timeout
        while true {
            let count = Int32(items.count)
            let interrupted = try Funnel.callUnlessInterrupted("zmq_poll") {
                items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, Int(zmqTimeout(remaining))) }
            } == nil
            if !interrupted { return }
            if let deadline {
                remaining = max(.zero, deadline - ContinuousClock.now)
            }
        }
    }
}
