package import Hummingbird
import Synchronization

/// An upstream reply's body as it arrives: an async sequence of byte chunks, for one reader.
///
/// What arrived while the reader was busy comes back as one chunk (never waiting for more), so a reader that falls
/// behind under load catches up in one step and writes one larger buffer to its client instead of many small ones.
/// A reader that keeps up gets each chunk as it arrives. Lighter than `AsyncThrowingStream` (one lock, one waiter).
package struct UpstreamBody: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    private let storage: Storage
    /// Held by the reader's copies only: when the last goes, the reader has gone.
    private let reader: Reader

    /// A body and the handle its producer feeds it through.
    /// - Parameter onAbandoned: called once if the reader goes away (task cancelled while waiting, or the body
    ///   dropped) before the producer finished: abort the transfer.
    package static func make(onAbandoned: @escaping @Sendable () -> Void = {}) -> (UpstreamBody, Source) {
        let storage = Storage(onAbandoned: onAbandoned)
        return (UpstreamBody(storage: storage, reader: Reader(storage: storage)), Source(storage: storage))
    }

    /// A body whose bytes have all arrived.
    package static func whole(_ bytes: ByteBuffer) -> UpstreamBody {
        let (body, source) = make()
        if bytes.readableBytes > 0 { _ = source.yield(bytes) }
        source.finish()
        return body
    }

    package func makeAsyncIterator() -> Iterator { Iterator(storage: storage, reader: reader) }

    package struct Iterator: AsyncIteratorProtocol {
        fileprivate let storage: Storage
        fileprivate let reader: Reader

        package mutating func next() async throws -> ByteBuffer? { try await storage.next() }
    }

    /// The producer's side.
    package struct Source: Sendable {
        fileprivate let storage: Storage

        /// Appends bytes; false when the reader has gone away (stop producing).
        @discardableResult
        package func yield(_ bytes: ByteBuffer) -> Bool { storage.yield(bytes) }

        /// Ends the body, with an error when the transfer failed part-way. Later calls do nothing.
        package func finish(throwing error: (any Error)? = nil) { storage.finish(error) }

        /// True while a reader is suspended waiting for bytes (for tests to wait on).
        package var hasWaitingReader: Bool { storage.hasWaitingReader }
    }

    /// The reader's token: its deinit means nobody can read the rest.
    fileprivate final class Reader: Sendable {
        let storage: Storage
        init(storage: Storage) { self.storage = storage }
        deinit { storage.abandon() }
    }

    fileprivate final class Storage: Sendable {
        struct State {
            var buffered = ByteBuffer()
            var finished = false
            var error: (any Error)?
            var abandoned = false
            var waiter: UnsafeContinuation<ByteBuffer?, any Error>?

            /// What a read gets right now: everything buffered, the end, the failure, or nothing yet.
            mutating func take() -> Now {
                if buffered.readableBytes > 0 {
                    defer { buffered = ByteBuffer() }
                    return .bytes(buffered)
                }
                if finished {
                    if let failure = error {
                        error = nil
                        return .failure(failure)
                    }
                    return .end
                }
                return .wait
            }
        }

        enum Now {
            case bytes(ByteBuffer)
            case end
            case failure(any Error)
            case wait
        }

        private let state = Mutex(State())
        private let onAbandoned: @Sendable () -> Void

        init(onAbandoned: @escaping @Sendable () -> Void) { self.onAbandoned = onAbandoned }

        var hasWaitingReader: Bool { state.withLock { $0.waiter != nil } }

        func yield(_ bytes: ByteBuffer) -> Bool {
            let resume = state.withLock { s -> (UnsafeContinuation<ByteBuffer?, any Error>, ByteBuffer)? in
                guard !s.abandoned, !s.finished else { return nil }
                if let waiter = s.waiter {
                    s.waiter = nil
                    return (waiter, bytes)
                }
                var bytes = bytes
                s.buffered.writeBuffer(&bytes)
                return nil
            }
            if let (waiter, bytes) = resume {
                waiter.resume(returning: bytes)
                return true
            }
            return state.withLock { !$0.abandoned }
        }

        func finish(_ error: (any Error)?) {
            let waiter = state.withLock { s -> UnsafeContinuation<ByteBuffer?, any Error>? in
                guard !s.finished else { return nil }
                s.finished = true
                // A waiting reader has nothing buffered: it gets the end (or the failure) now, once.
                guard let waiter = s.waiter else {
                    s.error = error
                    return nil
                }
                s.waiter = nil
                return waiter
            }
            guard let waiter else { return }
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }

        func next() async throws -> ByteBuffer? {
            switch state.withLock({ $0.take() }) {
            case .bytes(let bytes): return bytes
            case .end: return nil
            case .failure(let error): throw error
            case .wait: break
            }
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<ByteBuffer?, any Error>) in
                    let now = state.withLock { s -> Now in
                        let now = s.take()
                        if case .wait = now {
                            if s.abandoned { return .failure(CancellationError()) }
                            s.waiter = continuation
                        }
                        return now
                    }
                    switch now {
                    case .bytes(let bytes): continuation.resume(returning: bytes)
                    case .end: continuation.resume(returning: nil)
                    case .failure(let error): continuation.resume(throwing: error)
                    case .wait: break
                    }
                }
            } onCancel: {
                abandon()
            }
        }

        /// The reader's task was cancelled, or it dropped the body: wake it with CancellationError (if waiting) and
        /// tell the producer, once.
        func abandon() {
            let (waiter, first) = state.withLock { s -> (UnsafeContinuation<ByteBuffer?, any Error>?, Bool) in
                guard !s.abandoned else { return (nil, false) }
                s.abandoned = true
                defer { s.waiter = nil }
                return (s.waiter, !s.finished)
            }
            waiter?.resume(throwing: CancellationError())
            if first { onAbandoned() }
        }
    }
}
